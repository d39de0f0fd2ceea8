"""账号角色管理: a unit account's roles for its operators (SPEC §1.7)."""
from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import AccountRole, AccountRoleMenu, AppUser, UserKind
from app.security.roles import grant_operator_roles, sync_account_role, unit_ceiling
from app.i18n import Msg, N_
from app.services import audit
from app.services.errors import DomainError, ValidationFailed
from app.services.scope import own


def _require_unit_account(actor: AppUser) -> None:
    if actor.kind != UserKind.UNIT.value or actor.unit is None:
        raise DomainError(N_("账号角色管理仅限单位账号使用"))


def _validate(actor: AppUser, name: str, menu_keys: list[str], role: AccountRole | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = N_("请输入角色名称")
    elif len(name) > 50:
        errors["name"] = N_("角色名称不超过50个字")
    else:
        clash = select(AccountRole.id).where(AccountRole.unit_id == actor.unit_id, AccountRole.name == name)
        if role is not None:
            clash = clash.where(AccountRole.id != role.id)
        if db.session.scalar(clash) is not None:
            errors["name"] = N_("本单位已存在同名角色")
    allowed = set(unit_ceiling(actor.unit))
    keys = list(dict.fromkeys(menu_keys or []))
    if not keys:
        errors["menu_keys"] = N_("请至少勾选一个菜单权限")
    elif not set(keys) <= allowed:
        errors["menu_keys"] = N_("所选菜单超出本单位权限范围")
    return errors


def create_role(actor: AppUser, name: str, menu_keys: list[str]) -> AccountRole:
    _require_unit_account(actor)
    errors = _validate(actor, name, menu_keys, None)
    if errors:
        raise ValidationFailed(errors)
    role = AccountRole(unit_id=actor.unit_id, name=name.strip(), unit=actor.unit)
    role.menus = [AccountRoleMenu(menu_key=k) for k in dict.fromkeys(menu_keys)]
    db.session.add(role)
    db.session.flush()
    sync_account_role(role, commit=False)
    audit.record("account_role_added", user=actor, detail=f"{role.name}: {','.join(role.menu_keys)}")
    db.session.commit()
    return role


def update_role(actor: AppUser, role: AccountRole, name: str, menu_keys: list[str]) -> AccountRole:
    _require_unit_account(actor)
    _check_owner(role, actor)
    errors = _validate(actor, name, menu_keys, role)
    if errors:
        raise ValidationFailed(errors)
    role.name = name.strip()
    wanted = list(dict.fromkeys(menu_keys))
    role.menus = [m for m in role.menus if m.menu_key in wanted] + [
        AccountRoleMenu(menu_key=k) for k in wanted if k not in role.menu_keys]
    sync_account_role(role, commit=False)
    audit.record("account_role_changed", user=actor, detail=f"{role.name}: {','.join(wanted)}")
    db.session.commit()
    return role


def holders(role: AccountRole) -> list[AppUser]:
    return list(db.session.scalars(select(AppUser).where(AppUser.account_role_id == role.id)
                                   .order_by(AppUser.id)))


def holder_counts(actor: AppUser) -> dict[int, int]:
    """账号角色管理: how many of the unit's operators hold each role."""
    return dict(db.session.execute(
        select(AppUser.account_role_id, func.count(AppUser.id))
        .where(AppUser.unit_id == actor.unit_id, AppUser.account_role_id.is_not(None))
        .group_by(AppUser.account_role_id)).all())


def delete_role(actor: AppUser, role: AccountRole) -> None:
    _require_unit_account(actor)
    _check_owner(role, actor)
    count = db.session.scalar(select(func.count(AppUser.id)).where(AppUser.account_role_id == role.id))
    if count:
        raise DomainError(Msg("该角色已分配给%(n)s个经办人，请先取消分配后再删除", n=count))
    fab_role = role.fab_role
    audit.record("account_role_deleted", user=actor, detail=role.name)
    db.session.delete(role)
    db.session.flush()
    if fab_role is not None:
        fab_role.permissions = []
        db.session.delete(fab_role)
    db.session.commit()


def operators_of_unit(actor: AppUser) -> list[AppUser]:
    return list(db.session.scalars(select(AppUser).where(
        AppUser.unit_id == actor.unit_id, AppUser.kind == UserKind.OPERATOR.value).order_by(AppUser.id)))


def assign(actor: AppUser, role: AccountRole, operator: AppUser) -> None:
    """选择: the operator now holds this role (and only this one)."""
    _require_unit_account(actor)
    _check_owner(role, actor)
    if operator.kind != UserKind.OPERATOR.value or operator.unit_id != actor.unit_id:
        raise DomainError(N_("经办人不存在"))
    previous = operator.account_role.name if operator.account_role else None
    operator.account_role = role
    grant_operator_roles(operator)
    audit.record("account_role_assigned", user=actor,
                 detail=f"{operator.phone} → {role.name}" + (f"（原{previous}）" if previous else ""))
    db.session.commit()


def unassign(actor: AppUser, role: AccountRole, operator: AppUser) -> None:
    """取消."""
    _require_unit_account(actor)
    _check_owner(role, actor)
    if operator.unit_id != actor.unit_id or operator.account_role_id != role.id:
        raise DomainError(N_("该经办人未分配此角色"))
    operator.account_role = None
    grant_operator_roles(operator)
    audit.record("account_role_unassigned", user=actor, detail=f"{operator.phone} ← {role.name}")
    db.session.commit()


def _check_owner(role: AccountRole, actor: AppUser) -> None:
    own(role, actor, N_("角色不存在"))
