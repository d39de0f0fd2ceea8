"""Hostile text through the pages (issue 11 §3): NUL, overlong values, Unicode digits."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AppUser, UnitCategory, UnitRole
from tests.conftest import csrf_token, field_error, login, text
from tests.factories import PASSWORD, make_certified, make_platform_user


def test_nul_in_anonymous_login_is_a_message_not_a_500(client):
    token = csrf_token(client)
    resp = client.post("/login/", data={"csrf_token": token, "username": "ab\x00cd", "password": "x\x00y"})
    assert resp.status_code == 200
    assert "不能包含控制字符" in text(resp)


def test_nul_in_forgot_password_is_a_field_message(client):
    token = csrf_token(client, "/forgot-password/")
    resp = client.post("/forgot-password/", data={"csrf_token": token, "identifier": "1380013800\x00"})
    assert resp.status_code == 200
    assert "不能包含控制字符" in text(resp)


def test_overlong_login_is_refused_before_the_database(client):
    token = csrf_token(client)
    resp = client.post("/login/", data={"csrf_token": token, "username": "a" * 5000, "password": "x"})
    assert resp.status_code == 200
    assert "不能超过255个字符" in text(resp)


def test_registration_refuses_control_characters_next_to_the_field(client):
    token = csrf_token(client, "/register/unit")
    resp = client.post("/register/unit", data={"csrf_token": token, "category": "designated",
                                               "username": "abc12345", "unit_name": "医院\x00",
                                               "contact_name": "张\u202e三"})
    assert resp.status_code == 200
    html = text(resp)
    assert "不能包含控制字符" in field_error(html, "unit_name")
    assert "不能包含控制字符" in field_error(html, "contact_name")
    assert db.session.scalar(select(func.count(AppUser.id))) == 0


@pytest.fixture
def admin_client(client):
    make_platform_user("admin1", "Admin")
    login(client, "admin1", PASSWORD)
    client.get("/")  # the first page after login settles the session (as a browser's redirect does)
    return client


@pytest.mark.parametrize("url", ["/users/list/?_flt_0_username=a%00b", "/admin/audit/list/?_flt_0_username=%00",
                                 "/admin/national/certificates/?number=%00", "/users/list/?_flt_0_username=" + "x" * 3000])
def test_nul_in_search_filters_is_400_not_500(admin_client, url):
    assert admin_client.get(url).status_code == 400


def test_nul_in_an_operator_name_is_not_reported_as_a_taken_phone(client):
    user = make_certified(UnitCategory.DESIGNATED, UnitRole.DESIGNATED_HOSPITAL)
    login(client, user.username, PASSWORD)
    token = csrf_token(client, "/unit/operators/add")
    resp = client.post("/unit/operators/add", data={"csrf_token": token, "name": "王\x00五",
                                                    "id_number": "11010519491231002X", "phone": "13912345678"})
    html = text(resp)
    assert "不能包含控制字符" in field_error(html, "name")
    assert "已被使用" not in html
    assert db.session.scalar(select(func.count(AppUser.id)).where(AppUser.phone == "13912345678")) == 0
