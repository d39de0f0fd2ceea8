"""单位经办人: operators of a unit (login = mobile phone, password by SMS)."""
from __future__ import annotations

import secrets
import string

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import AppUser, Unit, UserKind
from app.i18n import N_
from app.services import audit, sms, sms_throttle, validators as v
from app.services.errors import DomainError, ValidationFailed
from app.services.scope import own
from app.services.auth import end_sessions
from app.services.registration import hash_password
from app.security.pii import keyed_hash

PURPOSE_NEW = "operator_password"
PURPOSE_RESET = "operator_reset"


def generate_password(length: int = 10) -> str:
    """Letters and digits, always both (meets the password rule)."""
    alphabet = string.ascii_letters + string.digits
    while True:
        pwd = "".join(secrets.choice(alphabet) for _ in range(length))
        if any(c.isalpha() for c in pwd) and any(c.isdigit() for c in pwd):
            return pwd


def phone_taken(phone: str) -> bool:
    return db.session.scalar(select(AppUser.id).where(
        (AppUser.phone == phone) | (AppUser.username == phone))) is not None


ID_NUMBER_TAKEN = N_("该身份证号码已是本单位的经办人")
PHONE_TAKEN = N_("该手机号码已被使用（手机号码为经办人登录账号，全平台唯一）")


def id_number_taken(unit_id: int | None, id_number: str) -> bool:
    """One natural person is one operator of a unit (looked up by the keyed hash)."""
    return unit_id is not None and db.session.scalar(select(AppUser.id).where(
        AppUser.unit_id == unit_id, AppUser.id_number_hash == keyed_hash(id_number))) is not None


def validate(name: str, id_number: str, phone: str, unit_id: int | None = None) -> dict[str, str]:
    errors: dict[str, str] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = N_("请输入经办人姓名")
    elif len(name) > 50:
        errors["name"] = N_("姓名过长")
    if err := v.id_number_error(id_number):
        errors["id_number"] = err
    elif id_number_taken(unit_id, id_number):
        errors["id_number"] = ID_NUMBER_TAKEN
    phone = (phone or "").strip()
    if err := v.phone_error(phone):
        errors["phone"] = err
    elif phone_taken(phone):
        errors["phone"] = PHONE_TAKEN
    return errors


def _send_password(unit: Unit, phone: str, password: str, purpose: str) -> None:
    verb = "已为您重置经办人密码" if purpose == PURPOSE_RESET else f"您已被“{unit.name}”添加为经办人"
    sms.send(phone, f"【广东医保服务平台】{verb}，登录账号：{phone}，密码：{{password}}。"
                    "首次登录请修改密码，请勿泄露。", purpose, password=password)


def add_operator(unit_user: AppUser, name: str, id_number: str, phone: str) -> AppUser:
    if unit_user.kind != UserKind.UNIT.value or unit_user.unit is None:
        raise DomainError(N_("只有单位账号可以新增经办人"))
    errors = validate(name, id_number, phone, unit_user.unit_id)
    if errors:
        raise ValidationFailed(errors)
    phone = phone.strip()
    sms_throttle.allow(phone=phone, unit_id=unit_user.unit_id, field="phone")  # before anything changes
    password = generate_password()
    operator = AppUser(
        username=phone, first_name=name.strip(), last_name="", email=f"{phone}@operator.invalid",
        password=hash_password(password), active=True, kind=UserKind.OPERATOR.value,
        unit_id=unit_user.unit_id, phone=phone, id_number=id_number.strip().upper(),
        must_change_password=True,
    )
    db.session.add(operator)
    try:
        db.session.flush()
    except IntegrityError:  # a concurrent request took the phone or added the same person
        db.session.rollback()
        if id_number_taken(unit_user.unit_id, id_number):
            raise ValidationFailed({"id_number": ID_NUMBER_TAKEN}) from None
        raise ValidationFailed({"phone": PHONE_TAKEN}) from None
    _send_password(unit_user.unit, phone, password, PURPOSE_NEW)
    audit.record("operator_added", user=unit_user, detail=f"{operator.first_name} {phone}")
    db.session.commit()
    return operator


def set_active(operator: AppUser, active: bool, actor: AppUser) -> None:
    _check_owner(operator, actor)
    operator.active = active
    audit.record("operator_enabled" if active else "operator_disabled", user=actor,
                 detail=f"{operator.first_name} {operator.phone}")
    db.session.commit()


def reset_password(operator: AppUser, actor: AppUser) -> None:
    _check_owner(operator, actor)
    sms_throttle.allow(phone=operator.phone, unit_id=actor.unit_id)  # before anything changes
    password = generate_password()
    operator.password = hash_password(password)
    operator.must_change_password = True
    operator.locked_until = None
    operator.fail_login_count = 0
    operator.first_failed_at = None
    end_sessions(operator)  # the operator's open sessions end with the old password
    _send_password(actor.unit, operator.phone, password, PURPOSE_RESET)
    audit.record("operator_password_reset", user=actor, detail=f"{operator.first_name} {operator.phone}")
    db.session.commit()


def _check_owner(operator: AppUser, actor: AppUser) -> None:
    """Operators are managed by their unit's account only."""
    if operator.kind != UserKind.OPERATOR.value or actor.kind != UserKind.UNIT.value:
        raise DomainError(N_("经办人不存在"))
    own(operator, actor, N_("经办人不存在"))
