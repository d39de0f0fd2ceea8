"""No enumeration, no pumping (issue 10 §6)."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from app.extensions import db
from app.models import SmsMessage
from app.services import auth, operators
from app.services.errors import DomainError
from app.services.sms_throttle import SmsThrottled
from tests.conftest import csrf_token, login, text
from tests.factories import PASSWORD, make_unit_user, new_id_number


def test_an_unknown_account_costs_the_same_hash_check_as_a_wrong_password(app, monkeypatch):
    """FAB's auth_user_db idea: an unknown account is checked against a dummy hash made
    with the configured method, so both answers take one password-hash check."""
    user = make_unit_user()
    seen: list[str] = []
    real = auth.check_password_hash

    def spy(pwhash, password):
        seen.append(pwhash.split("$")[0])
        return real(pwhash, password)

    monkeypatch.setattr(auth, "check_password_hash", spy)
    for identifier in ("nobody2024x", user.username):
        try:
            auth.authenticate(identifier, "Wrong-pass1")
        except DomainError as exc:
            assert exc.message == auth.INVALID_LOGIN
    method = app.config["FAB_PASSWORD_HASH_METHOD"]
    assert seen == [method, method]


def _forgot(client, identifier: str):
    token = csrf_token(client, "/forgot-password/")
    resp = client.post("/forgot-password/", data={"csrf_token": token, "identifier": identifier})
    page = client.get(resp.headers.get("Location", "/forgot-password/"))
    flashes = re.findall(r'class="alert[^"]*"[^>]*>(.*?)</div>', text(page), re.S)
    return resp.status_code, resp.headers.get("Location"), [re.sub(r"\s+|<[^>]+>|×", "", f) for f in flashes]


def test_forgot_password_answers_alike_for_known_and_unknown_accounts(client):
    user = make_unit_user()
    known = _forgot(client, user.username)
    unknown = _forgot(client, "nobody2024x")
    assert known == unknown
    assert known[0] == 302 and any("验证码已发送" in f for f in known[2])
    assert user.unit.contact_phone[-4:] not in "".join(known[2])  # not even a masked phone
    assert db.session.scalar(select(func.count()).select_from(SmsMessage)) == 1


def test_forgot_password_answers_alike_for_a_platform_account(client):
    from tests.factories import make_platform_user

    make_platform_user("platform01", "Admin")
    assert _forgot(client, "platform01")[:2] == _forgot(client, "nobody2024y")[:2]


def test_resetting_an_operator_ten_times_sends_at_most_the_per_phone_limit(app):
    unit_user = make_unit_user()
    operator = operators.add_operator(unit_user, "王五", new_id_number(), "13911112000")
    refused = []
    for _ in range(10):
        try:
            operators.reset_password(operator, unit_user)
        except SmsThrottled as exc:
            db.session.rollback()
            refused.append(exc.message)
    sent = db.session.scalar(select(func.count()).select_from(SmsMessage).where(SmsMessage.phone == "13911112000"))
    assert sent == 5  # "5 per hour": the new-operator SMS and four resets
    assert len(refused) == 6 and "同一手机号每小时最多发送5条" in refused[0]


def test_sms_is_throttled_per_unit(app, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_LIMIT_PER_UNIT", "3 per hour")
    unit_user = make_unit_user()
    for n in range(3):
        operators.add_operator(unit_user, "王五", new_id_number(), f"1391111300{n}")
    try:
        operators.add_operator(unit_user, "王五", new_id_number(), "13911113009")
    except SmsThrottled as exc:
        assert "同一单位每小时最多发送3条" in exc.message
    else:
        raise AssertionError("the fourth SMS of the unit went out")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(SmsMessage)) == 3


def test_the_unit_account_sees_the_throttle_message_on_the_page(app, client):
    from app.models import UnitCategory, UnitRole
    from tests.factories import make_certified

    unit_user = make_certified(UnitCategory.DESIGNATED, UnitRole.DESIGNATED_HOSPITAL)
    operator = operators.add_operator(unit_user, "王五", new_id_number(), "13911114000")
    login(client, unit_user.username, PASSWORD)
    token = csrf_token(client, "/unit/operators/list/")
    for _ in range(5):
        resp = client.post(f"/unit/operators/reset-password/{operator.id}", data={"csrf_token": token},
                           follow_redirects=True)
    assert "短信发送过于频繁" in text(resp)
