"""单位登录 rules: account or phone, lockout, disabled units, audit."""
import datetime as dt

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog
from app.models.mixins import utcnow
from app.services import auth, units
from app.services.errors import DomainError, ValidationFailed
from tests.factories import PASSWORD, make_operator, make_unit_user


def events(user):
    return [e.event for e in db.session.scalars(
        select(AuditLog).where(AuditLog.user_id == user.id).order_by(AuditLog.id))]


def test_unit_account_logs_in_case_insensitively():
    user = make_unit_user(username="Clinic2024")
    assert auth.authenticate("clinic2024", PASSWORD).id == user.id
    assert "login" in events(user)


def test_operator_logs_in_with_phone():
    unit_user = make_unit_user()
    op = make_operator(unit_user, phone="13712345678")
    assert auth.authenticate("13712345678", PASSWORD).id == op.id


def test_wrong_password_is_counted_and_audited():
    user = make_unit_user()
    with pytest.raises(DomainError) as exc:
        auth.authenticate(user.username, "wrong-pass1")
    assert exc.value.message == "账号或密码错误"
    db.session.refresh(user)
    assert user.fail_login_count == 1
    assert events(user)[-1] == "login_failed"


def test_five_failures_lock_the_account_even_for_the_right_password():
    user = make_unit_user()
    for _ in range(4):
        with pytest.raises(DomainError):
            auth.authenticate(user.username, "wrong-pass1")
    with pytest.raises(DomainError) as exc:
        auth.authenticate(user.username, "wrong-pass1")
    assert "锁定" in exc.value.message
    with pytest.raises(DomainError) as exc:
        auth.authenticate(user.username, PASSWORD)
    assert "锁定" in exc.value.message
    assert "account_locked" in events(user)
    assert events(user)[-1] == "login_refused"


def test_lock_expires():
    user = make_unit_user()
    user.locked_until = utcnow() - dt.timedelta(seconds=1)
    db.session.commit()
    assert auth.authenticate(user.username, PASSWORD).id == user.id
    db.session.refresh(user)
    assert user.locked_until is None


def test_failures_outside_the_window_start_a_new_count():
    user = make_unit_user()
    user.fail_login_count = 4
    user.first_failed_at = utcnow() - dt.timedelta(minutes=16)
    db.session.commit()
    with pytest.raises(DomainError) as exc:
        auth.authenticate(user.username, "wrong-pass1")
    assert exc.value.message == "账号或密码错误"
    db.session.refresh(user)
    assert user.fail_login_count == 1 and user.locked_until is None


def test_disabled_unit_cannot_log_in():
    user = make_unit_user()
    units.set_active(user.unit, False, None)
    with pytest.raises(DomainError) as exc:
        auth.authenticate(user.username, PASSWORD)
    assert "停用" in exc.value.message
    units.set_active(user.unit, True, None)
    assert auth.authenticate(user.username, PASSWORD).id == user.id


def test_unknown_account_is_audited_without_user():
    with pytest.raises(DomainError):
        auth.authenticate("nobody123", PASSWORD)
    row = db.session.scalar(select(AuditLog).where(AuditLog.username == "nobody123"))
    assert row.event == "login_failed" and row.user_id is None


def test_change_password_rules():
    user = make_unit_user()
    with pytest.raises(ValidationFailed) as exc:
        auth.change_password(user, "bad-old-1", "Newpass123", "Newpass123")
    assert exc.value.errors == {"old_password": "原密码错误"}
    with pytest.raises(ValidationFailed) as exc:
        auth.change_password(user, PASSWORD, "short", "short")
    assert "new_password" in exc.value.errors
    with pytest.raises(ValidationFailed) as exc:
        auth.change_password(user, PASSWORD, "Newpass123", "Newpass124")
    assert "confirm_password" in exc.value.errors
    auth.change_password(user, PASSWORD, "Newpass123", "Newpass123")
    assert auth.authenticate(user.username, "Newpass123").id == user.id
