"""单位登录: unit account or operator phone, lockout, password changes."""
from __future__ import annotations

import datetime as dt
import secrets

from flask import current_app
from sqlalchemy import case, func, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value
from werkzeug.security import check_password_hash

from app.extensions import db
from app.models import AppUser, UserKind
from app.models.mixins import utcnow
from app.i18n import Msg, N_
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


def _lock_message(until: dt.datetime | None) -> str:
    if until is None or until <= utcnow():
        return N_("连续登录失败次数过多，账号已锁定，请稍后再试或通过忘记密码重置")
    minutes = max(1, int((until - utcnow()).total_seconds() // 60) + 1)
    return Msg("连续登录失败次数过多，账号已锁定，请%(minutes)s分钟后再试或通过忘记密码重置", minutes=minutes)


def is_locked(user: AppUser) -> bool:
    return user.locked_until is not None and user.locked_until > utcnow()


_DUMMY_HASHES: dict[str, str] = {}


def _dummy_hash() -> str:
    """A hash made the way real ones are (``FAB_PASSWORD_HASH_METHOD``): checking a
    password against it costs what checking a real account costs."""
    method = current_app.config.get("FAB_PASSWORD_HASH_METHOD", "scrypt")
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = hash_password(secrets.token_urlsafe(16))
    return _DUMMY_HASHES[method]


def _reserve_attempt(user: AppUser) -> int | None:
    """Count this attempt before the password is checked, in one conditional UPDATE.

    Returns the attempt's number in the failure window, or None when the account is
    locked or the window's attempts are all taken (by concurrent requests too): at
    most ``LOGIN_MAX_FAILURES`` guesses are ever checked per window, however many
    requests race.  Committed at once so concurrent requests see it.
    """
    cfg = current_app.config
    now = utcnow()
    window_start = now - cfg["LOGIN_FAILURE_WINDOW"]
    table = AppUser.__table__
    fresh = or_(table.c.first_failed_at.is_(None), table.c.first_failed_at < window_start)
    count = db.session.execute(
        update(table)
        .where(
            table.c.id == user.id,
            or_(table.c.locked_until.is_(None), table.c.locked_until <= now),
            or_(fresh, func.coalesce(table.c.fail_login_count, 0) < cfg["LOGIN_MAX_FAILURES"]),
        )
        .values(
            fail_login_count=case((fresh, 1), else_=func.coalesce(table.c.fail_login_count, 0) + 1),
            first_failed_at=case((fresh, now), else_=table.c.first_failed_at),
        )
        .returning(table.c.fail_login_count)
        .execution_options(synchronize_session=False)
    ).scalar()
    db.session.commit()
    return count


def _lock(user: AppUser) -> dt.datetime:
    cfg = current_app.config
    until = utcnow() + cfg["LOGIN_LOCKOUT"]
    table = AppUser.__table__
    db.session.execute(
        update(table).where(table.c.id == user.id)
        .values(locked_until=until, fail_login_count=0, first_failed_at=None)
        .execution_options(synchronize_session=False)
    )
    return until


def clear_failures(user: AppUser) -> None:
    user.fail_login_count = 0
    user.first_failed_at = None
    user.locked_until = None


def verify_password(user: AppUser, password: str) -> None:
    """Check ``user``'s password through the lockout: raise DomainError when locked
    or wrong (counted, audited, locking at the limit); clear the failures when right."""
    attempt = _reserve_attempt(user)
    if attempt is None:
        db.session.refresh(user)
        audit.record("login_refused", user=user, detail="账号已锁定")
        db.session.commit()
        raise DomainError(_lock_message(user.locked_until))
    if not check_password_hash(user.password or "", password or ""):
        audit.record("login_failed", user=user, detail=f"第{attempt}次")
        until = None
        if attempt >= current_app.config["LOGIN_MAX_FAILURES"]:
            until = _lock(user)
            audit.record("account_locked", user=user, detail=f"锁定至{until:%Y-%m-%d %H:%M}")
        db.session.commit()
        db.session.refresh(user)
        raise DomainError(_lock_message(until) if until else INVALID_LOGIN)
    db.session.refresh(user)
    clear_failures(user)


def authenticate(identifier: str, password: str) -> AppUser:
    """Return the user or raise DomainError; failures are counted and audited.

    The one way in (README, Security model).  An unknown account costs one hash
    check like a wrong password, so timing does not tell which accounts exist.
    """
    user = find_login_user(identifier)
    if user is None or not user.password:
        check_password_hash(_dummy_hash(), password or "")
        audit.record("login_failed", username=(identifier or "")[:128], detail="账号不存在")
        db.session.commit()
        raise DomainError(INVALID_LOGIN)
    verify_password(user, password)
    if not user.active:
        audit.record("login_refused", user=user, detail="账号已停用")
        db.session.commit()
        raise DomainError(N_("该账号已停用，请联系单位管理员"))
    if user.unit is not None and not user.unit.active:
        audit.record("login_refused", user=user, detail="单位已停用")
        db.session.commit()
        raise DomainError(N_("该单位已被停用，无法登录，请联系平台管理员"))
    user.last_login = utcnow()
    user.login_count = (user.login_count or 0) + 1
    audit.record("login", user=user)
    db.session.commit()
    return user


def end_sessions(user: AppUser) -> int:
    """Bump the user's session epoch (one atomic UPDATE): every session cookie issued
    before is refused from the next request on (app/security/sessions.py)."""
    table = AppUser.__table__
    epoch = db.session.execute(
        update(table).where(table.c.id == user.id)
        .values(session_epoch=func.coalesce(table.c.session_epoch, 0) + 1)
        .returning(table.c.session_epoch)
        .execution_options(synchronize_session=False)
    ).scalar()
    set_committed_value(user, "session_epoch", epoch)
    return epoch


def set_password(user: AppUser, new_password: str, confirm: str, field: str = "new_password") -> None:
    """Validate and store a new password; every existing session of the user ends."""
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
    end_sessions(user)


def change_password(user: AppUser, old_password: str, new_password: str, confirm: str) -> None:
    """修改密码: the old password is required; nothing changes on any error.

    A wrong old password counts as a failed login (same counter, lockout and audit):
    a stolen session cannot guess its way to the password.
    """
    try:
        verify_password(user, old_password)
    except DomainError as exc:
        if is_locked(user):  # guessed into the lockout: this session ends too
            end_sessions(user)
            db.session.commit()
        message = "原密码错误" if exc.message == INVALID_LOGIN else exc.message
        raise ValidationFailed({"old_password": message}) from None
    if old_password == new_password:
        raise ValidationFailed({"new_password": N_("新密码不能与原密码相同")})
    set_password(user, new_password, confirm)
    audit.record("password_changed", user=user)
    db.session.commit()


def admin_set_password(user: AppUser, new_password: str, actor=None) -> None:
    """平台管理 → 用户 → 重置密码: the user must change it at the next login."""
    set_password(user, new_password, new_password)
    user.must_change_password = True
    audit.record("password_reset_by_admin", user=actor, detail=user.username)
    db.session.commit()


def is_unit_side(user: AppUser) -> bool:
    return user.kind in (UserKind.UNIT.value, UserKind.OPERATOR.value)
