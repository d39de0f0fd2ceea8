"""忘记密码: a 6-digit SMS code to the registered operator phone.

Codes expire after ``SMS_CODE_TTL``, allow ``SMS_CODE_MAX_ATTEMPTS`` wrong
tries, can be used once, and a new one is sent at most every
``SMS_RESEND_COOLDOWN``.  Only a hash of the code is stored.
"""
from __future__ import annotations

import secrets

from flask import current_app
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models import AppUser, SmsCode, UserKind
from app.models.mixins import utcnow
from app.services import audit, sms
from app.services.auth import find_login_user, set_password
from app.services.errors import DomainError, ValidationFailed

PURPOSE = "password_reset"


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


def _user_for(identifier: str) -> AppUser:
    user = find_login_user(identifier)
    if user is None or user.kind == UserKind.PLATFORM.value:
        raise ValidationFailed({"identifier": "账号不存在，请核对单位账号或经办人手机号"})
    if recovery_phone(user) is None:
        raise ValidationFailed({"identifier": "该账号未登记经办人手机号，无法找回密码"})
    return user


def request_code(identifier: str) -> str:
    """Send a code; return the masked phone it went to."""
    user = _user_for(identifier)
    cfg = current_app.config
    latest = _latest_code(user)
    now = utcnow()
    if latest is not None and now - latest.created_at < cfg["SMS_RESEND_COOLDOWN"]:
        wait = int((cfg["SMS_RESEND_COOLDOWN"] - (now - latest.created_at)).total_seconds()) + 1
        raise ValidationFailed({"identifier": f"验证码已发送，请{wait}秒后再重新获取"})
    if latest is not None and latest.used_at is None:
        latest.used_at = now  # a new code voids the previous one
    code = f"{secrets.randbelow(10**6):06d}"
    phone = recovery_phone(user)
    db.session.add(SmsCode(
        user_id=user.id, phone=phone, purpose=PURPOSE,
        code_hash=generate_password_hash(code, method="pbkdf2:sha256:1000"),
        created_at=now, expires_at=now + cfg["SMS_CODE_TTL"],
    ))
    minutes = int(cfg["SMS_CODE_TTL"].total_seconds() // 60)
    sms.send(phone, f"【广东医保服务平台】您正在找回密码，验证码：{code}，{minutes}分钟内有效。如非本人操作请忽略。", PURPOSE)
    audit.record("password_reset_code", user=user, detail=mask_phone(phone))
    db.session.commit()
    return mask_phone(phone)


def reset_password(identifier: str, code: str, new_password: str, confirm: str) -> AppUser:
    user = _user_for(identifier)
    cfg = current_app.config
    latest = _latest_code(user)
    now = utcnow()

    def fail(message: str) -> DomainError:
        audit.record("password_reset_failed", user=user, detail=message)
        db.session.commit()
        return ValidationFailed({"code": message})

    if latest is None:
        raise fail("请先获取短信验证码")
    if latest.used_at is not None:
        raise fail("验证码已失效，请重新获取")
    if latest.expires_at < now:
        raise fail("验证码已过期，请重新获取")
    if latest.attempts >= cfg["SMS_CODE_MAX_ATTEMPTS"]:
        raise fail("验证码错误次数过多，请重新获取")
    if not check_password_hash(latest.code_hash, (code or "").strip()):
        latest.attempts += 1
        if latest.attempts >= cfg["SMS_CODE_MAX_ATTEMPTS"]:
            latest.used_at = now
            raise fail("验证码错误次数过多，请重新获取")
        raise fail("验证码错误")
    set_password(user, new_password, confirm)  # raises without consuming the code
    latest.used_at = now
    audit.record("password_reset", user=user)
    db.session.commit()
    return user
