"""单位登录: unit account or operator phone, lockout, password changes."""
from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from app.extensions import db
from app.models import AppUser, UserKind
from app.models.mixins import utcnow
from app.i18n import N_
from app.services import audit, validators as v
from app.services.errors import DomainError, ValidationFailed
from app.services.registration import hash_password

INVALID_LOGIN = N_("账号或密码错误")


def find_login_user(identifier: str) -> AppUser | None:
    """A unit account name (case-insensitive) or an operator's phone number."""
    identifier = (identifier or "").strip()
    if not identifier:
        return None
    if v.PHONE_RE.match(identifier):
        user = db.session.scalar(select(AppUser).where(AppUser.phone == identifier))
        if user is not None:
            return user
    return db.session.scalar(
        select(AppUser).where(func.lower(AppUser.username) == identifier.lower())
    )


def _lock_message(until: dt.datetime) -> str:
    minutes = max(1, int((until - utcnow()).total_seconds() // 60) + 1)
    return f"连续登录失败次数过多，账号已锁定，请{minutes}分钟后再试或通过忘记密码重置"


def is_locked(user: AppUser) -> bool:
    return user.locked_until is not None and user.locked_until > utcnow()


def _register_failure(user: AppUser) -> None:
    cfg = current_app.config
    now = utcnow()
    if user.first_failed_at is None or now - user.first_failed_at > cfg["LOGIN_FAILURE_WINDOW"]:
        user.first_failed_at = now
        user.fail_login_count = 0
    user.fail_login_count = (user.fail_login_count or 0) + 1
    audit.record("login_failed", user=user, detail=f"第{user.fail_login_count}次")
    if user.fail_login_count >= cfg["LOGIN_MAX_FAILURES"]:
        user.locked_until = now + cfg["LOGIN_LOCKOUT"]
        user.fail_login_count = 0
        user.first_failed_at = None
        audit.record("account_locked", user=user, detail=f"锁定至{user.locked_until:%Y-%m-%d %H:%M}")


def clear_failures(user: AppUser) -> None:
    user.fail_login_count = 0
    user.first_failed_at = None
    user.locked_until = None


def authenticate(identifier: str, password: str) -> AppUser:
    """Return the user or raise DomainError; failures are counted and audited."""
    user = find_login_user(identifier)
    if user is None or not user.password:
        audit.record("login_failed", username=(identifier or "")[:128], detail="账号不存在")
        db.session.commit()
        raise DomainError(INVALID_LOGIN)
    if is_locked(user):
        audit.record("login_refused", user=user, detail="账号已锁定")
        db.session.commit()
        raise DomainError(_lock_message(user.locked_until))
    if not check_password_hash(user.password, password or ""):
        _register_failure(user)
        db.session.commit()
        if is_locked(user):
            raise DomainError(_lock_message(user.locked_until))
        raise DomainError(INVALID_LOGIN)
    if not user.active:
        audit.record("login_refused", user=user, detail="账号已停用")
        db.session.commit()
        raise DomainError("该账号已停用，请联系单位管理员")
    if user.unit is not None and not user.unit.active:
        audit.record("login_refused", user=user, detail="单位已停用")
        db.session.commit()
        raise DomainError("该单位已被停用，无法登录，请联系平台管理员")
    clear_failures(user)
    user.last_login = utcnow()
    user.login_count = (user.login_count or 0) + 1
    audit.record("login", user=user)
    db.session.commit()
    return user


def set_password(user: AppUser, new_password: str, confirm: str, field: str = "new_password") -> None:
    errors: dict[str, str] = {}
    if err := v.password_error(new_password):
        errors[field] = err
    elif err := v.confirm_error(new_password, confirm):
        errors["confirm_password"] = err
    if errors:
        raise ValidationFailed(errors)
    user.password = hash_password(new_password)
    user.must_change_password = False
    clear_failures(user)


def change_password(user: AppUser, old_password: str, new_password: str, confirm: str) -> None:
    """修改密码: the old password is required; nothing changes on any error."""
    if not check_password_hash(user.password or "", old_password or ""):
        raise ValidationFailed({"old_password": "原密码错误"})
    if old_password == new_password:
        raise ValidationFailed({"new_password": "新密码不能与原密码相同"})
    set_password(user, new_password, confirm)
    audit.record("password_changed", user=user)
    db.session.commit()


def is_unit_side(user: AppUser) -> bool:
    return user.kind in (UserKind.UNIT.value, UserKind.OPERATOR.value)
