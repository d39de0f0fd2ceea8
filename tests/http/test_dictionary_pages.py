"""数据字典 pages: platform admins add, rename, disable / enable, delete (not when in use)."""
from __future__ import annotations

import pytest

from app.models.dictionary import MEASURE_UNIT, PACKAGE_UNIT
from app.services import dictionary
from tests.conftest import csrf_token, login, text
from tests.factories import PASSWORD, make_certified, make_platform_user
from app.models import UnitCategory, UnitRole


@pytest.fixture
def admin(client):
    make_platform_user("dictadmin", "Admin")
    login(client, "dictadmin", PASSWORD)
    dictionary.seed_defaults()
    return client


def post(client, action, **data):
    token = csrf_token(client, "/admin/dictionary/")
    return client.post(f"/admin/dictionary/{action}", data={"csrf_token": token, **data}, follow_redirects=True)


def test_lists_by_category(admin):
    html = text(admin.get("/admin/dictionary/"))
    assert "计量单位" in html and "包装单位" in html and 'data-name="支"' in html
    html = text(admin.get(f"/admin/dictionary/?category={PACKAGE_UNIT}"))
    assert 'data-name="箱"' in html
    assert admin.get("/admin/dictionary/?category=nope").status_code == 404


def test_add_rename_disable_enable_delete(admin):
    html = text(post(admin, "add", category=MEASURE_UNIT, name="人份"))
    assert "已新增" in html and 'data-name="人份"' in html
    html = text(post(admin, "rename", category=MEASURE_UNIT, name="人份", new_name="剂"))
    assert "已修改名称" in html and 'data-name="剂"' in html and 'data-name="人份"' not in html
    post(admin, "disable", category=MEASURE_UNIT, name="剂")
    assert "剂" not in dictionary.active_names(MEASURE_UNIT)
    post(admin, "enable", category=MEASURE_UNIT, name="剂")
    assert "剂" in dictionary.active_names(MEASURE_UNIT)
    html = text(post(admin, "delete", category=MEASURE_UNIT, name="剂"))
    assert "已删除" in html and dictionary.find(MEASURE_UNIT, "剂") is None


def test_errors_show_next_to_the_field(admin):
    html = text(post(admin, "add", category=MEASURE_UNIT, name="支"))
    assert "field-error" in html and "计量单位“支”已存在" in html


def test_a_unit_in_use_cannot_be_deleted(admin):
    def checker(category, name):
        return "产品包装 1 条" if name == "盒" else None

    dictionary.register_usage_checker(checker)
    try:
        html = text(post(admin, "delete", category=PACKAGE_UNIT, name="盒"))
    finally:
        dictionary.unregister_usage_checker(checker)
    assert "已被使用" in html and "不能删除" in html
    assert dictionary.find(PACKAGE_UNIT, "盒") is not None


def test_posts_need_the_csrf_token(admin, app):
    resp = app.test_client().post("/admin/dictionary/add", data={"category": MEASURE_UNIT, "name": "新单位"})
    assert resp.status_code == 400 and dictionary.find(MEASURE_UNIT, "新单位") is None


def test_unit_users_cannot_edit_the_dictionary(client):
    user = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    login(client, user.username, PASSWORD)
    token = csrf_token(client, "/hall/password")
    resp = client.post("/admin/dictionary/add", data={"csrf_token": token, "category": MEASURE_UNIT, "name": "坏"})
    assert resp.status_code in (302, 403) and dictionary.find(MEASURE_UNIT, "坏") is None
