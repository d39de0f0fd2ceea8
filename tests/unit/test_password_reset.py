"""忘记密码 by SMS code: 6 digits, 5 minutes, limited attempts, cooldown, single use."""
import datetime as dt
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import SmsCode, SmsMessage
from app.models.mixins import utcnow
from app.services import auth, password_reset
from app.services.errors import ValidationFailed
from app.services.sms_throttle import SmsThrottled
from tests.factories import PASSWORD, make_operator, make_unit_user, sms_text


def last_code(phone: str) -> str:
    return re.search(r"验证码：(\d{6})", sms_text(phone)).group(1)


def test_code_goes_to_the_registered_operator_phone_and_resets_password():
    user = make_unit_user()
    masked = password_reset.request_code(user.username)
    phone = user.unit.contact_phone
    assert masked == phone[:3] + "****" + phone[-4:]
    code = last_code(phone)
    assert re.fullmatch(r"\d{6}", code)
    assert db.session.scalar(select(SmsCode.code_hash)) != code  # stored hashed
    password_reset.reset_password(user.username, code, "Brandnew123", "Brandnew123")
    assert auth.authenticate(user.username, "Brandnew123").id == user.id


def test_operator_recovers_with_own_phone():
    op = make_operator(make_unit_user(), phone="13600000001")
    password_reset.request_code("13600000001")
    code = last_code("13600000001")
    password_reset.reset_password("13600000001", code, "Brandnew123", "Brandnew123")
    assert auth.authenticate("13600000001", "Brandnew123").id == op.id


def test_reused_code_is_refused():
    user = make_unit_user()
    password_reset.request_code(user.username)
    code = last_code(user.unit.contact_phone)
    password_reset.reset_password(user.username, code, "Brandnew123", "Brandnew123")
    with pytest.raises(ValidationFailed) as exc:
        password_reset.reset_password(user.username, code, "Another123", "Another123")
    assert exc.value.errors["code"] == "验证码已失效，请重新获取"
    assert auth.authenticate(user.username, "Brandnew123")


def test_expired_code_is_refused_and_password_unchanged():
    user = make_unit_user()
    password_reset.request_code(user.username)
    code = last_code(user.unit.contact_phone)
    row = db.session.scalar(select(SmsCode))
    row.expires_at = utcnow() - dt.timedelta(seconds=1)
    db.session.commit()
    with pytest.raises(ValidationFailed) as exc:
        password_reset.reset_password(user.username, code, "Brandnew123", "Brandnew123")
    assert exc.value.errors["code"] == "验证码已过期，请重新获取"
    assert auth.authenticate(user.username, PASSWORD)


def test_attempts_are_limited():
    user = make_unit_user()
    password_reset.request_code(user.username)
    code = last_code(user.unit.contact_phone)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(4):
        with pytest.raises(ValidationFailed) as exc:
            password_reset.reset_password(user.username, wrong, "Brandnew123", "Brandnew123")
        assert exc.value.errors["code"] == "验证码错误"
    with pytest.raises(ValidationFailed) as exc:
        password_reset.reset_password(user.username, wrong, "Brandnew123", "Brandnew123")
    assert "次数过多" in exc.value.errors["code"]
    with pytest.raises(ValidationFailed):  # even the right code is dead now
        password_reset.reset_password(user.username, code, "Brandnew123", "Brandnew123")
    assert auth.authenticate(user.username, PASSWORD)


def test_resend_cooldown_then_new_code_voids_old():
    user = make_unit_user()
    password_reset.request_code(user.username)
    first = last_code(user.unit.contact_phone)
    with pytest.raises(SmsThrottled) as exc:
        password_reset.request_code(user.username)
    assert "每60秒最多发送1条" in exc.value.message
    from flask import current_app

    current_app.appbuilder.sm.limiter.reset()  # the cooldown has passed
    password_reset.request_code(user.username)
    with pytest.raises(ValidationFailed):
        password_reset.reset_password(user.username, first, "Brandnew123", "Brandnew123")


def test_weak_new_password_keeps_the_code_usable():
    user = make_unit_user()
    password_reset.request_code(user.username)
    code = last_code(user.unit.contact_phone)
    with pytest.raises(ValidationFailed) as exc:
        password_reset.reset_password(user.username, code, "weak", "weak")
    assert "new_password" in exc.value.errors
    password_reset.reset_password(user.username, code, "Brandnew123", "Brandnew123")


def test_reset_clears_a_lockout():
    user = make_unit_user()
    user.locked_until = utcnow() + dt.timedelta(minutes=10)
    db.session.commit()
    password_reset.request_code(user.username)
    password_reset.reset_password(user.username, last_code(user.unit.contact_phone), "Brandnew123", "Brandnew123")
    assert auth.authenticate(user.username, "Brandnew123")


def test_unknown_account_sends_nothing_and_is_throttled_like_a_known_one():
    """忘记密码 answers alike: no error for an unknown account, and the same cooldown."""
    assert password_reset.request_code("nobody123") is None
    assert db.session.scalar(select(SmsMessage)) is None
    user = make_unit_user()
    password_reset.request_code(user.username)
    refusals = []
    for identifier in ("nobody123", user.username):
        with pytest.raises(SmsThrottled) as exc:
            password_reset.request_code(identifier)
        refusals.append(exc.value.message)
    assert refusals[0] == refusals[1]
