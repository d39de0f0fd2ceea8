"""角色认证 (SPEC §1.5): the unit picks a role its registration category allows."""
from __future__ import annotations

from sqlalchemy import select

from app.i18n import Msg, N_
from app.extensions import db
from app.models import CATEGORY_ROLES, UNIT_ROLE_LABELS, AppUser, Unit, UnitCategory, UnitRole, UserKind
from app.models.mixins import utcnow
from app.models import AccountRole
from app.security.roles import grant_unit_account_roles, sync_account_role
from app.services import audit, ca
from app.services.errors import DomainError


def allowed_roles(unit: Unit) -> tuple[UnitRole, ...]:
    return CATEGORY_ROLES[UnitCategory(unit.category)]


def certify(unit: Unit, role_key: str, user: AppUser) -> None:
    if user.kind != UserKind.UNIT.value or user.unit_id != unit.id:
        raise DomainError(N_("只有单位账号可以进行角色认证"))
    try:
        role = UnitRole(role_key)
    except ValueError:
        raise DomainError(N_("请选择单位角色")) from None
    if role not in allowed_roles(unit):
        raise DomainError(Msg("注册类别为“%(category)s”的单位不能认证为“%(role)s”", category=unit.category_label,
                              role=UNIT_ROLE_LABELS[role]))
    if unit.is_enterprise and not ca.has_valid_certificate(unit):
        raise DomainError(N_("请先绑定有效的CA证书再进行角色认证"))
    if unit.unit_role == role.value:
        raise DomainError(Msg("本单位已认证为“%(role)s”", role=UNIT_ROLE_LABELS[role]))
    previous = unit.unit_role
    unit.unit_role = role.value
    unit.certified_at = utcnow()
    for account in db.session.scalars(
        select(AppUser).where(AppUser.unit_id == unit.id, AppUser.kind == UserKind.UNIT.value)
    ):
        grant_unit_account_roles(account)
    for account_role in db.session.scalars(select(AccountRole).where(AccountRole.unit_id == unit.id)):
        sync_account_role(account_role, commit=False)  # a new role may have a narrower ceiling
    audit.record("role_certified", user=user, unit=unit,
                 detail=f"{UNIT_ROLE_LABELS[role]}" + (f"（原{UNIT_ROLE_LABELS[UnitRole(previous)]}）" if previous else ""))
    db.session.commit()
