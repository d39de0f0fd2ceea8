"""我的API密钥 (issue 15 §1): named keys with an expiry, shown once, stored hashed, revocable;
a key acts as its owner and is refused (401) once expired or revoked, or when its owner or
unit is disabled.  Password login through the API stays closed."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, UnitCategory, UnitRole
from app.services import api_keys, operators, units
from tests.api.helpers import auth, new_key
from tests.conftest import IsolatedClient, csrf_token, login, text
from tests.factories import PASSWORD, make_certified, make_operator, make_platform_user, make_unit_user

LIST = "/api/v1/items/"


def _key_model(app):
    return app.appbuilder.sm.api_key_model


def test_the_page_creates_a_key_shown_once_and_stored_hashed(app, client):
    user = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    login(client, user.username, PASSWORD)
    token = csrf_token(client, "/hall/api-keys/")
    expires = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    resp = client.post("/hall/api-keys/", data={"csrf_token": token, "name": "ERP对接", "expires": expires})
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    secret = re.search(r'id="new-key-secret" readonly value="(sst_[^"]+)"', text(resp)).group(1)
    stored = db.session.scalar(select(_key_model(app)))
    assert stored.name == "ERP对接" and stored.user_id == user.id
    assert secret not in (stored.key_hash, stored.lookup_hash) and stored.key_hash.startswith("pbkdf2:")
    assert stored.expires_on.date().isoformat() == expires
    again = text(client.get("/hall/api-keys/"))
    assert "ERP对接" in again and secret not in again  # never shown again
    assert client.get(LIST, headers=auth(secret)).status_code == 200
    assert db.session.scalar(select(AuditLog).where(AuditLog.event == "api_key_created")).user_id == user.id


@pytest.mark.parametrize("name, expires, field", [
    ("", "+30", "name"), ("x" * 51, "+30", "name"), ("ok", "", "expires"), ("ok", "-1", "expires"),
    ("ok", "+400", "expires"), ("ok", "not-a-date", "expires"),
])
def test_bad_input_is_refused_next_to_the_field_and_nothing_is_saved(app, client, name, expires, field):
    user = make_unit_user()
    login(client, user.username, PASSWORD)
    token = csrf_token(client, "/hall/api-keys/")
    if expires[:1] in "+-" and expires[1:].isdigit():
        expires = (dt.date.today() + dt.timedelta(days=int(expires))).isoformat()
    resp = client.post("/hall/api-keys/", data={"csrf_token": token, "name": name, "expires": expires})
    assert resp.status_code == 200
    assert f'data-field="{field}"' in text(resp)
    assert db.session.scalar(select(_key_model(app))) is None


def test_revoke_on_the_page_refuses_the_key_at_once(app, client):
    user = make_unit_user()
    key = new_key(user)
    assert client.get(LIST, headers=auth(key)).status_code in (200, 403)
    login(client, user.username, PASSWORD)
    token = csrf_token(client, "/hall/api-keys/")
    uuid = db.session.scalar(select(_key_model(app).uuid))
    resp = client.post(f"/hall/api-keys/revoke/{uuid}", data={"revoke-csrf_token": token})
    assert resp.status_code == 302
    assert client.get(LIST, headers=auth(key)).status_code == 401
    assert db.session.scalar(select(AuditLog).where(AuditLog.event == "api_key_revoked")) is not None


def test_another_users_key_cannot_be_revoked(app, client):
    owner = make_unit_user()
    new_key(owner)
    other = make_unit_user()
    login(client, other.username, PASSWORD)
    token = csrf_token(client, "/hall/api-keys/")
    uuid = db.session.scalar(select(_key_model(app).uuid))
    assert client.post(f"/hall/api-keys/revoke/{uuid}", data={"revoke-csrf_token": token}).status_code == 404
    db.session.expire_all()
    assert db.session.scalar(select(_key_model(app).revoked_on)) is None


def test_operators_have_the_page_and_platform_users_do_not(app, client):
    unit = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    operator = make_operator(unit)
    login(client, operator.phone, PASSWORD)
    assert client.get("/hall/api-keys/").status_code == 200
    admin = make_platform_user("keyadmin", "Admin")
    other = IsolatedClient(app, app.response_class, use_cookies=True)
    login(other, admin.username, PASSWORD)
    assert other.get("/hall/api-keys/").status_code == 403
    with pytest.raises(Exception):
        api_keys.create(admin, "x", dt.date.today())


def test_no_key_or_an_unknown_key_or_a_session_cookie_gets_401(app, client):
    user = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    assert client.get(LIST).status_code == 401
    assert client.get(LIST, headers=auth("sst_" + "x" * 43)).status_code == 401
    login(client, user.username, PASSWORD)  # a browser session is not an API credential
    resp = client.get(LIST)
    assert resp.status_code == 401 and resp.json["message"].startswith("缺少API密钥")


def test_an_expired_key_is_refused(app, client):
    user = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    key = new_key(user)
    assert client.get(LIST, headers=auth(key)).status_code == 200
    stored = db.session.scalar(select(_key_model(app)))
    stored.expires_on = api_keys.local_now() - dt.timedelta(seconds=1)
    db.session.commit()
    assert client.get(LIST, headers=auth(key)).status_code == 401
    assert db.session.scalar(select(AuditLog).where(AuditLog.event == "api_key_refused")) is not None


def test_keys_of_a_disabled_unit_or_operator_are_refused(app, client):
    admin = make_platform_user("unitadmin", "Admin")
    unit_user = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    operator = make_operator(unit_user)
    from app.services import account_roles

    role = account_roles.create_role(unit_user, "对接", ["consumable_item"])
    account_roles.assign(unit_user, role, operator)
    unit_key, op_key = new_key(unit_user), new_key(operator, "操作员")
    assert client.get(LIST, headers=auth(unit_key)).status_code == 200
    assert client.get(LIST, headers=auth(op_key)).status_code == 200
    operators.set_active(operator, False, unit_user)
    db.session.commit()
    assert client.get(LIST, headers=auth(op_key)).status_code == 401
    assert client.get(LIST, headers=auth(unit_key)).status_code == 200
    units.set_active(unit_user.unit, False, admin)
    assert client.get(LIST, headers=auth(unit_key)).status_code == 401


def test_a_key_acts_with_its_owners_role(app, client):
    """An operator whose role holds only 耗材单件列表 lists items but not certificates (403)."""
    unit_user = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    operator = make_operator(unit_user)
    from app.services import account_roles

    role = account_roles.create_role(unit_user, "单件", ["consumable_item"])
    account_roles.assign(unit_user, role, operator)
    key = new_key(operator)
    assert client.get("/api/v1/items/", headers=auth(key)).status_code == 200
    resp = client.get("/api/v1/certificates/", headers=auth(key))
    assert resp.status_code == 403 and resp.json["message"]
    hospital = make_certified(UnitCategory.DESIGNATED, UnitRole.DESIGNATED_HOSPITAL)
    hkey = new_key(hospital)
    assert client.get("/api/v1/product-query/", headers=auth(hkey)).status_code == 200
    assert client.get("/api/v1/products/", headers=auth(hkey)).status_code == 403


def test_password_login_through_the_api_stays_closed(app, client):
    user = make_unit_user()
    for path in ("/api/v1/security/login", "/api/v1/security/refresh", "/api/v1/apikeys/"):
        resp = client.post(path, json={"username": user.username, "password": PASSWORD, "provider": "db"})
        assert resp.status_code in (404, 405) and "access_token" not in text(resp)
    resp = client.get(LIST, headers={"Authorization": "Basic " + "dW5pdDpQYXNzdzByZDEyMw=="})
    assert resp.status_code == 401


def test_every_write_through_a_key_is_audited_with_its_name(app, client):
    from tests.api.fixtures import manufacturer_with_product

    user, product = manufacturer_with_product()
    key = new_key(user, "ERP-甲")
    resp = client.post(f"/api/v1/products/{product.id}/submit", headers=auth(key), json={})
    assert resp.status_code == 200, resp.json
    entry = db.session.scalar(select(AuditLog).where(AuditLog.event == "wf_submit").order_by(AuditLog.id.desc()))
    assert entry.api_key == "ERP-甲" and entry.user_id == user.id and "耗材产品" in entry.detail
    assert db.session.scalar(select(AuditLog).where(AuditLog.event == "api_key_created")).api_key is None
    # a page request afterwards carries no key name
    login(client, user.username, PASSWORD)
    client.post("/logout/", data={"csrf_token": csrf_token(client, "/logout/")})
    assert db.session.scalar(select(AuditLog).where(AuditLog.event == "logout")).api_key is None
