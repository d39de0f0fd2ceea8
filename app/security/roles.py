"""FAB roles derived from the bundle registry (idempotent, like ``superset init``)."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from app.models import AccountRole, AppUser, RoleCeiling, Unit, UnitRole, UserKind
from app.security import bundles
from app.workflow.states import QUEUE_LABELS, REVIEWER_ROLES, Actor

REVIEWER_INITIAL = REVIEWER_ROLES[Actor.INITIAL]
REVIEWER_FINAL = REVIEWER_ROLES[Actor.FINAL]
UNIT_ACCOUNT_ROLE = "单位账号"


def role_names(user) -> set[str]:
    """The FAB role names a user holds (the one place that reads them)."""
    return {r.name for r in getattr(user, "roles", None) or []}


def review_queues_of(user) -> list[str]:
    """The review queues (initial / final) a platform user may open: each reviewer level its own,
    platform admins both.  Who may *decide* is the workflow engine's rule (reviewers only)."""
    names = role_names(user)
    if current_app.appbuilder.sm.auth_role_admin in names:
        return list(QUEUE_LABELS)
    levels = {"initial": REVIEWER_ROLES[Actor.INITIAL], "final": REVIEWER_ROLES[Actor.FINAL]}
    return [level for level in QUEUE_LABELS if levels[level] in names]


def unit_role_fab_name(role: UnitRole | str) -> str:
    return f"单位角色:{UnitRole(role).value}"


def _sm():
    return current_app.appbuilder.sm


def _pvms(pairs):
    sm = _sm()
    return [sm.add_permission_view_menu(perm, view) for perm, view in sorted(pairs)]


def ceiling_keys(unit_role: UnitRole | str) -> list[str]:
    session = _sm().session
    rows = session.scalars(
        select(RoleCeiling.menu_key).where(RoleCeiling.unit_role == UnitRole(unit_role).value)
    )
    return [k for k in rows if k in bundles.MENUS_BY_KEY]


def sync_unit_role(unit_role: UnitRole | str) -> None:
    """Make the FAB role of a unit role hold exactly its ceiling's bundle, and cut
    every account role of units with that role down to the (new) ceiling."""
    sm = _sm()
    role = sm.add_role(unit_role_fab_name(unit_role), commit=False)
    role.permissions = _pvms(bundles.expand(ceiling_keys(unit_role)))
    account_roles = sm.session.scalars(
        select(AccountRole).join(Unit, AccountRole.unit_id == Unit.id)
        .where(Unit.unit_role == UnitRole(unit_role).value)
    ).all()
    for account_role in account_roles:
        sync_account_role(account_role, commit=False)
    sm.session.commit()


def account_role_fab_name(account_role: AccountRole) -> str:
    return f"账号角色:{account_role.unit_id}:{account_role.id}"


def unit_ceiling(unit: Unit | None) -> list[str]:
    """The unit's menus; none for a user without a unit (a platform account)."""
    return ceiling_keys(unit.unit_role) if unit is not None and unit.unit_role else []


def sync_account_role(account_role: AccountRole, commit: bool = True) -> None:
    """Drop menus outside the unit's ceiling; the FAB role holds exactly the rest."""
    sm = _sm()
    sm.session.flush()
    allowed = set(unit_ceiling(account_role.unit))
    for menu in list(account_role.menus):
        if menu.menu_key not in allowed:
            account_role.menus.remove(menu)
    fab_role = account_role.fab_role or sm.add_role(account_role_fab_name(account_role), commit=False)
    account_role.fab_role = fab_role
    fab_role.permissions = _pvms(bundles.expand(account_role.menu_keys))
    if commit:
        sm.session.commit()


def grant_operator_roles(user: AppUser) -> None:
    """An operator holds exactly its one account role's FAB role (or none)."""
    role = user.account_role
    user.roles = [role.fab_role] if role is not None and role.fab_role is not None else []


def seed_default_ceilings() -> None:
    """Insert the default ceilings for unit roles that have none yet."""
    session = _sm().session
    for unit_role, keys in bundles.DEFAULT_CEILINGS.items():
        exists = session.scalar(
            select(RoleCeiling.id).where(RoleCeiling.unit_role == unit_role.value).limit(1)
        )
        if exists is None:
            session.add_all(RoleCeiling(unit_role=unit_role.value, menu_key=k) for k in keys)
    session.commit()


def sync_roles() -> None:
    """Permissions of every view, admin/public/reviewer roles, ceilings and unit roles."""
    appbuilder = current_app.appbuilder
    sm = appbuilder.sm
    admin = sm.add_role(sm.auth_role_admin)
    sm.add_role(sm.auth_role_public)
    appbuilder.add_permissions(update_perms=True)
    for menu in bundles.MENUS + bundles.UNIT_ACCOUNT_MENUS:
        _pvms(menu.permissions)
    for level in QUEUE_LABELS:
        _pvms(bundles.reviewer_permissions(level))
    admin.permissions = list(sm.session.scalars(select(sm.permissionview_model)))
    for name, level in ((REVIEWER_INITIAL, "initial"), (REVIEWER_FINAL, "final")):
        reviewer = sm.add_role(name, commit=False)
        reviewer.permissions = _pvms(bundles.reviewer_permissions(level))
    unit_account = sm.add_role(UNIT_ACCOUNT_ROLE, commit=False)
    unit_account.permissions = _pvms(
        [p for m in bundles.UNIT_ACCOUNT_MENUS for p in m.permissions]
        + list(bundles.UNIT_ACCOUNT_PERMISSIONS)
    )
    sm.session.commit()
    seed_default_ceilings()
    for unit_role in UnitRole:
        sync_unit_role(unit_role)


def grant_unit_account_roles(user: AppUser) -> None:
    """A unit account holds exactly: its unit role's ceiling + 用户基础设置."""
    sm = _sm()
    roles = []
    if user.kind == UserKind.UNIT.value:
        roles.append(sm.add_role(UNIT_ACCOUNT_ROLE, commit=False))
        if user.unit is not None and user.unit.unit_role:
            roles.append(sm.add_role(unit_role_fab_name(user.unit.unit_role), commit=False))
    user.roles = roles
