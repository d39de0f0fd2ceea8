"""Shared fixtures: one app per session with its own schema, clean data per test.

Set ``TEST_DATABASE_URL`` to run on PostgreSQL; the default is a SQLite file
under ``instance/``.  The schema is created at start and dropped at the end.
"""
from __future__ import annotations

import os
import re
import sys

import pytest
from flask.testing import FlaskClient

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from config import TestConfig  # noqa: E402

# Tables that hold what sync-roles builds; everything else is emptied per test.
KEEP_TABLES = {"ab_permission", "ab_view_menu", "ab_permission_view", "ab_role",
               "ab_permission_view_role", "role_ceiling"}


@pytest.fixture(scope="session")
def app():
    from flask_appbuilder import Model

    from app import create_app
    from app.extensions import db
    from app.security.roles import sync_roles

    os.makedirs(os.path.join(ROOT, "instance"), exist_ok=True)
    application = create_app(TestConfig)
    with application.app_context():
        Model.metadata.drop_all(db.engine)
        Model.metadata.create_all(db.engine)
        sync_roles()
    yield application
    with application.app_context():
        db.session.remove()
        Model.metadata.drop_all(db.engine)
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _clean(app):
    """Each test starts from empty business tables (FAB roles and ceilings kept)."""
    from flask_appbuilder import Model

    from app.extensions import db

    ctx = app.app_context()
    ctx.push()
    app.appbuilder.sm.limiter.reset()
    yield
    db.session.rollback()
    db.session.remove()
    with db.engine.begin() as conn:
        for table in reversed(Model.metadata.sorted_tables):
            if table.name not in KEEP_TABLES:
                conn.execute(table.delete())
    ctx.pop()


@pytest.fixture
def restore_ceilings(app):
    """For tests that edit ceilings: put the defaults back afterwards."""
    yield
    from app.extensions import db
    from app.models import RoleCeiling
    from app.security.roles import seed_default_ceilings, sync_unit_role
    from app.models import UnitRole

    db.session.query(RoleCeiling).delete()
    db.session.commit()
    seed_default_ceilings()
    for role in UnitRole:
        sync_unit_role(role)


class IsolatedClient(FlaskClient):
    """Tests run inside one pushed app context, which requests then share; clear
    Flask-Login's per-context user cache so each client is only its own session."""

    def open(self, *args, **kwargs):
        from flask import g

        for name in ("_login_user", "user", "csrf_token"):
            g.pop(name, None)
        return super().open(*args, **kwargs)


@pytest.fixture
def client(app):
    app.test_client_class = IsolatedClient
    return app.test_client()


CSRF_RE = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


def csrf_token(client, url: str = "/login/") -> str:
    html = client.get(url).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no csrf token on {url}"
    return match.group(1)


def text(resp) -> str:
    return resp.get_data(as_text=True)


def field_error(html: str, field: str) -> str:
    """The message shown next to ``field`` (the ``field-error`` block of our forms)."""
    m = re.search(r'data-field="%s">([^<]+)<' % field, html)
    return m.group(1) if m else ""


def login(client, username: str, password: str, follow: bool = False):
    token = csrf_token(client)
    return client.post("/login/", data={"csrf_token": token, "username": username,
                                        "password": password}, follow_redirects=follow)


def logout(client):
    """退出 is a POST with the CSRF token (a GET only shows the button)."""
    token = csrf_token(client, "/logout/")
    return client.post("/logout/", data={"csrf_token": token})
