"""Time limits in the database (issue 11 §5): a held lock or a slow query gives a clear page."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from app.extensions import db
from tests.conftest import login
from tests.factories import PASSWORD, make_platform_user

pytestmark = pytest.mark.skipif(
    not __import__("config").TestConfig.SQLALCHEMY_DATABASE_URI.startswith("postgresql"),
    reason="statement_timeout / lock_timeout are PostgreSQL settings")


def test_web_request_transactions_carry_the_configured_limits(app, monkeypatch):
    monkeypatch.setitem(app.config, "DB_STATEMENT_TIMEOUT_MS", 1234)
    monkeypatch.setitem(app.config, "DB_LOCK_TIMEOUT_MS", 567)
    db.session.remove()
    with app.test_request_context():
        assert db.session.execute(text("SHOW statement_timeout")).scalar() == "1234ms"
        assert db.session.execute(text("SHOW lock_timeout")).scalar() == "567ms"
        db.session.rollback()
    db.session.remove()
    # outside a request (CLI, background jobs): no limit
    assert db.session.execute(text("SHOW statement_timeout")).scalar() == "0"
    db.session.rollback()


def test_imports_get_their_own_statement_budget(app, monkeypatch):
    from app.services import db_limits

    monkeypatch.setitem(app.config, "DB_STATEMENT_TIMEOUT_MS", 1000)
    monkeypatch.setitem(app.config, "IMPORT_STATEMENT_TIMEOUT_MS", 9000)
    db.session.remove()
    with app.test_request_context():
        db.session.execute(text("SELECT 1"))
        db_limits.allow()
        assert db.session.execute(text("SHOW statement_timeout")).scalar() == "9s"
        db.session.commit()
        assert db.session.execute(text("SHOW statement_timeout")).scalar() == "9s"  # next transaction too
        db.session.rollback()
    db.session.remove()


def test_a_slow_query_is_cancelled_by_the_statement_timeout(app, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from app.views.errors import _db_timeout

    monkeypatch.setitem(app.config, "DB_STATEMENT_TIMEOUT_MS", 100)
    db.session.remove()
    with app.test_request_context():
        with pytest.raises(OperationalError) as caught:
            db.session.execute(text("SELECT pg_sleep(2)"))
        assert _db_timeout(caught.value)
        db.session.rollback()
    db.session.remove()


def test_a_table_locked_elsewhere_gives_the_timeout_page_not_a_hung_worker(app, client, monkeypatch):
    make_platform_user("admin1", "Admin")
    login(client, "admin1", PASSWORD)
    client.get("/")
    monkeypatch.setitem(app.config, "DB_LOCK_TIMEOUT_MS", 200)
    db.session.commit()
    db.session.remove()
    holder = db.engine.connect()
    tx = holder.begin()
    try:
        holder.execute(text("LOCK TABLE unit IN ACCESS EXCLUSIVE MODE"))
        resp = client.get("/admin/units/list/")
        assert resp.status_code == 503
        assert "请求超时" in resp.get_data(as_text=True)
    finally:
        tx.rollback()
        holder.close()
    db.session.remove()
    assert client.get("/admin/units/list/").status_code == 200  # and the app carries on
