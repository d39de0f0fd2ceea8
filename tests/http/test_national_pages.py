"""National data pages: admin browse and import, pickers, 注册证查询 for units."""
from __future__ import annotations

import io
import re

import openpyxl
import pytest
from sqlalchemy import event, func, select

from app.extensions import db
from app.models import NationalCertificate, NationalSpec, UnitCategory, UnitRole
from app.services import national_import as ni
from seed.national import load_national_demo
from tests.conftest import csrf_token, login, text
from tests.factories import PASSWORD, make_certified, make_platform_user
from tests.unit.test_national_import import CERT_A, CERT_B, CERT_HEADERS, ITEM_A, SPEC_A1, workbook

ADMIN_PAGES = ["/admin/national/certificates/", "/admin/national/items/", "/admin/national/specs/",
               "/admin/national/import/", "/admin/dictionary/"]


@pytest.fixture
def admin_client(client):
    make_platform_user("natadmin", "Admin")
    login(client, "natadmin", PASSWORD)
    return client


@pytest.fixture
def demo(app):
    load_national_demo()


def test_admin_menu_lists_the_national_pages_under_platform_admin(admin_client, demo):
    html = text(admin_client.get("/admin/national/certificates/"))
    for name in ("平台管理", "国家注册证数据", "国家单件数据", "国家规格型号数据", "国家数据导入", "数据字典", "单位列表",
                 "审计日志"):
        assert name in html
    for url in ADMIN_PAGES:
        assert admin_client.get(url).status_code == 200, url


def test_unit_users_cannot_open_the_admin_pages(client, demo):
    user = make_certified(UnitCategory.DESIGNATED, UnitRole.DESIGNATED_HOSPITAL)
    login(client, user.username, PASSWORD)
    for url in ADMIN_PAGES + ["/admin/national/import/template.xlsx", "/national/picker/certificates?next=/x"]:
        resp = client.get(url)
        assert resp.status_code in (302, 403), url
        assert "国械注准20153100011" not in text(resp)


def test_certificate_list_search_and_detail(admin_client, demo):
    html = text(admin_client.get("/admin/national/certificates/?registrant=广东示范&origin=domestic"))
    rows = re.findall(r'<tr data-key="([^"]+)"', html)
    assert "国械注准20153100011" in rows and "粤穗械备20180539号" in rows
    assert all("进" not in r for r in rows)
    detail = text(admin_client.get("/admin/national/certificates/show/国械注准20153100011"))
    assert "一次性使用动脉插管" in detail and "C0901010100000006626" in detail
    assert admin_client.get("/admin/national/certificates/show/不存在").status_code == 404
    item = text(admin_client.get("/admin/national/items/show/C0901010100000006626"))
    assert "C09010101000000066260000001" in item


def test_list_pages_page_by_keyset_and_never_count(admin_client, demo, app):
    statements = []

    def spy(conn, cursor, statement, *args):
        statements.append(statement.lower())

    event.listen(db.engine, "before_cursor_execute", spy)
    try:
        first = text(admin_client.get("/admin/national/specs/"))
        nxt = re.search(r'class="pager-next" href="\?([^"]+)"', first).group(1).replace("&amp;", "&")
        second = text(admin_client.get("/admin/national/specs/?" + nxt))
    finally:
        event.remove(db.engine, "before_cursor_execute", spy)
    codes1 = re.findall(r'<tr data-key="(C\d{26})"', first)
    codes2 = re.findall(r'<tr data-key="(C\d{26})"', second)
    assert len(codes1) == 20 and codes2 and codes2[0] > codes1[-1]
    national_sql = [s for s in statements if "national_" in s]
    assert national_sql and not any("count(" in s for s in national_sql)
    assert "pager-prev" in second and "pager-first" in second


def test_deep_page_by_key(admin_client, demo):
    last = db.session.scalar(select(func.max(NationalSpec.code)))
    html = text(admin_client.get(f"/admin/national/specs/?before={last}"))
    codes = re.findall(r'<tr data-key="(C\d{26})"', html)
    assert len(codes) == 20 and codes[-1] < last and "pager-next" in html


def fill_template() -> bytes:
    wb = openpyxl.load_workbook(io.BytesIO(ni.template_workbook()))
    bad = list(CERT_B)
    bad[4] = "IV"
    wb["注册证"].append(CERT_A)
    wb["注册证"].append(bad)
    wb["单件"].append(ITEM_A)
    wb["规格型号"].append(SPEC_A1)
    wb["规格型号"].append(["C09010201000000066260000001", "", "1", "2"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_upload_the_offered_template_shows_counts_errors_and_a_report(admin_client):
    resp = admin_client.get("/admin/national/import/template.xlsx")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    assert openpyxl.load_workbook(io.BytesIO(resp.data)).sheetnames[:3] == ["注册证", "单件", "规格型号"]
    assert admin_client.get("/admin/national/import/template/spec.csv").data.decode("utf-8-sig").startswith("27位码")
    token = csrf_token(admin_client, "/admin/national/import/")
    resp = admin_client.post("/admin/national/import/upload", data={
        "csrf_token": token, "file": (io.BytesIO(fill_template()), "国家数据.xlsx")},
        content_type="multipart/form-data")
    assert resp.status_code == 302 and "/admin/national/import/result/" in resp.headers["Location"]
    html = text(admin_client.get(resp.headers["Location"]))
    assert re.search(r'class="count-inserted">3<', html) and re.search(r'class="count-rejected">2<', html)
    assert "管理类别" in html and "没有对应的单件" in html
    report_url = re.search(r'id="download-report" href="([^"]+)"', html).group(1)
    book = openpyxl.load_workbook(io.BytesIO(admin_client.get(report_url).data))
    # each rejected row under its kind's template columns, 错误原因 last
    assert sum(ws.max_row - 1 for ws in book.worksheets) == 2
    for ws in book.worksheets:
        assert ws.cell(row=1, column=ws.max_column).value == "错误原因" and ws.cell(row=2, column=ws.max_column).value
    assert db.session.scalar(select(func.count()).select_from(NationalCertificate)) == 1
    history = text(admin_client.get("/admin/national/import/"))
    assert "国家数据.xlsx" in history and "natadmin" in history


def test_a_refused_upload_says_why_and_changes_nothing(admin_client):
    token = csrf_token(admin_client, "/admin/national/import/")
    resp = admin_client.post("/admin/national/import/upload", data={
        "csrf_token": token, "file": (io.BytesIO(b"plain text"), "fake.xlsx")}, content_type="multipart/form-data")
    assert resp.status_code == 200
    assert "不是有效的Excel" in text(resp)
    resp = admin_client.post("/admin/national/import/upload", data={
        "csrf_token": token, "file": (io.BytesIO(workbook(("x", [["姓名"], ["张三"]]))), "wrong.xlsx")},
        content_type="multipart/form-data")
    assert "表头无法识别" in text(resp)
    assert db.session.scalar(select(func.count()).select_from(NationalCertificate)) == 0


def test_upload_needs_a_file_and_the_csrf_token(admin_client, app):
    token = csrf_token(admin_client, "/admin/national/import/")
    assert "请选择" in text(admin_client.post("/admin/national/import/upload", data={"csrf_token": token}))
    anonymous = app.test_client()
    resp = anonymous.post("/admin/national/import/upload", data={
        "file": (io.BytesIO(fill_template()), "n.xlsx")}, content_type="multipart/form-data")
    assert resp.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(NationalCertificate)) == 0


def test_an_upload_over_the_size_limit_is_refused(admin_client, app):
    token = csrf_token(admin_client, "/admin/national/import/")
    old = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 4096
    try:
        resp = admin_client.post("/admin/national/import/upload", data={
            "csrf_token": token, "file": (io.BytesIO(fill_template()), "big.xlsx")},
            content_type="multipart/form-data")
    finally:
        app.config["MAX_CONTENT_LENGTH"] = old
    assert resp.status_code == 413 and "文件过大" in text(resp)
    app.config["NATIONAL_IMPORT_MAX_BYTES"] = 1024
    try:
        resp = admin_client.post("/admin/national/import/upload", data={
            "csrf_token": token, "file": (io.BytesIO(fill_template()), "big.xlsx")},
            content_type="multipart/form-data")
    finally:
        del app.config["NATIONAL_IMPORT_MAX_BYTES"]
    assert "文件过大" in text(resp)
    assert db.session.scalar(select(func.count()).select_from(NationalCertificate)) == 0


# -- pickers ------------------------------------------------------------------------------------
def test_certificate_picker_searches_and_keeps_the_choice(admin_client, demo):
    url = "/national/picker/certificates?next=/procurement/entrustments/link/1&field=cert_nos&registrant=广东示范"
    html = text(admin_client.get(url))
    assert "选择注册证" in html and 'action="/procurement/entrustments/link/1"' in html
    assert 'name="next" value="/procurement/entrustments/link/1"' in html  # kept by the search form
    assert re.findall(r'<tr data-key="([^"]+)"', html)
    chosen = text(admin_client.get(url + "&selected=国械注进20172100054&selected=国械注准20153100011"))
    # on this page: a ticked checkbox; elsewhere: a hidden input that the next search keeps
    assert re.search(r'value="国械注准20153100011" checked', chosen)
    assert 'type="hidden" name="selected" value="国械注进20172100054"' in chosen
    assert '"cert_nos"' in chosen  # the field the choice is posted as


def test_picker_can_lock_imported_certificates(admin_client, demo):
    html = text(admin_client.get("/national/picker/certificates?next=/x&lock_origin=imported&origin=domestic"))
    rows = re.findall(r'<tr data-key="([^"]+)"', html)
    assert rows and all("械注进" in r or "械注许" in r for r in rows)
    search_form = html.split('id="picker-search"')[1].split("</form>")[0]
    assert '<select class="form-control input-sm" name="origin"' not in search_form  # the user cannot change it
    assert 'name="lock_origin" value="imported"' in search_form


def test_item_and_spec_pickers(admin_client, demo):
    html = text(admin_client.get("/national/picker/items?next=/x&certificate=国械注准20153100011"))
    assert re.findall(r'<tr data-key="([^"]+)"', html) == ["C0901010100000006626", "C0901040100000006626"]
    html = text(admin_client.get("/national/picker/specs?next=/x&item=C0901010100000006626"))
    assert all(k.startswith("C0901010100000006626") for k in re.findall(r'<tr data-key="([^"]+)"', html))
    assert '"spec_codes"' in html


def test_spec_text_alone_shows_why_nothing_is_listed(admin_client, demo):
    html = text(admin_client.get("/admin/national/specs/?text=Fr"))
    assert "search-notice" in html and "前5位" in html
    html = text(admin_client.get("/admin/national/specs/?text=Fr&code=C0901"))
    assert "search-notice" not in html and re.findall(r'<tr data-key="(C\d{26})"', html)


@pytest.mark.parametrize("nxt", ["https://evil.example/x", "//evil.example/x", "javascript:alert(1)", ""])
def test_picker_refuses_a_foreign_next_url(admin_client, nxt):
    assert admin_client.get(f"/national/picker/certificates?next={nxt}").status_code == 400


# -- 注册证查询 ----------------------------------------------------------------------------------
def test_designated_hospital_reaches_certificate_query_from_procurement(client, demo):
    user = make_certified(UnitCategory.DESIGNATED, UnitRole.DESIGNATED_HOSPITAL)
    login(client, user.username, PASSWORD)
    menu = text(client.get("/procurement/"))
    assert 'href="/procurement/certificate-query/"' in menu
    html = text(client.get("/procurement/certificate-query/?number=20153100011"))
    assert "注册证查询" in html and "一次性使用动脉插管" in html
    detail = text(client.get("/procurement/certificate-query/show/国械注准20153100011"))
    assert "广东示范医疗器械有限公司" in detail and "C0901010100000006626" in detail


@pytest.mark.parametrize("category,role", [(UnitCategory.ENTERPRISE, UnitRole.DISTRIBUTOR),
                                           (UnitCategory.DESIGNATED, UnitRole.DESIGNATED_PHARMACY)])
def test_other_ceiling_holders_can_query(client, demo, category, role):
    user = make_certified(category, role)
    login(client, user.username, PASSWORD)
    assert "国械注准20153100011" in text(client.get("/procurement/certificate-query/"))


def test_non_designated_hospital_is_refused_certificate_query(client, demo):
    user = make_certified(UnitCategory.NON_DESIGNATED, UnitRole.NON_DESIGNATED_HOSPITAL)
    login(client, user.username, PASSWORD)
    assert "certificate-query" not in text(client.get("/procurement/"))
    for url in ("/procurement/certificate-query/", "/procurement/certificate-query/show/国械注准20153100011"):
        resp = client.get(url)
        assert resp.status_code in (302, 403)
        assert "一次性使用动脉插管" not in text(resp)


def test_anonymous_users_are_sent_to_login(client, demo):
    resp = client.get("/procurement/certificate-query/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
