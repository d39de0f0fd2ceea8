"""Errors that never crash (issue 11 §4): CSRF, database outage, FAB list junk, redirects."""
from __future__ import annotations

import pytest
from flask import current_app
from sqlalchemy import event

from app.extensions import db
from app.models import UnitCategory
from app.urls import local_path
from tests.conftest import csrf_token, login, text
from tests.factories import PASSWORD, make_platform_user, make_unit_user


@pytest.fixture
def unit_client(client):
    user = make_unit_user(UnitCategory.DESIGNATED)
    login(client, user.username, PASSWORD)
    return client


@pytest.fixture
def admin_client(client):
    make_platform_user("admin1", "Admin")
    login(client, "admin1", PASSWORD)
    client.get("/")  # the first page after login settles the session (as a browser's redirect does)
    return client


def test_logged_in_post_without_csrf_token_is_the_friendly_400(unit_client):
    resp = unit_client.post("/hall/password", data={"old_password": "x"})
    assert resp.status_code == 400
    assert "页面已过期或请求缺少安全令牌" in text(resp)


def test_logged_in_post_with_a_stale_csrf_token_is_the_friendly_400(unit_client):
    resp = unit_client.post("/hall/password", data={"csrf_token": "IjAwMDAi.stale.token", "old_password": "x"})
    assert resp.status_code == 400
    assert "页面已过期或请求缺少安全令牌" in text(resp)


@pytest.fixture
def database_down(app):
    """Every new connection fails as if the server were unreachable; undone afterwards."""
    engine = db.engine
    dbapi = engine.dialect.loaded_dbapi
    state = {"down": True}

    def refuse(dialect, conn_rec, cargs, cparams):
        if state["down"]:
            raise dbapi.OperationalError("connection refused (simulated outage)")
        return None

    db.session.remove()
    engine.dispose()
    event.listen(engine, "do_connect", refuse)
    yield state
    event.remove(engine, "do_connect", refuse)
    db.session.remove()
    engine.dispose()


def test_database_outage_answers_503_maintenance_and_recovers_by_itself(app, client, database_down):
    for url in ("/", "/login/"):
        resp = client.get(url)
        assert resp.status_code == 503, url
        assert "系统维护中，请稍后再试" in text(resp)
    database_down["down"] = False  # the server is back: the same app serves again
    resp = client.get("/login/")
    assert resp.status_code == 200
    assert "单位登录" in text(resp)


def test_database_outage_during_a_logged_in_session(app, unit_client, database_down):
    database_down["down"] = True
    resp = unit_client.get("/hall/")
    assert resp.status_code == 503
    assert "系统维护中" in text(resp)
    database_down["down"] = False
    assert unit_client.get("/hall/").status_code == 200


def test_error_page_falls_back_when_the_layout_cannot_render(app, client, monkeypatch):
    """A 404 whose normal layout fails (the menu needs the database) still answers."""
    import app.views.errors as errors

    real = errors.render_template

    def layout_breaks(name, **ctx):
        if name == "error.html":
            raise RuntimeError("layout needs the database")
        return real(name, **ctx)

    monkeypatch.setattr(errors, "render_template", layout_breaks)
    resp = client.get("/no-such-page")
    assert resp.status_code == 404
    assert "您访问的页面不存在" in text(resp)


def _list_views(app):
    from flask_appbuilder.views import ModelView

    for view in app.appbuilder.baseviews:
        if isinstance(view, ModelView):
            endpoint = f"{type(view).__name__}.list"
            if endpoint in app.view_functions:
                yield type(view).__name__, endpoint


@pytest.mark.parametrize("junk", [
    "page_{v}=abc", "page_{v}=-1", "page_{v}=９", "page_{v}=99999999999999999999",
    "psize_{v}=x", "psize_{v}=0", "psize_{v}=1000000",
    "_oc_{v}=no_such_column&_od_{v}=asc", "_oc_{v}=id&_od_{v}=sideways",
])
def test_junk_fab_list_parameters_are_400_on_every_list(app, admin_client, junk):
    from flask import url_for

    checked = 0
    with app.test_request_context():
        urls = [(name, url_for(endpoint)) for name, endpoint in _list_views(app)]
    for name, url in urls:
        resp = admin_client.get(url + "?" + junk.format(v=name))
        assert resp.status_code in (400, 403, 404), (url, junk, resp.status_code)
        checked += resp.status_code == 400
    assert checked >= 5


def test_a_filter_index_beyond_the_view_s_filters_is_400(admin_client):
    resp = admin_client.get("/users/list/?_flt_9_active=y")
    assert resp.status_code == 400


def test_valid_list_parameters_still_work(admin_client):
    resp = admin_client.get("/users/list/?page_PlatformUserView=0&psize_PlatformUserView=20"
                            "&_oc_PlatformUserView=username&_od_PlatformUserView=desc")
    assert resp.status_code == 200


def test_fab_file_download_route_is_404_not_500(admin_client):
    assert admin_client.get("/users/download/x").status_code == 404
    assert admin_client.get("/users/download/..%2F..%2Fetc%2Fpasswd").status_code == 404


@pytest.mark.parametrize("value, expected", [
    ("/hall/", "/hall/"),
    ("/procurement/products/list/?page=2", "/procurement/products/list/?page=2"),
    ("/a#frag", "/a"),
    ("//evil.com", None),
    ("/\t/evil.com", None),
    ("/\\evil.com", None),
    ("\\\\evil.com", None),
    ("https://evil.com/", None),
    ("javascript:alert(1)", None),
    ("/a\r\nSet-Cookie: x=1", None),
    ("/%0d%0aLocation: x", "/%0d%0aLocation: x".replace(" ", "") if False else None),
    (" /hall/", None),
    ("", None),
    (None, None),
    ("hall/", None),
])
def test_local_path_keeps_only_same_origin_paths(value, expected):
    assert local_path(value) == expected


def test_login_next_off_site_or_with_crlf_goes_home(client):
    user = make_unit_user(UnitCategory.DESIGNATED)
    from tests.conftest import logout

    for bad in ("/\t/evil.com", "//evil.com", "/x\r\nSet-Cookie:a=b", "https://evil.com"):
        token = csrf_token(client)
        resp = client.post("/login/?next=" + bad.replace("\r", "%0d").replace("\n", "%0a").replace("\t", "%09"),
                           data={"csrf_token": token, "username": user.username, "password": PASSWORD})
        assert resp.status_code == 302, bad
        assert resp.headers["Location"] in ("/", "http://localhost/"), (bad, resp.headers["Location"])
        logout(client)


def test_a_connection_that_dies_before_the_session_closes_is_not_a_500(app, monkeypatch):
    """PostgreSQL gone between the response and the teardown's ROLLBACK (seen under `make soak`):
    the app context's teardown must end the session quietly instead of raising (gunicorn's 500)."""
    dialect = db.engine.dialect
    dbapi = dialect.loaded_dbapi
    failed = []

    def dead_rollback(dbapi_connection):
        failed.append(True)
        raise dbapi.OperationalError("consuming input failed: server closed the connection unexpectedly")

    ctx = app.app_context()  # a request's own app context, popped as a request's is
    ctx.push()
    db.session.execute(db.select(1))  # the session holds a connection inside a transaction
    monkeypatch.setattr(dialect, "do_rollback", dead_rollback)
    try:
        ctx.pop()  # runs every teardown_appcontext function
    finally:
        monkeypatch.undo()
    assert failed, "the teardown never rolled back: the test did not reach the dead connection"
    assert db.session.execute(db.select(1)).scalar() == 1  # the next context gets a fresh connection


def test_the_request_log_reads_the_user_without_a_query(app, unit_client):
    """After an error handler's rollback the user is expired; logging it must not reload it."""
    from flask import g

    from app.models import AppUser
    from app.ops.requestlog import _user_ids

    user = db.session.scalars(db.select(AppUser).where(AppUser.unit_id.is_not(None))).first()
    statements = []

    def count(*args, **kwargs):
        statements.append(args[2] if len(args) > 2 else "")

    with app.test_request_context("/hall/"):
        g._login_user = user
        assert _user_ids() == (user.id, user.unit_id)
        db.session.expire(user)
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            user_id, _unit_id = _user_ids()
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert user_id == user.id
        assert statements == []
