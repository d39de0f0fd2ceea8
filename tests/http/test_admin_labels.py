"""Platform admin screens show Chinese labels, never raw codes, English or ``None``."""
import datetime as dt
import re

import pytest

from app.extensions import db
from app.models import SmsMessage, UnitCategory, UnitRole
from app.models.audit import EVENT_LABELS
from app.models.sms import PURPOSE_LABELS, STATUS_LABELS
from app.services import account_roles, audit, operators, password_reset
from app.workflow.engine import ACTION_LABELS
from tests.conftest import login
from tests.factories import PASSWORD, make_certified, make_platform_user, make_unit_user

MICROSECONDS = re.compile(r"\d{2}:\d{2}:\d{2}\.\d+")
SECONDS = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


def text(resp):
    assert resp.status_code == 200, resp.status_code
    return resp.get_data(as_text=True)


def cells(html):
    """Text of the table cells (what the admin reads in a list or show page)."""
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", html, re.S)]


@pytest.fixture
def admin_client(client):
    admin = make_platform_user("root2024", "Admin")
    login(client, "root2024", PASSWORD)
    client.admin = admin
    return client


def test_fab_chrome_is_chinese(admin_client):
    html = text(admin_client.get("/admin/units/list/"))
    assert "List Groups" not in html and "/groups/list/" not in html  # groups are unused: menu hidden
    assert "用户列表" in html and "角色列表" in html
    assert ">Cancel<" not in html and ">OK<" not in html
    assert "取消" in html and "确定" in html


@pytest.mark.parametrize("url", ["/users/add", "/users/edit/{id}"])
def test_user_forms_have_chinese_help_and_no_groups(admin_client, url):
    html = text(admin_client.get(url.format(id=admin_client.admin.id)))
    for english in ("The user group on the application", "just make it inactive", "Groups",
                    "The user's password for authentication", 'name="groups"'):
        assert english not in html
    assert "不建议删除用户，停用即可" in html
    assert ">平台管理员</option>" in html and ">单位角色：定点医疗机构</option>" in html
    assert ">Admin</option>" not in html and "designated_hospital" not in html


def test_user_add_form_saves_roles(admin_client):
    from tests.conftest import csrf_token

    token = csrf_token(admin_client, "/users/add")
    html = text(admin_client.get("/users/add"))
    admin_role = re.search(r'<option value="(\d+)">平台管理员</option>', html).group(1)
    resp = admin_client.post("/users/add", data={
        "csrf_token": token, "first_name": "三", "last_name": "张", "username": "zhangsan01",
        "active": "y", "email": "zs@p.invalid", "roles": [admin_role],
        "password": "Abcdef12!x", "conf_password": "Abcdef12!x"}, follow_redirects=True)
    assert resp.status_code == 200
    from app.models import AppUser
    user = db.session.query(AppUser).filter_by(username="zhangsan01").one()
    assert [r.name for r in user.roles] == ["Admin"]
    reviewer = re.search(r'<option value="(\d+)">初审员</option>', html).group(1)
    resp = admin_client.post(f"/users/edit/{user.id}", data={
        "csrf_token": token, "first_name": "三", "last_name": "张", "username": "zhangsan01",
        "active": "y", "email": "zs@p.invalid", "roles": [reviewer]}, follow_redirects=True)
    assert resp.status_code == 200
    db.session.expire_all()
    assert [r.name for r in db.session.get(AppUser, user.id).roles] == ["初审员"]


def test_user_chart_labels_are_chinese(admin_client):
    html = text(admin_client.get("/userstatschartview/chart/"))
    assert "Login Count" not in html and "Failed Login Count" not in html
    assert "登录次数" in html and "登录失败次数" in html


def test_user_list_and_show(admin_client):
    make_certified(UnitCategory.DESIGNATED, UnitRole.DESIGNATED_HOSPITAL)
    html = text(admin_client.get("/users/list/"))
    row = cells(html)
    assert "True" not in row and "None" not in row
    assert "已启用" in row and "平台管理员" in row
    assert "单位账号，单位角色：定点医疗机构" in row
    assert "designated_hospital" not in html
    show = cells(text(admin_client.get(f"/users/show/{admin_client.admin.id}")))
    assert "None" not in show and "True" not in show
    assert not any(MICROSECONDS.search(c) for c in show)


def test_roles_list_shows_labels(admin_client):
    unit_user = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    account_roles.create_role(unit_user, "查询员", ["consumable_product_query"])
    db.session.commit()
    row = cells(text(admin_client.get("/roles/list/")))
    for raw in ("Admin", "Public", "单位角色:designated_hospital", "单位角色:manufacturer"):
        assert raw not in row
    for label in ("平台管理员", "匿名访问", "初审员", "复审员", "单位账号", "单位角色：定点医疗机构",
                  "单位角色：生产企业", "单位角色：配送企业"):
        assert label in row
    assert f"账号角色：{unit_user.unit.name} / 查询员" in row


def test_unit_list_booleans_and_timestamps(admin_client):
    user = make_unit_user(unit_name="广州市标签测试医院")
    html = text(admin_client.get("/admin/units/list/"))
    row = cells(html)
    assert "True" not in row and "False" not in row and "None" not in row
    assert "已启用" in row
    assert not MICROSECONDS.search(html) and SECONDS.search(html)
    show = cells(text(admin_client.get(f"/admin/units/show/{user.unit_id}")))
    assert "None" not in show and "True" not in show and "已启用" in show  # certified_at unset: empty
    assert not any(MICROSECONDS.search(c) for c in show)


def test_sms_outbox_labels(admin_client):
    unit_user = make_unit_user()
    password_reset.request_code(unit_user.username)
    operators.add_operator(unit_user, "王五", _id_number(), "13800001111")
    db.session.add(SmsMessage(phone="13800002222", content="测试", purpose="password_reset", status="sent"))
    db.session.commit()
    html = text(admin_client.get("/admin/sms/list/"))
    row = cells(html)
    for raw in ("operator_password", "password_reset", "stored", "sent"):
        assert raw not in row
    assert "经办人初始密码" in row and "找回密码验证码" in row
    assert "已存储" in row and "已发送" in row
    assert not MICROSECONDS.search(html)


def _id_number():
    from tests.factories import new_id_number

    return new_id_number()


def test_audit_log_labels(admin_client):
    unit_user = make_unit_user()
    for event in ("wf_create", "wf_submit", "wf_reject", "wf_withdraw", "product_import", "national_import",
                  "dictionary_added"):
        audit.record(event, user=unit_user)
    audit.record("wf_approve", username="cli")  # no user, unit or ip: empty cells, never "None"
    db.session.commit()
    html = text(admin_client.get("/admin/audit/list/"))
    row = cells(html)
    for raw in ("wf_create", "wf_submit", "wf_reject", "wf_withdraw", "product_import", "None"):
        assert raw not in row
    for label in ("提交审核", "审核不通过", "撤回申请", "导入耗材产品", "新增业务记录", "审核通过", "单位注册"):
        assert label in row
    assert not MICROSECONDS.search(html) and SECONDS.search(html)


def test_ca_bindings_timestamps(admin_client, app):
    from app.models import CaBinding

    user = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    now = dt.datetime(2026, 1, 2, 3, 4, 5, 678901)
    db.session.add(CaBinding(unit_id=user.unit_id, subject="CN=x", issuer="CN=ca", serial_number="0A1B",
                             fingerprint_sha256="f" * 64, not_before=now, not_after=now, bound_at=now))
    db.session.commit()
    html = text(admin_client.get("/admin/ca/list/"))
    row = cells(html)
    assert "2026-01-02 03:04:05" in row and "None" not in row
    assert not MICROSECONDS.search(html)


def test_english_stays_selectable(admin_client):
    admin_client.get("/lang/en")
    for url in ("/admin/units/list/", "/admin/audit/list/", "/admin/sms/list/", "/users/list/", "/roles/list/",
                "/users/add", "/userstatschartview/chart/"):
        assert admin_client.get(url).status_code == 200, url


def test_every_audited_event_has_a_label():
    """Every event passed to audit.record(...) in app/ has a Chinese label."""
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[2] / "app"
    events = set()
    for path in root.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        events.update(re.findall(r'audit\.record\(\s*"([a-z_]+)"', source))
        for a, b in re.findall(r'audit\.record\(\s*"([a-z_]+)" if [^"]+ else "([a-z_]+)"', source):
            events.update((a, b))
    events.update(f"wf_{action}" for action in ACTION_LABELS)
    assert "login" in events and "product_import" in events
    missing = sorted(e for e in events if e not in EVENT_LABELS)
    assert not missing, missing


def test_every_sms_purpose_and_status_has_a_label():
    from app.services import password_reset as reset

    assert {operators.PURPOSE_NEW, operators.PURPOSE_RESET, reset.PURPOSE} <= set(PURPOSE_LABELS)
    assert {"stored", "sent"} <= set(STATUS_LABELS)
