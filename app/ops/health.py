"""``/healthz`` (the process answers) and ``/readyz`` (it can serve: database
reachable, migrations at the code's head, Redis reachable where configured).

Both are unauthenticated and cheap, and answer ``ok`` / ``not ready`` only: the
reason of a failed check goes to the log, never to the caller.
"""
from __future__ import annotations

import logging
import os

from flask import Response, current_app
from sqlalchemy import text

log = logging.getLogger(__name__)


def _migration_heads(app) -> set[str]:
    heads = app.extensions.get("yibao_migration_heads")
    if heads is None:
        from alembic.config import Config as AlembicConfig
        from alembic.script import ScriptDirectory

        cfg = AlembicConfig()
        cfg.set_main_option("script_location", os.path.join(os.path.dirname(app.root_path), "migrations"))
        heads = set(ScriptDirectory.from_config(cfg).get_heads())
        app.extensions["yibao_migration_heads"] = heads
    return heads


def redis_urls(app) -> list[str]:
    """Every Redis the app is configured to use (rate limits, job queue)."""
    urls = [app.config.get("RATELIMIT_STORAGE_URI") or "", app.config.get("REDIS_URL") or ""]
    return sorted({u for u in urls if u.startswith(("redis://", "rediss://"))})


def readiness_problems(app=None) -> list[str]:
    """Names of the failed checks (empty when ready)."""
    from app.extensions import db

    app = app or current_app
    problems: list[str] = []
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        log.warning("readiness: database unreachable (%s)", type(exc).__name__)
        return ["database"]
    if app.config.get("READYZ_CHECK_MIGRATIONS", True):
        try:
            with db.engine.connect() as conn:
                current = {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}
        except Exception:  # noqa: BLE001 - no version table: never migrated
            current = set()
        if current != _migration_heads(app):
            log.warning("readiness: database at %s, code expects %s (run flask db upgrade)",
                        sorted(current) or "no version", sorted(_migration_heads(app)))
            problems.append("migrations")
    for url in redis_urls(app):
        try:
            import redis

            client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
            client.ping()
            client.close()
        except Exception as exc:  # noqa: BLE001
            log.warning("readiness: redis unreachable (%s)", type(exc).__name__)
            problems.append("redis")
    return problems


def init_app(app) -> None:
    def healthz():
        return Response("ok\n", mimetype="text/plain", headers={"Cache-Control": "no-store"})

    def readyz():
        ok = not readiness_problems(app)
        return Response("ok\n" if ok else "not ready\n", status=200 if ok else 503, mimetype="text/plain",
                        headers={"Cache-Control": "no-store"})

    app.add_url_rule("/healthz", "healthz", healthz, methods=["GET", "HEAD"])
    app.add_url_rule("/readyz", "readyz", readyz, methods=["GET", "HEAD"])
