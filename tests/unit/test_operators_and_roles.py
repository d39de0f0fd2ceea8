"""单位经办人 and 账号角色管理 rules (SPEC §1.6, §1.7)."""
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AccountRole, AppUser, RoleCeiling, SmsMessage, UnitCategory, UnitRole
from app.security.roles import sync_unit_role
from app.services import account_roles, auth, operators
from app.services.errors import DomainError, ValidationFailed
from tests.factories import PASSWORD, make_certified, new_id_number, new_phone, sms_text


def sms_password(phone: str) -> str:
    return re.search(r"密码：([A-Za-z0-9]+)", sms_text(phone)).group(1)


def perms(user):
    from flask import current_app

    return current_app.appbuilder.sm.get_user_permissions(user)


@pytest.fixture
def hospital():
    return make_certified(UnitCategory.DESIGNATED, UnitRole.DESIGNATED_HOSPITAL)


@pytest.fixture
def maker():
    return make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)


def test_operator_gets_an_sms_password_and_must_change_it(hospital):
    phone = new_phone()
    op = operators.add_operator(hospital, "王经办", new_id_number(), phone)
    assert op.unit_id == hospital.unit_id and op.must_change_password
    password = sms_password(phone)
    assert auth.authenticate(phone, password).id == op.id
    auth.change_password(op, password, "Mynew12345", "Mynew12345")
    assert op.must_change_password is False


@pytest.mark.parametrize("field,kwargs", [
    ("phone", {"phone": "1234"}),
    ("phone", {"phone": "23800138000"}),
    ("id_number", {"id_number": "110105194912310021"}),
    ("name", {"name": " "}),
])
def test_bad_operator_input_saves_nothing(hospital, field, kwargs):
    data = {"name": "王经办", "id_number": new_id_number(), "phone": new_phone()} | kwargs
    with pytest.raises(ValidationFailed) as exc:
        operators.add_operator(hospital, **data)
    assert field in exc.value.errors
    assert db.session.scalar(select(AppUser).where(AppUser.kind == "operator")) is None
    assert db.session.scalar(select(SmsMessage)) is None


def test_phone_is_unique_across_the_platform(hospital, maker):
    phone = new_phone()
    operators.add_operator(hospital, "甲", new_id_number(), phone)
    with pytest.raises(ValidationFailed) as exc:
        operators.add_operator(maker, "乙", new_id_number(), phone)
    assert "已被使用" in exc.value.errors["phone"]


def test_disabled_operator_cannot_log_in_and_reset_sends_new_password(hospital):
    phone = new_phone()
    op = operators.add_operator(hospital, "甲", new_id_number(), phone)
    operators.set_active(op, False, hospital)
    with pytest.raises(DomainError) as exc:
        auth.authenticate(phone, sms_password(phone))
    assert "停用" in exc.value.message
    operators.set_active(op, True, hospital)
    old = sms_password(phone)
    operators.reset_password(op, hospital)
    new = sms_password(phone)
    assert new != old
    assert auth.authenticate(phone, new).must_change_password


def test_operator_of_another_unit_cannot_be_managed(hospital, maker):
    op = operators.add_operator(maker, "甲", new_id_number(), new_phone())
    with pytest.raises(DomainError):
        operators.set_active(op, False, hospital)
    with pytest.raises(DomainError):
        operators.reset_password(op, hospital)


def test_role_grants_exactly_the_ticked_menus(maker):
    op = operators.add_operator(maker, "甲", new_id_number(), new_phone())
    assert perms(op) == set()
    role = account_roles.create_role(maker, "注册证专员", ["consumable_certificate", "consumable_entrustment"])
    account_roles.assign(maker, role, op)
    labels = {view for perm, view in perms(op) if perm == "menu_access"}
    assert labels == {"耗材注册证列表", "耗材委托授权列表"}


@pytest.mark.parametrize("name,keys,field", [
    ("", ["consumable_product_query"], "name"),
    ("x" * 51, ["consumable_product_query"], "name"),
    ("角色", [], "menu_keys"),
    ("角色", ["consumable_entrustment"], "menu_keys"),  # outside a hospital's ceiling (forged)
    ("角色", ["no_such_menu"], "menu_keys"),
])
def test_bad_role_input(hospital, name, keys, field):
    with pytest.raises(ValidationFailed) as exc:
        account_roles.create_role(hospital, name, keys)
    assert field in exc.value.errors
    assert db.session.scalar(select(AccountRole)) is None


def test_role_name_unique_within_unit_only(hospital, maker):
    account_roles.create_role(hospital, "查询员", ["consumable_product_query"])
    with pytest.raises(ValidationFailed) as exc:
        account_roles.create_role(hospital, "查询员", ["certificate_query"])
    assert exc.value.errors["name"] == "本单位已存在同名角色"
    account_roles.create_role(maker, "查询员", ["consumable_product_query"])  # another unit: fine


def test_one_role_per_operator_assigning_another_moves_it(maker):
    op = operators.add_operator(maker, "甲", new_id_number(), new_phone())
    first = account_roles.create_role(maker, "甲角色", ["consumable_certificate"])
    second = account_roles.create_role(maker, "乙角色", ["consumable_product"])
    account_roles.assign(maker, first, op)
    account_roles.assign(maker, second, op)
    assert op.account_role_id == second.id
    labels = {view for perm, view in perms(op) if perm == "menu_access"}
    assert labels == {"耗材产品列表"}
    assert account_roles.holders(first) == []
    assert account_roles.holder_counts(maker) == {second.id: 1}


def test_role_in_use_cannot_be_deleted(maker):
    op = operators.add_operator(maker, "甲", new_id_number(), new_phone())
    role = account_roles.create_role(maker, "甲角色", ["consumable_certificate"])
    account_roles.assign(maker, role, op)
    with pytest.raises(DomainError) as exc:
        account_roles.delete_role(maker, role)
    assert "请先取消分配" in exc.value.message
    account_roles.unassign(maker, role, op)
    account_roles.delete_role(maker, role)
    assert db.session.scalar(select(AccountRole)) is None
    assert perms(op) == set()


def test_operator_of_another_unit_cannot_be_assigned(maker, hospital):
    stranger = operators.add_operator(hospital, "外人", new_id_number(), new_phone())
    role = account_roles.create_role(maker, "甲角色", ["consumable_certificate"])
    with pytest.raises(DomainError):
        account_roles.assign(maker, role, stranger)
    assert stranger.account_role_id is None


def test_another_units_role_cannot_be_edited(maker, hospital):
    role = account_roles.create_role(maker, "甲角色", ["consumable_product_query"])
    with pytest.raises(DomainError):
        account_roles.update_role(hospital, role, "改名", ["consumable_product_query"])
    with pytest.raises(DomainError):
        account_roles.delete_role(hospital, role)


def test_operator_cannot_manage_roles_or_operators(maker):
    op = operators.add_operator(maker, "甲", new_id_number(), new_phone())
    with pytest.raises(DomainError):
        account_roles.create_role(op, "越权", ["consumable_product_query"])
    with pytest.raises(DomainError):
        operators.add_operator(op, "乙", new_id_number(), new_phone())


def test_narrowing_the_ceiling_removes_menus_from_account_roles(maker, restore_ceilings):
    op = operators.add_operator(maker, "甲", new_id_number(), new_phone())
    role = account_roles.create_role(maker, "甲角色", ["consumable_certificate", "consumable_product_query"])
    account_roles.assign(maker, role, op)
    db.session.execute(RoleCeiling.__table__.delete().where(
        RoleCeiling.unit_role == "manufacturer", RoleCeiling.menu_key == "consumable_certificate"))
    db.session.commit()
    sync_unit_role(UnitRole.MANUFACTURER)
    db.session.refresh(role)
    assert role.menu_keys == ["consumable_product_query"]
    labels = {view for perm, view in perms(op) if perm == "menu_access"}
    assert labels == {"耗材产品查询"}
