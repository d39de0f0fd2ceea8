"""Permission checks read the user's role permissions once per request, and see changes at once."""
from __future__ import annotations

from flask import g
from sqlalchemy import event

from app.extensions import db


def _admin_role_ids(sm):
    return [sm.find_role("Admin").id]


def _count_queries(fn):
    seen = []

    def spy(*_a, **_k):
        seen.append(1)

    event.listen(db.engine, "before_cursor_execute", spy)
    try:
        result = fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", spy)
    return result, len(seen)


def test_many_checks_cost_one_query(app):
    sm = app.appbuilder.sm
    ids = _admin_role_ids(sm)
    g.pop("_role_permissions", None)
    names = ["UnitAdminView", "AuditLogView", "SmsOutboxView", "NationalCertificateAdminView"]
    answers, queries = _count_queries(
        lambda: [sm.exist_permission_on_roles(name, perm, ids) for name in names for perm in ("can_list", "can_show")])
    assert queries == 1
    expected = [fab_check(sm, name, perm, ids) for name in names for perm in ("can_list", "can_show")]
    assert answers == expected
    assert any(answers) and sm.exist_permission_on_roles("UnitAdminView", "can_no_such_thing", ids) is False


def fab_check(sm, view, perm, ids):
    """FAB's own query, bypassing the cache."""
    return super(type(sm), sm).exist_permission_on_roles(view, perm, ids)


def test_a_committed_change_is_seen_at_once(app):
    sm = app.appbuilder.sm
    role = sm.add_role("缓存测试角色")
    db.session.commit()
    assert sm.exist_permission_on_roles("UnitAdminView", "can_list", [role.id]) is False
    pv = sm.find_permission_view_menu("can_list", "UnitAdminView")
    sm.add_permission_role(role, pv)  # commits
    assert sm.exist_permission_on_roles("UnitAdminView", "can_list", [role.id]) is True
    sm.del_permission_role(role, pv)
    assert sm.exist_permission_on_roles("UnitAdminView", "can_list", [role.id]) is False
    db.session.delete(role)
    db.session.commit()


def test_a_page_reads_permissions_once_and_still_hides_what_is_not_granted(client):
    from tests.conftest import login, logout
    from tests.factories import PASSWORD, make_platform_user, make_unit_user

    make_platform_user("root2024", "Admin")
    login(client, "root2024", PASSWORD)
    statements = []

    def spy(conn, cursor, statement, *_a):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", spy)
    try:
        html = client.get("/admin/units/list/").get_data(as_text=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", spy)
    assert "单位列表" in html and "审计日志" in html  # the navbar was drawn from the permissions
    assert sum("ab_permission_view_role" in s for s in statements) == 1

    logout(client)
    make_unit_user(username="cachetest01")
    login(client, "cachetest01", PASSWORD)
    assert "审计日志" not in client.get("/hall/").get_data(as_text=True)
    assert client.get("/admin/units/list/").status_code in (302, 403)
