"""单位经办人 and 账号角色管理 pages through the test client."""
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AccountRole, AppUser, SmsMessage, UnitCategory, UnitRole
from app.services import account_roles, operators
from tests.conftest import csrf_token, field_error, login, text
from tests.factories import PASSWORD, make_certified, new_id_number, new_phone, sms_text


@pytest.fixture
def hospital_client(client):
    user = make_certified(UnitCategory.DESIGNATED, UnitRole.DESIGNATED_HOSPITAL)
    login(client, user.username, PASSWORD)
    client.user = user
    return client


def test_add_operator_through_the_pages(hospital_client):
    html = text(hospital_client.get("/hall/unit"))
    assert "单位经办人" in html
    assert "新增经办人" in text(hospital_client.get("/unit/operators/list/"))
    token = csrf_token(hospital_client, "/unit/operators/add")
    phone = new_phone()
    resp = hospital_client.post("/unit/operators/add", data={"csrf_token": token, "name": "王五",
                                                             "id_number": new_id_number(), "phone": phone},
                                follow_redirects=True)
    html = text(resp)
    assert "经办人新增成功" in html and phone in html
    assert db.session.scalar(select(SmsMessage.phone)) == phone


@pytest.mark.parametrize("field,data,message", [
    ("phone", {"phone": "138"}, "11位数字"),
    ("id_number", {"id_number": "110105194912310021"}, "身份证号码无效"),
    ("name", {"name": ""}, "请输入经办人姓名"),
])
def test_bad_operator_input_is_shown_at_the_field(hospital_client, field, data, message):
    token = csrf_token(hospital_client, "/unit/operators/add")
    form = {"csrf_token": token, "name": "王五", "id_number": new_id_number(), "phone": new_phone()} | data
    html = text(hospital_client.post("/unit/operators/add", data=form))
    assert message in field_error(html, field)
    assert db.session.scalar(select(AppUser).where(AppUser.kind == "operator")) is None


def test_duplicate_phone_through_the_page(hospital_client):
    phone = new_phone()
    operators.add_operator(hospital_client.user, "甲", new_id_number(), phone)
    token = csrf_token(hospital_client, "/unit/operators/add")
    html = text(hospital_client.post("/unit/operators/add", data={
        "csrf_token": token, "name": "乙", "id_number": new_id_number(), "phone": phone}))
    assert "已被使用" in field_error(html, "phone")


def test_disable_enable_reset_buttons(hospital_client):
    op = operators.add_operator(hospital_client.user, "甲", new_id_number(), new_phone())
    token = csrf_token(hospital_client, "/unit/operators/list/")
    assert "已停用该经办人" in text(hospital_client.post(f"/unit/operators/disable/{op.id}",
                                                     data={"csrf_token": token}, follow_redirects=True))
    db.session.expire_all()
    assert db.session.get(AppUser, op.id).active is False
    hospital_client.post(f"/unit/operators/enable/{op.id}", data={"csrf_token": token})
    hospital_client.post(f"/unit/operators/reset-password/{op.id}", data={"csrf_token": token})
    db.session.expire_all()
    assert db.session.get(AppUser, op.id).active is True
    assert len(db.session.scalars(select(SmsMessage).where(SmsMessage.phone == op.phone)).all()) == 2


def test_role_pages_add_edit_assign_delete(hospital_client):
    op = operators.add_operator(hospital_client.user, "甲", new_id_number(), new_phone())
    html = text(hospital_client.get("/procurement/"))
    assert "用户基础设置" in html and "账号角色管理" in html
    assert "添加角色" in text(hospital_client.get("/procurement/account-roles/list/"))
    page = text(hospital_client.get("/procurement/account-roles/add"))
    assert "耗材产品查询" in page and "注册证查询" in page and "耗材委托授权列表" not in page
    assert 'id="drug-line"' in page and "本平台暂未开放药品菜单" in page  # guide step 25: 药品和耗材
    token = csrf_token(hospital_client, "/procurement/account-roles/add")
    resp = hospital_client.post("/procurement/account-roles/add", data={
        "csrf_token": token, "name": "查询员", "menu_keys": ["consumable_product_query"]}, follow_redirects=True)
    assert "角色添加成功" in text(resp) and "分配账号" in text(resp)
    role = db.session.scalar(select(AccountRole))
    resp = hospital_client.post(f"/procurement/account-roles/edit/{role.id}", data={
        "csrf_token": token, "name": "查询专员", "menu_keys": ["consumable_product_query", "certificate_query"]},
        follow_redirects=True)
    assert "角色修改成功" in text(resp)
    assign_page = text(hospital_client.get(f"/procurement/account-roles/assign/{role.id}?tab=unassigned"))
    assert "未分配" in assign_page and "已分配" in assign_page and "选择" in assign_page and op.phone in assign_page
    hospital_client.post(f"/procurement/account-roles/assign/{role.id}", data={
        "csrf_token": token, "operator_id": op.id, "op": "select", "tab": "unassigned"})
    db.session.expire_all()
    assert db.session.get(AppUser, op.id).account_role_id == role.id
    resp = hospital_client.post(f"/procurement/account-roles/delete/{role.id}", data={"csrf_token": token},
                                follow_redirects=True)
    assert "请先取消分配" in text(resp)
    hospital_client.post(f"/procurement/account-roles/assign/{role.id}", data={
        "csrf_token": token, "operator_id": op.id, "op": "cancel", "tab": "assigned"})
    resp = hospital_client.post(f"/procurement/account-roles/delete/{role.id}", data={"csrf_token": token},
                                follow_redirects=True)
    assert "角色已删除" in text(resp)


@pytest.mark.parametrize("data,field,message", [
    ({"name": "", "menu_keys": ["consumable_product_query"]}, "name", "请输入角色名称"),
    ({"name": "越权", "menu_keys": ["consumable_entrustment"]}, "menu_keys", "超出本单位权限范围"),
    ({"name": "空", "menu_keys": []}, "menu_keys", "请至少勾选"),
])
def test_bad_role_input_through_the_page(hospital_client, data, field, message):
    token = csrf_token(hospital_client, "/procurement/account-roles/add")
    html = text(hospital_client.post("/procurement/account-roles/add", data={"csrf_token": token} | data))
    assert message in field_error(html, field)
    assert db.session.scalar(select(AccountRole)) is None


def test_duplicate_role_name_through_the_page(hospital_client):
    account_roles.create_role(hospital_client.user, "查询员", ["consumable_product_query"])
    token = csrf_token(hospital_client, "/procurement/account-roles/add")
    html = text(hospital_client.post("/procurement/account-roles/add", data={
        "csrf_token": token, "name": "查询员", "menu_keys": ["certificate_query"]}))
    assert "同名角色" in field_error(html, "name")


def test_assigning_a_forged_operator_id_of_another_unit_is_refused(hospital_client):
    other = make_certified(UnitCategory.DESIGNATED, UnitRole.DESIGNATED_PHARMACY)
    stranger = operators.add_operator(other, "外人", new_id_number(), new_phone())
    role = account_roles.create_role(hospital_client.user, "查询员", ["consumable_product_query"])
    token = csrf_token(hospital_client, "/procurement/account-roles/list/")
    resp = hospital_client.post(f"/procurement/account-roles/assign/{role.id}", data={
        "csrf_token": token, "operator_id": stranger.id, "op": "select"}, follow_redirects=True)
    assert "经办人不存在" in text(resp)
    db.session.expire_all()
    assert db.session.get(AppUser, stranger.id).account_role_id is None


def test_operator_cannot_reach_unit_account_pages_by_url(app, hospital_client):
    from tests.conftest import IsolatedClient

    op = operators.add_operator(hospital_client.user, "甲", new_id_number(), new_phone())
    op.must_change_password = False
    db.session.commit()
    c = IsolatedClient(app, app.response_class, use_cookies=True)
    login(c, op.phone, re.search(r"密码：([A-Za-z0-9]+)", sms_text()).group(1))
    for url in ("/procurement/account-roles/list/", "/procurement/account-roles/add", "/unit/operators/list/",
                "/unit/operators/add"):
        resp = c.get(url)
        assert resp.status_code in (302, 403), url
        assert "新增经办人" not in text(resp) and "添加角色" not in text(resp)


def test_operator_must_change_initial_password_first(app, hospital_client):
    from tests.conftest import IsolatedClient

    phone = new_phone()
    operators.add_operator(hospital_client.user, "甲", new_id_number(), phone)
    password = re.search(r"密码：([A-Za-z0-9]+)", sms_text()).group(1)
    c = IsolatedClient(app, app.response_class, use_cookies=True)
    resp = login(c, phone, password)
    assert resp.headers["Location"].endswith("/hall/password")
    assert c.get("/hall/").headers["Location"].endswith("/hall/password")
    token = csrf_token(c, "/hall/password")
    c.post("/hall/password", data={"csrf_token": token, "old_password": password,
                                   "new_password": "Mine12345", "confirm_password": "Mine12345"})
    assert c.get("/hall/").status_code == 200
    assert "查询用户对应角色为空" in text(c.get("/procurement/"))
