"""Platform admin verbs on units."""
from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.i18n import N_
from app.models import CaBinding, Unit
from app.models.mixins import utcnow
from app.services import audit
from app.services.errors import DomainError


def set_active(unit: Unit, active: bool, admin) -> None:
    if unit.active == active:
        return
    unit.active = active
    audit.record("unit_enabled" if active else "unit_disabled", user=admin, unit=unit,
                 detail=unit.name)
    # audit.record stamps the admin's own unit (none); keep the target unit.
    db.session.commit()


# -- credit codes held by registrations that never certified ----------------------
MSG_NOT_RELEASABLE = N_("该单位已完成角色认证或绑定过CA证书，信用代码不能释放")


def releasable(unit: Unit) -> bool:
    """Never certified, never bound a CA certificate, not released yet."""
    if unit.certified_at is not None or unit.unit_role or unit.released_at is not None:
        return False
    return db.session.scalar(select(CaBinding.id).where(CaBinding.unit_id == unit.id).limit(1)) is None


def release_credit_code(unit: Unit, admin=None, *, reason: str = "管理员释放") -> None:
    """Free the credit code a never-certified registration holds, so the real enterprise
    can register: the registration is disabled and keeps the code only for the record
    (``released_credit_code``); its ``credit_code`` becomes a placeholder that no real
    code can equal (``R`` + 17 digits of its id)."""
    if not releasable(unit):
        raise DomainError(MSG_NOT_RELEASABLE)
    code = unit.credit_code
    unit.released_credit_code = code
    unit.credit_code = f"R{unit.id:017d}"
    unit.released_at = utcnow()
    unit.active = False
    audit.record("credit_code_released", user=admin, unit=unit, detail=f"{unit.name} {code} {reason}")
    db.session.commit()


def expired_registrations(now=None) -> list[Unit]:
    days = current_app.config["UNCERTIFIED_REGISTRATION_DAYS"]
    cutoff = (now or utcnow()) - dt.timedelta(days=days)
    rows = db.session.scalars(select(Unit).where(
        Unit.certified_at.is_(None), Unit.released_at.is_(None), Unit.created_at < cutoff)).all()
    return [u for u in rows if releasable(u)]


def expire_registrations(now=None) -> int:
    """Release the codes of registrations uncertified for ``UNCERTIFIED_REGISTRATION_DAYS``."""
    units = expired_registrations(now)
    for unit in units:
        release_credit_code(unit, reason="注册后逾期未认证")
    return len(units)


def free_expired_holder(code: str) -> None:
    """Before a registration checks that its credit code is free: a holder that expired
    uncertified gives it up at once (no need to wait for the nightly command)."""
    holder = db.session.scalar(select(Unit).where(Unit.credit_code == code))
    cutoff = utcnow() - dt.timedelta(days=current_app.config["UNCERTIFIED_REGISTRATION_DAYS"])
    if holder is not None and holder.created_at < cutoff and releasable(holder):
        release_credit_code(holder, reason="注册后逾期未认证")
