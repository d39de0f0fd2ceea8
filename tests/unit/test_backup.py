"""Backup and restore with PostgreSQL's own tools (README, 运维 → Backups).

A populated database (demo data, an operator with an encrypted ID number, a stored
attachment) is dumped with ``pg_dump -Fc``, restored with ``pg_restore`` into a fresh
database, and the app serves it: ``flask db upgrade`` has nothing to do, a demo
account logs in, files and personal data read back identical.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import uuid

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from config import TestConfig

BASE = os.environ.get("TEST_DATABASE_URL", "")
pytestmark = [
    pytest.mark.skipif(not BASE.startswith("postgresql"),
                       reason="the backup round trip runs on PostgreSQL only (set TEST_DATABASE_URL)"),
    pytest.mark.skipif(not (shutil.which("pg_dump") and shutil.which("pg_restore")),
                       reason="pg_dump / pg_restore not installed (Debian: apt-get install postgresql-client)"),
]


def _libpq_args(url) -> list[str]:
    args = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres"]
    return args + ["-d", url.database]


def _env(url) -> dict:
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    return env


def _app_for(url):
    from app import create_app

    class BackupConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = url.render_as_string(hide_password=False)

    return create_app(BackupConfig)


def test_dump_restore_and_serve(tmp_path):
    from flask_migrate import upgrade

    from app.extensions import db
    from app.models import AppUser, Attachment, UnitCategory, UnitRole
    from app.services import operators
    from seed.demo import load_demo
    from tests.conftest import IsolatedClient, csrf_token
    from tests.factories import make_certified, new_id_number, new_phone

    base = make_url(BASE)
    source = base.set(database=f"bk_src_{uuid.uuid4().hex[:8]}")
    target = base.set(database=f"bk_dst_{uuid.uuid4().hex[:8]}")
    admin = create_engine(BASE, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{source.database}"'))
        conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    dump = tmp_path / "yibao.dump"
    blob = os.urandom(50_000)
    try:
        # 1. a populated database, migrated like production
        app = _app_for(source)
        with app.app_context():
            upgrade()
            load_demo()
            unit_user = make_certified(UnitCategory.DESIGNATED, UnitRole.DESIGNATED_HOSPITAL)
            number = new_id_number()
            operator_id = operators.add_operator(unit_user, "王五", number, new_phone()).id
            db.session.add(Attachment(unit_id=unit_user.unit_id, slot="proof", filename="证明.pdf",
                                      content_type="application/pdf", size=len(blob),
                                      sha256=hashlib.sha256(blob).hexdigest(), data=blob))
            db.session.commit()
            revision = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
            users = db.session.scalar(select(db.func.count(AppUser.id)))
            db.session.remove()
            db.engine.dispose()

        # 2. pg_dump, then pg_restore into a fresh database (the README's commands)
        subprocess.run(["pg_dump", "-Fc", "-f", str(dump), *_libpq_args(source)], env=_env(source), check=True,
                       capture_output=True, timeout=300)
        subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", *_libpq_args(target), str(dump)],
                       env=_env(target), check=True, capture_output=True, timeout=300)

        # 3. the app serves the restored database
        restored = _app_for(target)
        with restored.app_context():
            upgrade()  # a no-op: the restored database is at the code's head already
            assert db.session.execute(text("SELECT version_num FROM alembic_version")).scalar() == revision
            assert db.session.scalar(select(db.func.count(AppUser.id))) == users
            assert db.session.get(AppUser, operator_id).id_number == number  # same PII_KEYS: readable
            kept = db.session.scalar(select(Attachment).where(Attachment.filename == "证明.pdf"))
            assert kept.data == blob and hashlib.sha256(kept.data).hexdigest() == kept.sha256
            restored.test_client_class = IsolatedClient
            client = restored.test_client()
            token = csrf_token(client)
            resp = client.post("/login/", data={"csrf_token": token, "username": "admin", "password": "Admin12345"})
            assert resp.status_code == 302 and "/login" not in resp.headers["Location"]
            assert client.get("/admin/units/list/").status_code == 200
            db.session.remove()
            db.engine.dispose()
    finally:
        with admin.connect() as conn:
            for name in (source.database, target.database):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
