"""单位注册: one verb, all field errors at once, one transaction."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import generate_password_hash

from app.extensions import db
from app.models import AppUser, Unit, UnitCategory, UserKind
from app.i18n import N_
from app.services import audit, validators as v
from app.services.errors import ValidationFailed


@dataclass
class Registration:
    category: str
    username: str
    password: str
    confirm_password: str
    unit_name: str
    credit_code: str
    contact_name: str
    contact_id_number: str
    contact_phone: str


def hash_password(password: str) -> str:
    return generate_password_hash(
        password, method=current_app.config.get("FAB_PASSWORD_HASH_METHOD", "scrypt")
    )


def username_taken(username: str) -> bool:
    return db.session.scalar(
        select(AppUser.id).where(func.lower(AppUser.username) == username.lower())
    ) is not None


def credit_code_taken(code: str) -> bool:
    return db.session.scalar(select(Unit.id).where(Unit.credit_code == code)) is not None


def validate(reg: Registration) -> dict[str, str]:
    errors: dict[str, str] = {}
    categories = {c.value for c in UnitCategory}
    if reg.category not in categories:
        errors["category"] = N_("请选择注册类别")
    if err := v.account_error(reg.username):
        errors["username"] = err
    elif username_taken(reg.username):
        errors["username"] = N_("该账号已被注册（账号不区分大小写）")
    if err := v.password_error(reg.password):
        errors["password"] = err
    elif err := v.confirm_error(reg.password, reg.confirm_password):
        errors["confirm_password"] = err
    if not reg.unit_name.strip():
        errors["unit_name"] = N_("请输入单位名称（与营业执照或国家医保平台保持一致）")
    elif len(reg.unit_name.strip()) > 200:
        errors["unit_name"] = N_("单位名称过长")
    code = v.normalize_credit_code(reg.credit_code)
    if reg.category in categories:
        if err := v.credit_code_error(reg.category, code):
            errors["credit_code"] = err
        elif credit_code_taken(code):
            errors["credit_code"] = N_("该信用代码已注册，请勿重复注册")
    if not reg.contact_name.strip():
        errors["contact_name"] = N_("请输入经办人姓名")
    if err := v.id_number_error(reg.contact_id_number):
        errors["contact_id_number"] = err
    if err := v.phone_error(reg.contact_phone):
        errors["contact_phone"] = err
    return errors


def register_unit(reg: Registration) -> AppUser:
    """Create the unit and its unit account, or raise with every field error."""
    from app.services import units

    units.free_expired_holder(v.normalize_credit_code(reg.credit_code))
    errors = validate(reg)
    if errors:
        raise ValidationFailed(errors)
    unit = Unit(
        category=reg.category,
        name=reg.unit_name.strip(),
        credit_code=v.normalize_credit_code(reg.credit_code),
        contact_name=reg.contact_name.strip(),
        contact_id_number=reg.contact_id_number.strip().upper(),
        contact_phone=reg.contact_phone.strip(),
    )
    user = AppUser(
        username=reg.username,
        first_name=reg.unit_name.strip()[:64],
        last_name="",
        email=f"{reg.username.lower()}@unit.invalid",
        password=hash_password(reg.password),
        active=True,
        kind=UserKind.UNIT.value,
        unit=unit,
    )
    db.session.add_all([unit, user])
    try:
        db.session.flush()
        audit.record("register", user=user, unit=unit, detail=f"{unit.name} {unit.credit_code}")
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        # A concurrent registration won the race for the account or the code.
        errors = validate(reg) or {"username": "该账号已被注册（账号不区分大小写）"}
        raise ValidationFailed(errors) from None
    return user
