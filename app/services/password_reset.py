"""忘记密码: a 6-digit SMS code to the registered operator phone.

Codes expire after ``SMS_CODE_TTL``, allow ``SMS_CODE_MAX_ATTEMPTS`` wrong
tries, can be used once, and a new one is sent at most every
``SMS_RESEND_COOLDOWN``.  Only a hash of the code is stored.
"""
from __future__ import annotations

import secrets

from flask import current_app
from sqlalchemy import select, update
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.i18n import N_
from app.models import AppUser, SmsCode, UserKind
from app.models.mixins import utcnow
from app.services import audit, sms, sms_throttle, validators as v
from app.services.auth import find_login_user, set_password
from app.services.errors import DomainError, ValidationFailed

PURPOSE = "password_reset"
NO_CODE = "请先获取短信验证码"
TOO_MANY = "验证码错误次数过多，请重新获取"
SENT_MESSAGE = N_("如账号存在且已登记经办人手机号，验证码已发送至该手机，5分钟内有效")


def recovery_phone(user: AppUser) -> str | None:
    if user.kind == UserKind.OPERATOR.value:
        return user.phone
    if user.unit is not None:
        return user.unit.contact_phone
    return user.phone


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if phone and len(phone) == 11 else phone


def _latest_code(user: AppUser) -> SmsCode | None:
    return db.session.scalar(
        select(SmsCode)
        .where(SmsCode.user_id == user.id, SmsCode.purpose == PURPOSE)
        .order_by(SmsCode.id.desc())
        .limit(1)
    )


def _recoverable_user(identifier: str) -> AppUser | None:
    """The unit's user behind ``identifier`` with a phone to recover by, else None."""
    user = find_login_user(identifier)
    if user is None or user.kind == UserKind.PLATFORM.value or recovery_phone(user) is None:
        return None
    return user


def request_code(identifier: str) -> str | None:
    """Send a code when the account exists; return the masked phone it went to (None
    when nothing was sent).

    The caller answers alike either way (README, Security model): the page never
    says whether the account exists.  One throttle counts every identifier, known or
    not (resend cooldown + ``SMS_LIMIT_PER_IDENTIFIER``); a known account's phone and
    unit are throttled too.
    """
    identifier = (identifier or "").strip()
    if not identifier:
        raise ValidationFailed({"identifier": N_("请输入单位账号或经办人手机号")})
    user = _recoverable_user(identifier)
    phone = recovery_phone(user) if user is not None else None
    sms_throttle.allow(identifier=identifier, phone=phone, unit_id=user.unit_id if user else None,
                       field="identifier")
    if user is None:
        audit.record("password_reset_code", username=identifier[:128], detail="账号不存在，未发送")
        db.session.commit()
        return None
    cfg = current_app.config
    latest = _latest_code(user)
    now = utcnow()
    if latest is not None and latest.used_at is None:
        latest.used_at = now  # a new code voids the previous one
    code = f"{secrets.randbelow(10**6):06d}"
    db.session.add(SmsCode(
        user_id=user.id, phone=phone, purpose=PURPOSE,
        code_hash=generate_password_hash(code, method="pbkdf2:sha256:1000"),
        created_at=now, expires_at=now + cfg["SMS_CODE_TTL"],
    ))
    minutes = int(cfg["SMS_CODE_TTL"].total_seconds() // 60)
    sms.send(phone, f"【广东医保服务平台】您正在找回密码，验证码：{{code}}，{minutes}分钟内有效。如非本人操作请忽略。",
             PURPOSE, code=code)
    audit.record("password_reset_code", user=user, detail=mask_phone(phone))
    db.session.commit()
    return mask_phone(phone)


def _reserve_attempt(code: SmsCode, now) -> int | None:
    """Count this try before the code is compared, in one conditional UPDATE: however
    many requests race, at most ``SMS_CODE_MAX_ATTEMPTS`` codes are ever compared."""
    table = SmsCode.__table__
    attempt = db.session.execute(
        update(table)
        .where(table.c.id == code.id, table.c.used_at.is_(None), table.c.expires_at >= now,
               table.c.attempts < current_app.config["SMS_CODE_MAX_ATTEMPTS"])
        .values(attempts=table.c.attempts + 1)
        .returning(table.c.attempts)
        .execution_options(synchronize_session=False)
    ).scalar()
    db.session.commit()
    return attempt


def _consume(code: SmsCode, now) -> bool:
    """Mark the code used; False when a concurrent request used it first."""
    table = SmsCode.__table__
    return db.session.execute(
        update(table).where(table.c.id == code.id, table.c.used_at.is_(None)).values(used_at=now)
        .returning(table.c.id).execution_options(synchronize_session=False)
    ).scalar() is not None


def reset_password(identifier: str, code: str, new_password: str, confirm: str) -> AppUser:
    """The new password with the SMS code; an unknown account is answered like an
    account without a code.  The password rule is checked first, so a weak password
    does not spend an attempt."""
    if err := v.password_error(new_password):
        raise ValidationFailed({"new_password": err})
    if err := v.confirm_error(new_password, confirm):
        raise ValidationFailed({"confirm_password": err})
    user = _recoverable_user(identifier)
    now = utcnow()
    if user is None:
        raise ValidationFailed({"code": NO_CODE})

    def fail(message: str) -> DomainError:
        audit.record("password_reset_failed", user=user, detail=message)
        db.session.commit()
        return ValidationFailed({"code": message})

    latest = _latest_code(user)
    if latest is None:
        raise fail(NO_CODE)
    attempt = _reserve_attempt(latest, now)
    if attempt is None:
        db.session.refresh(latest)
        if latest.used_at is not None:
            raise fail("验证码已失效，请重新获取")
        if latest.expires_at < now:
            raise fail("验证码已过期，请重新获取")
        raise fail(TOO_MANY)
    if not check_password_hash(latest.code_hash, (code or "").strip()):
        if attempt >= current_app.config["SMS_CODE_MAX_ATTEMPTS"]:
            _consume(latest, now)
            raise fail(TOO_MANY)
        raise fail("验证码错误")
    if not _consume(latest, now):
        raise fail("验证码已失效，请重新获取")
    set_password(user, new_password, confirm)
    audit.record("password_reset", user=user)
    db.session.commit()
    return user
