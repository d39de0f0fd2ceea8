"""Home, 单位注册 and 单位登录 through the Flask test client."""
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AppUser, AuditLog, Unit
from tests.conftest import csrf_token, field_error, login, text
from tests.factories import PASSWORD, make_unit_user, new_id_number, new_phone, new_uscc, sms_text


def test_home_page_names_the_platform_and_its_entries(client):
    html = text(client.get("/"))
    for words in ("广东医保服务平台", "单位登录", "注册", "单位注册"):
        assert words in html


def form_data(token, **overrides):
    data = dict(csrf_token=token, category="non_designated", username="clinic2024a", password="Abcd12345",
                confirm_password="Abcd12345", unit_name="广州市某某诊所", credit_code="H44010300099000000",
                contact_name="张三", contact_id_number=new_id_number(), contact_phone=new_phone())
    data.update(overrides)
    return data


def test_register_walks_to_the_completion_page(client):
    token = csrf_token(client, "/register/unit")
    resp = client.post("/register/unit", data=form_data(token), follow_redirects=True)
    html = text(resp)
    assert "注册成功" in html and "clinic2024a" in html and "妥善保管" in html
    assert db.session.scalar(select(Unit.credit_code)) == "H44010300099000000"


@pytest.mark.parametrize("overrides,field,message", [
    ({"username": "clinic_2024"}, "username", "特殊符号"),
    ({"username": "12345678"}, "username", "字母加数字"),
    ({"username": "abcdefgh"}, "username", "字母加数字"),
    ({"password": "Ab1", "confirm_password": "Ab1"}, "password", "至少8位"),
    ({"password": "abcdefghij", "confirm_password": "abcdefghij"}, "password", "字母和数字"),
    ({"confirm_password": "Abcd12346"}, "confirm_password", "两次输入的密码不一致"),
    ({"credit_code": "H4401030009900000"}, "credit_code", "18位"),
    ({"credit_code": "X44010300099000000"}, "credit_code", "H码"),
    ({"category": "designated", "credit_code": "91110000600037341M"}, "credit_code", "校验位"),
    ({"contact_id_number": "110105194912310021"}, "contact_id_number", "身份证号码无效"),
    ({"contact_phone": "12345"}, "contact_phone", "11位数字"),
])
def test_register_shows_each_error_next_to_its_field_and_saves_nothing(client, overrides, field, message):
    token = csrf_token(client, "/register/unit")
    resp = client.post("/register/unit", data=form_data(token, **overrides))
    assert resp.status_code == 200
    assert message in field_error(text(resp), field)
    assert db.session.scalar(select(func.count(Unit.id))) == 0
    assert db.session.scalar(select(func.count(AppUser.id))) == 0


def test_register_duplicates_are_refused_at_the_field(client):
    existing = make_unit_user(username="Taken2024")
    token = csrf_token(client, "/register/unit")
    resp = client.post("/register/unit", data=form_data(
        token, username="TAKEN2024", category="designated", credit_code=existing.unit.credit_code))
    html = text(resp)
    assert "已被注册" in field_error(html, "username")
    assert "已注册" in field_error(html, "credit_code")
    assert db.session.scalar(select(func.count(Unit.id))) == 1


def test_register_without_csrf_token_is_refused(client):
    resp = client.post("/register/unit", data=form_data(""))
    assert resp.status_code == 400
    assert "CSRF" in text(resp)
    assert db.session.scalar(select(func.count(Unit.id))) == 0


def test_enterprise_registration_with_valid_uscc(client):
    token = csrf_token(client, "/register/unit")
    code = new_uscc()
    resp = client.post("/register/unit", data=form_data(token, category="enterprise", username="maker2024",
                                                        credit_code=code.lower()), follow_redirects=True)
    assert "注册成功" in text(resp)
    assert db.session.scalar(select(Unit.category)) == "enterprise"


def test_login_then_home_offers_the_hall(client):
    make_unit_user(username="Hosp2024a")
    resp = login(client, "hosp2024A", PASSWORD, follow=True)
    assert "进入单位网厅" in text(resp)


def test_wrong_password_message_and_lockout_through_the_page(client):
    user = make_unit_user()
    for _ in range(4):
        resp = login(client, user.username, "Wrong12345")
        assert "账号或密码错误" in text(resp)
    resp = login(client, user.username, "Wrong12345")
    assert "锁定" in text(resp)
    resp = login(client, user.username, PASSWORD)
    assert "锁定" in text(resp)
    assert client.get("/hall/").status_code == 302  # still anonymous
    events = db.session.scalars(select(AuditLog.event).where(AuditLog.user_id == user.id)).all()
    assert events.count("login_failed") == 5 and "account_locked" in events


def test_login_without_csrf_is_refused(client):
    user = make_unit_user()
    resp = client.post("/login/", data={"username": user.username, "password": PASSWORD})
    assert resp.status_code == 400
    assert client.get("/hall/").status_code == 302


def test_forgot_password_pages(client):
    user = make_unit_user()
    token = csrf_token(client, "/forgot-password/")
    resp = client.post("/forgot-password/", data={"csrf_token": token, "identifier": user.username},
                       follow_redirects=True)
    html = text(resp)
    assert "验证码已发送" in html and "重置密码" in html
    code = re.search(r"验证码：(\d{6})", sms_text()).group(1)
    token = csrf_token(client, "/reset-password/")
    bad = client.post("/reset-password/", data={"csrf_token": token, "identifier": user.username,
                                                "code": "999999" if code != "999999" else "888888",
                                                "new_password": "Newpass123", "confirm_password": "Newpass123"})
    assert "验证码错误" in field_error(text(bad), "code")
    ok = client.post("/reset-password/", data={"csrf_token": token, "identifier": user.username, "code": code,
                                               "new_password": "Newpass123", "confirm_password": "Newpass123"},
                     follow_redirects=True)
    assert "密码重置成功" in text(ok)
    again = client.post("/reset-password/", data={"csrf_token": token, "identifier": user.username, "code": code,
                                                  "new_password": "Other12345", "confirm_password": "Other12345"})
    assert "验证码已失效" in field_error(text(again), "code")
    assert "进入单位网厅" in text(login(client, user.username, "Newpass123", follow=True))


def test_english_is_selectable(client):
    client.get("/lang/en")
    html = text(client.get("/"))
    assert "Unit login" in html or "Unit Login" in html
    client.get("/lang/zh")
    assert "单位登录" in text(client.get("/"))


def test_field_errors_follow_the_language(client):
    client.get("/lang/en")
    token = csrf_token(client, "/register/unit")
    html = text(client.post("/register/unit", data=form_data(token, contact_phone="12345")))
    assert "The mobile number has 11 digits" in field_error(html, "contact_phone")
    client.get("/lang/zh")


def test_pages_that_need_no_session_leave_the_cookie_alone(app):
    """A stray response (a 404 favicon, the home page) must never rewrite the session cookie,
    or it can land after 单位登录's and erase the CSRF token the login POST needs."""
    for url in ("/", "/favicon.ico", "/no-such-page"):
        resp = app.test_client().get(url)
        assert resp.headers.get_all("Set-Cookie") == [], url
    assert "session=" in " ".join(app.test_client().get("/login/").headers.get_all("Set-Cookie"))

