"""Sessions that end (issue 10 §2) and the first-login password change everywhere (§3)."""
from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AppUser, UserKind
from app.security import sessions
from app.services import auth, operators, password_reset, units
from tests.conftest import IsolatedClient, csrf_token, login, logout, text
from tests.factories import PASSWORD, make_platform_user, make_unit_user, sms_text


def new_client(app):
    return IsolatedClient(app, app.response_class, use_cookies=True)


def logged_in(client) -> bool:
    return client.get("/hall/").status_code == 200


def copy_cookie(source, target) -> None:
    target.set_cookie("session", source.get_cookie("session").value)


def test_disabling_a_unit_ends_its_live_session_before_it_adds_an_operator(app, client):
    admin = make_platform_user("sessadmin", "Admin")
    user = make_unit_user()
    login(client, user.username, PASSWORD)
    token = csrf_token(client, "/unit/operators/add")
    units.set_active(user.unit, False, admin)
    resp = client.post("/unit/operators/add", data={"csrf_token": token, "name": "王五",
                                                    "id_number": "11010519491231002X", "phone": "13911110000"})
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert db.session.scalar(select(func.count()).select_from(AppUser)
                             .where(AppUser.kind == UserKind.OPERATOR.value)) == 0
    assert not logged_in(client)


def test_a_disabled_operator_loses_access_on_the_next_request(app):
    unit_user = make_unit_user()
    operator = operators.add_operator(unit_user, "王五", "11010519491231002X", "13911110001")
    operator.must_change_password = False
    db.session.commit()
    client = new_client(app)
    login(client, "13911110001", _sms_password("13911110001"))
    assert logged_in(client)
    operators.set_active(operator, False, unit_user)
    assert not logged_in(client)


def _sms_password(phone: str) -> str:
    return re.search(r"密码：(\w+)", sms_text(phone)).group(1)


def test_changing_the_password_ends_every_other_session_and_a_copied_cookie(app):
    user = make_unit_user()
    me, other, thief = new_client(app), new_client(app), new_client(app)
    login(me, user.username, PASSWORD)
    login(other, user.username, PASSWORD)
    copy_cookie(me, thief)
    assert logged_in(thief)
    token = csrf_token(me, "/hall/password")
    resp = me.post("/hall/password", data={"csrf_token": token, "old_password": PASSWORD,
                                           "new_password": "Changed1234", "confirm_password": "Changed1234"})
    assert resp.status_code == 302
    assert logged_in(me)  # the session that changed it goes on
    assert not logged_in(other)
    assert not logged_in(thief)


def test_sms_reset_ends_every_session(app, client):
    user = make_unit_user()
    login(client, user.username, PASSWORD)
    password_reset.request_code(user.username)

    code = re.search(r"验证码：(\d{6})", sms_text()).group(1)
    password_reset.reset_password(user.username, code, "Changed1234", "Changed1234")
    assert not logged_in(client)


def test_reset_by_the_unit_account_ends_the_operators_sessions(app):
    unit_user = make_unit_user()
    operator = operators.add_operator(unit_user, "王五", "11010519491231002X", "13911110002")
    client = new_client(app)
    login(client, "13911110002", _sms_password("13911110002"))
    token = csrf_token(client, "/hall/password")
    client.post("/hall/password", data={"csrf_token": token, "old_password": _sms_password("13911110002"),
                                        "new_password": "Changed1234", "confirm_password": "Changed1234"})
    assert logged_in(client)
    operators.reset_password(db.session.get(AppUser, operator.id), unit_user)
    assert not logged_in(client)


def test_admin_reset_ends_sessions_and_requires_a_change(app):
    admin = make_platform_user("resetadmin", "Admin")
    user = make_unit_user()
    victim = new_client(app)
    login(victim, user.username, PASSWORD)
    admin_client = new_client(app)
    login(admin_client, "resetadmin", PASSWORD)
    token = csrf_token(admin_client, f"/resetpassword/form?pk={user.id}")
    resp = admin_client.post(f"/resetpassword/form?pk={user.id}",
                             data={"csrf_token": token, "password": "Admin-set123", "conf_password": "Admin-set123"})
    assert resp.status_code == 302
    assert not logged_in(victim)
    db.session.expire_all()
    assert db.session.get(AppUser, user.id).must_change_password
    assert admin is not None


def test_logout_is_a_post_and_kills_copies_of_the_cookie(app, client):
    user = make_unit_user()
    login(client, user.username, PASSWORD)
    copy = new_client(app)
    copy_cookie(client, copy)
    assert client.get("/logout/").status_code == 200 and logged_in(client)  # a GET only asks
    assert client.post("/logout/", data={}).status_code == 400 and logged_in(client)  # no CSRF token
    resp = logout(client)
    assert resp.status_code == 302
    assert not logged_in(client)
    assert not logged_in(copy)


def test_logout_of_one_session_ends_the_others_too(app):
    user = make_unit_user()
    a, b = new_client(app), new_client(app)
    login(a, user.username, PASSWORD)
    login(b, user.username, PASSWORD)
    logout(a)
    assert not logged_in(b)


def test_idle_and_absolute_lifetimes_are_configuration(app, client):
    assert app.config["SESSION_IDLE_TIMEOUT"].total_seconds() == 2 * 3600
    assert app.config["SESSION_ABSOLUTE_LIFETIME"].total_seconds() == 12 * 3600
    assert app.config["PERMANENT_SESSION_LIFETIME"] <= app.config["SESSION_ABSOLUTE_LIFETIME"]
    user = make_unit_user()
    login(client, user.username, PASSWORD)
    with client.session_transaction() as s:
        s[sessions.SEEN_AT] = int(time.time()) - 2 * 3600 - 5
    assert not logged_in(client)

    login(client, user.username, PASSWORD)
    for _ in range(2):  # active all along, but 12 hours after the login it ends
        with client.session_transaction() as s:
            s[sessions.LOGIN_AT] = int(time.time()) - 12 * 3600 - 5
            s[sessions.SEEN_AT] = int(time.time())
    assert not logged_in(client)


def test_a_session_cookie_without_the_epoch_is_refused(app, client):
    """A cookie forged or kept from before this release (no epoch, no timestamps)."""
    user = make_unit_user()
    login(client, user.username, PASSWORD)
    with client.session_transaction() as s:
        for key in (sessions.EPOCH, sessions.LOGIN_AT, sessions.SEEN_AT):
            s.pop(key)
    assert not logged_in(client)


# -- §3: the first-login password change holds for every route --------------------

def _path(rule) -> str:
    return re.sub(r"<(?:[^:>]+:)?[^>]+>", "1", rule.rule)


@pytest.fixture
def fresh_operator(app):
    from tests.factories import make_certified
    from app.models import UnitCategory, UnitRole
    from app.services import account_roles

    unit_user = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    operators.add_operator(unit_user, "王五", "11010519491231002X", "13911110003")
    from app.security.roles import unit_ceiling

    role = account_roles.create_role(unit_user, "全部菜单", sorted(unit_ceiling(unit_user.unit)))
    operator = db.session.scalar(select(AppUser).where(AppUser.phone == "13911110003"))
    account_roles.assign(unit_user, role, operator)
    return operator


def test_an_operator_on_the_initial_password_reaches_nothing_but_the_change_page(app, fresh_operator):
    client = new_client(app)
    initial = _sms_password("13911110003")
    resp = login(client, "13911110003", initial)
    assert resp.headers["Location"].endswith("/hall/password")
    token = csrf_token(client, "/hall/password")
    allowed = sessions.PASSWORD_CHANGE_ALLOWED
    for rule in app.url_map.iter_rules():
        if rule.endpoint in allowed:
            continue
        for method in ("GET", "POST") if "POST" in rule.methods else ("GET",):
            if method not in rule.methods:
                continue
            resp = client.open(_path(rule), method=method, data={"csrf_token": token})
            assert resp.status_code in (302, 303), (method, rule.rule, resp.status_code)
            assert resp.headers["Location"].endswith("/hall/password"), (method, rule.rule)
    resp = client.post("/hall/password", data={"csrf_token": token, "old_password": initial,
                                               "new_password": "Changed1234", "confirm_password": "Changed1234"})
    assert resp.status_code == 302
    assert client.get("/procurement/certificates/list/").status_code == 200


def test_a_reviewer_after_an_admin_reset_changes_the_password_first(app):
    from app.security.roles import REVIEWER_INITIAL
    from app.services import auth as auth_service

    reviewer = make_platform_user("chushen9", REVIEWER_INITIAL)
    auth_service.admin_set_password(reviewer, "Admin-set123")
    client = new_client(app)
    resp = login(client, "chushen9", "Admin-set123")
    assert resp.headers["Location"].endswith("/hall/password")
    assert client.get("/review/certificate/initial/").headers["Location"].endswith("/hall/password")
    token = csrf_token(client, "/hall/password")
    resp = client.post("/hall/password", data={"csrf_token": token, "old_password": "Admin-set123",
                                               "new_password": "Review5678", "confirm_password": "Review5678"})
    assert resp.status_code == 302
    assert client.get("/review/certificate/initial/").status_code == 200
