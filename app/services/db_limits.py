"""Time limits in the database for web requests (issue 11 §5).

On PostgreSQL every transaction a web request opens starts with
``SET LOCAL statement_timeout`` and ``SET LOCAL lock_timeout`` (configuration, well
below gunicorn's worker timeout), so one ``LOCK TABLE`` held in psql or a runaway query
costs a request a clear 503 page (app/views/errors.py), never a killed worker.
Imports get their own, longer budget (:func:`allow`).  The CLI and background jobs run
outside a request and have no limit.  SQLite has no such settings (its writers wait
for the file lock up to the driver's timeout).
"""
from __future__ import annotations

from flask import current_app, g, has_request_context
from sqlalchemy import event
from sqlalchemy.orm import Session

_installed = False


def _set(connection, statement_ms: int, lock_ms: int) -> None:
    connection.exec_driver_sql(f"SET LOCAL statement_timeout = {int(statement_ms)}")
    connection.exec_driver_sql(f"SET LOCAL lock_timeout = {int(lock_ms)}")


def _budget() -> tuple[int, int]:
    config = current_app.config
    statement = g.get("db_statement_timeout_ms") or config.get("DB_STATEMENT_TIMEOUT_MS", 15000)
    return int(statement), int(config.get("DB_LOCK_TIMEOUT_MS", 5000))


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True

    @event.listens_for(Session, "after_begin")
    def _limits(session, transaction, connection):
        if connection.dialect.name != "postgresql" or not has_request_context():
            return
        _set(connection, *_budget())


def allow(statement_ms: int | None = None) -> None:
    """Give the rest of this request a longer statement budget (imports)."""
    from app.extensions import db

    if not has_request_context():
        return
    g.db_statement_timeout_ms = int(statement_ms or current_app.config.get("IMPORT_STATEMENT_TIMEOUT_MS", 25000))
    bind = db.session.get_bind()
    if bind.dialect.name == "postgresql" and db.session().in_transaction():
        _set(db.session.connection(), *_budget())
