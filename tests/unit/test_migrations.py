"""`flask db upgrade` on an empty database builds exactly the models' schema."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import inspect, text

from tests.factories import scratch_app


def _insert_unit(conn, contact_id_number: str) -> None:
    """Unit 1 as an older release stores it (columns of 0001_foundation)."""
    conn.execute(text(
        "INSERT INTO unit (id, category, name, credit_code, contact_name, contact_id_number, contact_phone,"
        " active, created_at) VALUES (1, 'designated', '单位', '91440101MA5CXXXX0X', '李四', :c,"
        " '13800000001', TRUE, CURRENT_TIMESTAMP)"), {"c": contact_id_number})


def test_upgrade_from_empty_matches_models(tmp_path):
    from flask_appbuilder import Model

    with scratch_app(tmp_path):
        upgrade()
        from app.extensions import db

        tables = set(inspect(db.engine).get_table_names())
        assert {"ab_user", "ab_role", "unit", "audit_log", "sms_message", "ca_binding",
                "role_ceiling"} <= tables
        from app.models.national import on_dialect

        with db.engine.connect() as conn:  # as `flask db migrate` compares (migrations/env.py)
            context = MigrationContext.configure(conn, opts={"include_object": on_dialect(conn.dialect.name)})
            diff = compare_metadata(context, Model.metadata)
        assert diff == [], f"models and migrations differ: {diff}"


def test_upgrade_from_previous_release_encrypts_id_numbers_and_scrubs_sms(tmp_path):
    """0013_pii converts the rows a 0012 database holds: ID numbers encrypted with their
    keyed hash, passwords and codes in stored SMS replaced by the mark; downgrade restores."""
    from flask_migrate import downgrade

    from app.security import pii

    contact, operator_number = "11010519491231002X", "110105194912310037"
    with scratch_app(tmp_path):
        from app.extensions import db

        upgrade(revision="0012_chain")
        with db.engine.begin() as conn:
            _insert_unit(conn, contact)
            for uid, number in ((1, operator_number), (2, operator_number.lower())):  # same person twice
                conn.execute(text(
                    "INSERT INTO ab_user (id, first_name, last_name, username, email, active, kind, unit_id,"
                    " phone, id_number) VALUES (:id, '王', '', :u, :e, TRUE, 'operator', 1, :p, :n)"),
                    {"id": uid, "u": f"1390000000{uid}", "e": f"{uid}@x.invalid", "p": f"1390000000{uid}",
                     "n": number})
            conn.execute(text(
                "INSERT INTO sms_message (id, created_at, phone, purpose, content, status) VALUES"
                " (1, CURRENT_TIMESTAMP, '13900000001', 'operator_password', '登录账号：13900000001，密码：Ab12cd34ef。', 'stored'),"
                " (2, CURRENT_TIMESTAMP, '13900000001', 'password_reset', '验证码：123456，5分钟内有效', 'stored')"))
        upgrade()
        with db.engine.connect() as conn:
            raw_contact, contact_hash = conn.execute(
                text("SELECT contact_id_number, contact_id_number_hash FROM unit")).one()
            users = conn.execute(text("SELECT id_number, id_number_hash FROM ab_user ORDER BY id")).all()
            texts = [r[0] for r in conn.execute(text("SELECT content FROM sms_message ORDER BY id"))]
        assert pii.is_token(raw_contact) and pii.decrypt(raw_contact) == contact
        assert contact_hash == pii.keyed_hash(contact)
        assert all(pii.is_token(u[0]) and pii.decrypt(u[0]) == operator_number for u in users)
        assert users[0][1] == pii.keyed_hash(operator_number) and users[1][1] is None  # duplicate: no hash
        assert texts == ["登录账号：13900000001，密码：******。", "验证码：******，5分钟内有效"]

        downgrade(revision="0012_chain")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT contact_id_number FROM unit")).scalar() == contact
            assert conn.execute(text("SELECT id_number FROM ab_user WHERE id = 1")).scalar() == operator_number


def test_upgrade_from_previous_release_converts_product_import_logs(tmp_path):
    """0016_import_log turns a 0015 packaging log's ``[[row, [cells], reason]]`` into the rows every
    import log stores (sheet, row, key, reason, kind, values); the page and the 错误日志导出 read them;
    downgrade gives the old shape back."""
    import json

    from flask_migrate import downgrade

    from app.services import import_log

    legacy = [[3, ["C0901010100000006626000000", "支", "盒", "0", "", ""], "最小包装转换比必须为大于等于1的整数"],
              [5, [], "x"]]
    with scratch_app(tmp_path):
        from app.extensions import db

        upgrade(revision="0015_api_keys")
        with db.engine.begin() as conn:
            _insert_unit(conn, "x")
            conn.execute(text(
                "INSERT INTO product_import (id, token, unit_id, filename, created_at, saved, rejected,"
                " errors_json) VALUES (1, 't1', 1, 'a.xlsx', CURRENT_TIMESTAMP, 0, 2, :j),"
                " (2, 't2', 1, 'b.xlsx', CURRENT_TIMESTAMP, 1, 0, NULL)"), {"j": json.dumps(legacy)})
        upgrade()
        with db.engine.connect() as conn:
            stored = conn.execute(text("SELECT errors_json FROM product_import ORDER BY id")).scalars().all()
            indexes = {i["name"] for i in inspect(conn).get_indexes("product_import")}
        rows = import_log.loads(stored[0])
        assert [(r.sheet, r.row, r.key, r.reason, r.kind) for r in rows] == [
            ("耗材产品包装", 3, "C0901010100000006626000000", "最小包装转换比必须为大于等于1的整数", "packaging"),
            ("耗材产品包装", 5, "", "x", "packaging")]
        assert rows[0].values == legacy[0][1] and stored[1] is None
        assert "ix_product_import_created_at" in indexes

        downgrade(revision="0015_api_keys")
        with db.engine.connect() as conn:
            assert json.loads(conn.execute(text("SELECT errors_json FROM product_import WHERE id = 1"))
                              .scalar()) == legacy
