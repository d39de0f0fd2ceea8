"""`flask db upgrade` on an empty database builds exactly the models' schema."""
from __future__ import annotations

import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from config import TestConfig


def _scratch_url(tmp_path) -> tuple[str, callable]:
    base = os.environ.get("TEST_DATABASE_URL")
    if not base or base.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'migrations.db'}", lambda: None
    name = f"mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(base).set(database=name).render_as_string(hide_password=False), drop


def test_upgrade_from_empty_matches_models(tmp_path):
    from flask_appbuilder import Model

    from app import create_app

    url, drop = _scratch_url(tmp_path)

    class MigrationConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = url

    try:
        app = create_app(MigrationConfig)
        with app.app_context():
            upgrade()
            from app.extensions import db

            tables = set(inspect(db.engine).get_table_names())
            assert {"ab_user", "ab_role", "unit", "audit_log", "sms_message", "ca_binding",
                    "role_ceiling"} <= tables
            with db.engine.connect() as conn:
                diff = compare_metadata(MigrationContext.configure(conn), Model.metadata)
            assert diff == [], f"models and migrations differ: {diff}"
            db.session.remove()
            db.engine.dispose()
    finally:
        drop()
