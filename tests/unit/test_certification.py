"""角色认证 and permission ceilings (SPEC §1.5)."""
import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AppUser, RoleCeiling, UnitCategory, UnitRole
from app.security import bundles
from app.security.roles import UNIT_ACCOUNT_ROLE, sync_unit_role, unit_role_fab_name
from app.services import certification
from app.services.errors import DomainError
from tests.factories import bind_ca, make_certified, make_unit_user


def user_permissions(user: AppUser) -> set[tuple[str, str]]:
    from flask import current_app

    return current_app.appbuilder.sm.get_user_permissions(user)


@pytest.mark.parametrize("category,roles", [
    (UnitCategory.DESIGNATED, {UnitRole.DESIGNATED_HOSPITAL, UnitRole.DESIGNATED_PHARMACY}),
    (UnitCategory.NON_DESIGNATED, {UnitRole.NON_DESIGNATED_HOSPITAL, UnitRole.NON_DESIGNATED_PHARMACY}),
    (UnitCategory.ENTERPRISE, {UnitRole.MANUFACTURER, UnitRole.DISTRIBUTOR}),
])
def test_allowed_roles_follow_the_category(category, roles):
    user = make_unit_user(category)
    assert set(certification.allowed_roles(user.unit)) == roles


@pytest.mark.parametrize("category,role", [
    (UnitCategory.NON_DESIGNATED, UnitRole.DESIGNATED_HOSPITAL),
    (UnitCategory.DESIGNATED, UnitRole.MANUFACTURER),
    (UnitCategory.DESIGNATED, "nonsense"),
])
def test_a_role_the_category_does_not_allow_is_refused(category, role):
    user = make_unit_user(category)
    with pytest.raises(DomainError):
        certification.certify(user.unit, getattr(role, "value", role), user)
    db.session.refresh(user.unit)
    assert user.unit.unit_role is None


def test_enterprise_needs_a_valid_ca_first():
    user = make_unit_user(UnitCategory.ENTERPRISE)
    with pytest.raises(DomainError) as exc:
        certification.certify(user.unit, UnitRole.MANUFACTURER.value, user)
    assert "CA" in exc.value.message
    bind_ca(user)
    certification.certify(user.unit, UnitRole.MANUFACTURER.value, user)
    assert user.unit.unit_role == UnitRole.MANUFACTURER.value


@pytest.mark.parametrize("category,role", [
    (UnitCategory.DESIGNATED, UnitRole.DESIGNATED_HOSPITAL),
    (UnitCategory.NON_DESIGNATED, UnitRole.NON_DESIGNATED_PHARMACY),
    (UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER),
    (UnitCategory.ENTERPRISE, UnitRole.DISTRIBUTOR),
])
def test_unit_account_gets_exactly_its_ceiling(category, role):
    user = make_certified(category, role)
    expected = bundles.expand(bundles.DEFAULT_CEILINGS[role])
    expected |= {p for m in bundles.UNIT_ACCOUNT_MENUS for p in m.permissions}
    expected |= set(bundles.UNIT_ACCOUNT_PERMISSIONS)
    assert user_permissions(user) == expected
    assert {r.name for r in user.roles} == {UNIT_ACCOUNT_ROLE, unit_role_fab_name(role)}


def test_uncertified_unit_has_no_procurement_menu():
    user = make_unit_user()
    assert not any(view in {m.label for m in bundles.MENUS} for _, view in user_permissions(user))


def test_default_ceilings_match_the_spec():
    def keys(role):
        return set(db.session.scalars(select(RoleCeiling.menu_key).where(RoleCeiling.unit_role == role.value)))

    assert keys(UnitRole.MANUFACTURER) == {"consumable_entrustment", "consumable_certificate", "consumable_item",
                                           "consumable_product", "consumable_product_query"}
    for role in (UnitRole.DISTRIBUTOR, UnitRole.DESIGNATED_HOSPITAL, UnitRole.DESIGNATED_PHARMACY):
        assert keys(role) == {"consumable_product_query", "certificate_query"}
    for role in (UnitRole.NON_DESIGNATED_HOSPITAL, UnitRole.NON_DESIGNATED_PHARMACY):
        assert keys(role) == {"consumable_product_query"}


def test_narrowing_a_ceiling_removes_the_menu_from_certified_units(restore_ceilings):
    user = make_certified(UnitCategory.DESIGNATED, UnitRole.DESIGNATED_HOSPITAL)
    assert ("menu_access", "注册证查询") in user_permissions(user)
    db.session.execute(RoleCeiling.__table__.delete().where(
        RoleCeiling.unit_role == UnitRole.DESIGNATED_HOSPITAL.value, RoleCeiling.menu_key == "certificate_query"))
    db.session.commit()
    sync_unit_role(UnitRole.DESIGNATED_HOSPITAL)
    perms = user_permissions(user)
    assert ("menu_access", "注册证查询") not in perms
    assert ("menu_access", "耗材产品查询") in perms


def test_registry_keys_are_unique_and_bundles_include_menu_access():
    keys = [m.key for m in bundles.MENUS]
    assert len(keys) == len(set(keys))
    for menu in bundles.MENUS:
        assert ("menu_access", menu.label) in bundles.expand([menu.key])
    with pytest.raises(KeyError):
        bundles.expand(["no_such_menu"])
