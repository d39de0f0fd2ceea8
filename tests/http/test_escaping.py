"""Reflected values are escaped (issue 11 §2): a payload in every value a message echoes."""
from __future__ import annotations

import io

import pytest
from flask import render_template_string
from markupsafe import Markup
from openpyxl import Workbook

import app.models.national  # noqa: F401
from app.i18n import Msg
from app.models import UnitCategory, UnitRole
from app.services import qualification as q
from tests.conftest import csrf_token, login, text
from tests.factories import (PASSWORD, make_certified, make_dictionary, make_national_cert, make_national_item,
                             make_platform_user)

PAYLOAD = "<script>alert(1)</script><img src=x onerror=alert(2)>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
ITEM = "C0901010100000006626"


def assert_escaped(html: str) -> None:
    assert "<script>alert(1)" not in html
    assert "<img src=x onerror" not in html
    assert ESCAPED in html


def test_template_gettext_escapes_a_plain_message_carrying_user_data(app):
    with app.test_request_context():
        out = render_template_string("{{ _(m) }}", m="文件“" + PAYLOAD + "”无效")
    assert_escaped(out)


def test_msg_translates_the_template_then_escapes_the_values(app):
    msg = Msg("文件“%(name)s”的内容不是有效的PDF、JPG或PNG文件", name=PAYLOAD)
    assert str(msg) == "文件“" + PAYLOAD + "”的内容不是有效的PDF、JPG或PNG文件"
    with app.test_request_context():
        assert_escaped(render_template_string("{{ _(m) }}", m=msg))
        assert_escaped(render_template_string("{{ m }}", m=msg))
    from flask_babel import force_locale

    with app.test_request_context(), force_locale("en"):
        out = render_template_string("{{ _(m) }}", m=msg)
    assert out.startswith("The file") and ESCAPED in out


def test_literal_percent_and_safe_markup_still_render(app):
    with app.test_request_context():
        assert render_template_string('{{ _("100%%") }}') == "100%"
        assert render_template_string("{{ _(m) }}", m="5% off") == "5% off"
        assert render_template_string("{{ _(m) }}", m=Markup("<b>x</b>")) == "<b>x</b>"


@pytest.fixture
def admin_client(client):
    make_platform_user("admin1", "Admin")
    login(client, "admin1", PASSWORD)
    client.get("/")  # the first page after login settles the session (as a browser's redirect does)
    return client


@pytest.fixture
def maker_client(client):
    user = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    make_dictionary()
    cert = make_national_cert("粤械注准20152660001", user.unit.name)
    make_national_item(cert, ITEM, name="动脉灌注管", specs=5)
    make_national_cert("国械注进20172400054", "Medtronic Inc.", product_name="心脏起搏器")
    record = q.add_certificates(user, ["粤械注准20152660001"])[0]
    q.save_certificate(user, record, "张三", "13800138000", "", ("scan.pdf", b"%PDF-1.4\n%%EOF\n"), submit=True)
    login(client, user.username, PASSWORD)
    client.user = user
    return client


def test_dictionary_duplicate_name_is_escaped(admin_client):
    token = csrf_token(admin_client, "/admin/dictionary/")
    admin_client.post("/admin/dictionary/add", data={"csrf_token": token, "category": "measure_unit", "name": "<b>x"})
    resp = admin_client.post("/admin/dictionary/add",
                             data={"csrf_token": token, "category": "measure_unit", "name": "<b>x"})
    html = text(resp)
    assert "单位名称不能包含空格或特殊字符" in html
    assert "<b>x" not in html
    assert 'value="&lt;b&gt;x"' in html


def test_attachment_file_name_is_escaped(maker_client):
    token = csrf_token(maker_client, "/procurement/entrustments/add")
    resp = maker_client.post("/procurement/entrustments/add", data={
        "csrf_token": token, "kind": "agent", "principal_name": "Medtronic Inc.",
        "valid_from": "2026-01-01", "valid_to": "2030-12-31", "action": "save",
        "letter_en": (io.BytesIO(b"not a pdf"), PAYLOAD + ".pdf"),
        "letter_zh": (io.BytesIO(b"not a pdf"), PAYLOAD + ".pdf")}, content_type="multipart/form-data")
    assert resp.status_code in (200, 400)
    html = text(resp)
    assert "<script>alert(1)" not in html and "<img src=x onerror" not in html


def test_product_code_and_units_in_field_messages_are_escaped(maker_client):
    from app.services import products

    item = products.add_items(maker_client.user, [ITEM])[0]
    token = csrf_token(maker_client, f"/procurement/items/products/{item.id}")
    resp = maker_client.post(f"/procurement/items/products/{item.id}", data={
        "csrf_token": token, "code": PAYLOAD, "min_unit": PAYLOAD, "pack_unit": PAYLOAD, "pack_ratio": PAYLOAD,
        "mid_unit": PAYLOAD, "mid_ratio": PAYLOAD, "action": "save"})
    html = text(resp)
    assert "<script>alert(1)" not in html and "<img src=x onerror" not in html
    assert ESCAPED in html  # the code is named in its field message, escaped


def test_national_import_file_name_and_header_cells_are_escaped(admin_client):
    wb = Workbook()
    ws = wb.active
    ws.title = PAYLOAD[:31].replace("/", "").replace("[", "").replace("]", "")
    ws.append([PAYLOAD, "姓名"])
    ws.append(["x", "y"])
    buf = io.BytesIO()
    wb.save(buf)
    token = csrf_token(admin_client, "/admin/national/import/")
    resp = admin_client.post("/admin/national/import/upload", data={
        "csrf_token": token, "file": (io.BytesIO(buf.getvalue()), PAYLOAD + ".xlsx")},
        content_type="multipart/form-data")
    html = text(resp)
    assert "表头无法识别" in html
    assert "<script>alert(1)" not in html and "<img src=x onerror" not in html
    assert ESCAPED in html
    history = text(admin_client.get("/admin/national/import/"))
    assert "<script>alert(1)" not in history and "<img src=x onerror" not in history


def test_account_role_name_is_escaped(client):
    user = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    login(client, user.username, PASSWORD)
    url = "/procurement/account-roles/add"
    resp = client.get(url)
    if resp.status_code == 404:
        pytest.skip("account role form lives elsewhere")
    token = csrf_token(client, url)
    resp = client.post(url, data={"csrf_token": token, "name": PAYLOAD, "menu_keys": [PAYLOAD]})
    html = text(resp)
    assert "<script>alert(1)" not in html and "<img src=x onerror" not in html
