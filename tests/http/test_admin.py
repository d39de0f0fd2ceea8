"""Platform admin pages: units (disable/enable), ceilings, SMS outbox, audit log."""
import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, RoleCeiling, Unit, UnitCategory, UnitRole
from app.services import password_reset
from tests.conftest import csrf_token, login, text
from tests.factories import PASSWORD, make_certified, make_platform_user, make_unit_user

ADMIN_PAGES = ["/admin/units/list/", "/admin/ceilings/list/", "/admin/sms/list/", "/admin/audit/list/",
               "/admin/ca/list/", "/users/list/", "/roles/list/"]


@pytest.fixture
def admin_client(client):
    make_platform_user("root2024", "Admin")
    login(client, "root2024", PASSWORD)
    return client


def test_admin_sees_every_admin_page(admin_client):
    make_unit_user(unit_name="广州市列表测试医院")
    for url in ADMIN_PAGES:
        assert admin_client.get(url).status_code == 200, url
    assert "广州市列表测试医院" in text(admin_client.get("/admin/units/list/"))


def test_unit_users_and_reviewers_cannot_reach_admin_pages(app, client):
    from app.security.roles import REVIEWER_FINAL, REVIEWER_INITIAL
    from tests.conftest import IsolatedClient
    from tests.factories import make_platform_user

    make_unit_user(unit_name="广州市管理页测试医院")
    user = make_certified(UnitCategory.DESIGNATED, UnitRole.DESIGNATED_HOSPITAL)
    make_platform_user("adminpages_chu", REVIEWER_INITIAL)
    make_platform_user("adminpages_fu", REVIEWER_FINAL)
    for account in (user.username, "adminpages_chu", "adminpages_fu"):
        visitor = IsolatedClient(app, app.response_class, use_cookies=True)
        assert login(visitor, account, PASSWORD).status_code == 302, account
        for url in ADMIN_PAGES:
            resp = visitor.get(url)
            assert resp.status_code in (302, 403), (account, url)
            assert "广州市管理页测试医院" not in text(resp)


def test_disable_and_enable_a_unit(admin_client, app):
    from tests.conftest import IsolatedClient

    user = make_unit_user()
    token = csrf_token(admin_client, "/admin/units/list/")
    resp = admin_client.post("/admin/units/action_post", data={"csrf_token": token, "action": "disable",
                                                               "rowid": [str(user.unit_id)]}, follow_redirects=True)
    assert resp.status_code == 200
    db.session.expire_all()
    assert db.session.get(Unit, user.unit_id).active is False
    other = IsolatedClient(app, app.response_class, use_cookies=True)
    assert "停用" in text(login(other, user.username, PASSWORD))
    admin_client.post("/admin/units/action_post", data={"csrf_token": token, "action": "enable",
                                                        "rowid": [str(user.unit_id)]})
    db.session.expire_all()
    assert db.session.get(Unit, user.unit_id).active is True
    events = db.session.scalars(select(AuditLog.event).where(AuditLog.unit_id == user.unit_id)).all()
    assert "unit_disabled" in events and "unit_enabled" in events


def test_unit_show_page_has_registration_data(admin_client):
    user = make_unit_user(contact_name="赵六")
    html = text(admin_client.get(f"/admin/units/show/{user.unit_id}"))
    assert user.unit.credit_code in html and "赵六" in html


def test_sms_outbox_lists_messages(admin_client):
    user = make_unit_user()
    password_reset.request_code(user.username)
    html = text(admin_client.get("/admin/sms/list/"))
    assert user.unit.contact_phone in html and "验证码" in html


def test_audit_log_is_listed_and_cannot_be_edited_or_deleted(admin_client):
    user = make_unit_user()
    html = text(admin_client.get("/admin/audit/list/"))
    assert "单位注册" in html
    row = db.session.scalar(select(AuditLog).where(AuditLog.user_id == user.id))
    assert admin_client.get(f"/admin/audit/edit/{row.id}").status_code in (302, 403, 404, 405)
    token = csrf_token(admin_client, "/admin/audit/list/")
    admin_client.post(f"/admin/audit/delete/{row.id}", data={"csrf_token": token})
    assert db.session.get(AuditLog, row.id) is not None
    from app.models.audit import AuditLogIsAppendOnly

    row.detail = "tampered"
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.commit()
    db.session.rollback()


def test_admin_edits_a_ceiling_and_units_follow(admin_client, restore_ceilings, app):
    user = make_certified(UnitCategory.NON_DESIGNATED, UnitRole.NON_DESIGNATED_HOSPITAL)
    sm = app.appbuilder.sm
    assert ("menu_access", "注册证查询") not in sm.get_user_permissions(user)
    token = csrf_token(admin_client, "/admin/ceilings/add")
    resp = admin_client.post("/admin/ceilings/add", data={"csrf_token": token,
                                                          "unit_role": "non_designated_hospital",
                                                          "menu_key": "certificate_query"}, follow_redirects=True)
    assert resp.status_code == 200
    db.session.expire_all()
    assert ("menu_access", "注册证查询") in sm.get_user_permissions(user)
    row = db.session.scalar(select(RoleCeiling).where(RoleCeiling.menu_key == "certificate_query",
                                                      RoleCeiling.unit_role == "non_designated_hospital"))
    admin_client.post(f"/admin/ceilings/delete/{row.id}", data={"csrf_token": token})
    db.session.expire_all()
    assert ("menu_access", "注册证查询") not in sm.get_user_permissions(user)
    assert "ceiling_changed" in db.session.scalars(select(AuditLog.event)).all()


def test_release_a_credit_code_from_the_unit_list(admin_client):
    """单位列表 → 释放信用代码: a never-certified registration frees its code; a certified unit does not."""
    squatter = make_unit_user(UnitCategory.ENTERPRISE)
    certified = make_certified(UnitCategory.DESIGNATED, UnitRole.DESIGNATED_HOSPITAL)
    code = squatter.unit.credit_code
    assert "释放信用代码" in text(admin_client.get("/admin/units/list/"))
    token = csrf_token(admin_client, "/admin/units/list/")
    html = text(admin_client.post("/admin/units/action_post", data={
        "csrf_token": token, "action": "release", "rowid": [str(squatter.unit_id), str(certified.unit_id)]},
        follow_redirects=True))
    assert "已释放 1 个单位的信用代码" in html and "信用代码不能释放" in html
    db.session.expire_all()
    released = db.session.get(Unit, squatter.unit_id)
    assert released.released_credit_code == code and released.credit_code != code and not released.active
    assert db.session.get(Unit, certified.unit_id).released_at is None
    assert code in text(admin_client.get(f"/admin/units/show/{squatter.unit_id}"))
