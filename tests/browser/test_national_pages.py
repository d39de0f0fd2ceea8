"""National data in the browser: admin import and browse, the picker's multi-select, 注册证查询."""
from __future__ import annotations

import io
from urllib.parse import parse_qs

import openpyxl
from playwright.sync_api import expect

from app.models import UnitCategory, UnitRole
from app.services import national_import as ni
from seed.national import load_national_demo
from tests.browser.helpers import login
from tests.factories import PASSWORD, make_certified, make_platform_user
from tests.unit.test_national_import import CERT_A, ITEM_A, SPEC_A1


def test_admin_imports_the_template_and_browses(page, live_server, tmp_path):
    make_platform_user("natbrowser", "Admin")
    wb = openpyxl.load_workbook(io.BytesIO(ni.template_workbook()))
    wb["注册证"].append(CERT_A)
    wb["单件"].append(ITEM_A)
    wb["规格型号"].append(SPEC_A1)
    wb["规格型号"].append(["C0901010100000006626000000X", "", "1", "2"])
    path = tmp_path / "国家数据.xlsx"
    wb.save(path)
    login(page, live_server, "natbrowser", PASSWORD)
    page.goto(live_server + "/admin/national/certificates/")
    page.locator(".navbar").get_by_text("平台管理").click()
    page.locator(".navbar").get_by_role("link", name="国家数据导入").click()
    expect(page.get_by_role("heading", name="国家数据导入")).to_be_visible()
    with page.expect_download() as download:
        page.locator("#template-xlsx").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    page.locator("#import-form input[type=file]").set_input_files(str(path))
    page.get_by_role("button", name="导入", exact=True).click()
    expect(page.locator("#import-counts .count-inserted")).to_have_text("3")
    expect(page.locator("#import-counts .count-rejected")).to_have_text("1")
    expect(page.locator("#import-errors")).to_contain_text("C加26位数字")
    with page.expect_download() as report:
        page.locator("#download-report").click()
    assert report.value.suggested_filename.startswith("导入错误报告")
    page.goto(live_server + "/admin/national/certificates/")
    page.get_by_label("注册人名称").fill("广东示范")
    page.get_by_role("button", name="查询").click()
    page.get_by_role("link", name=CERT_A[0]).click()
    expect(page.locator("#certificate-detail")).to_contain_text("一次性使用动脉插管")
    page.get_by_role("link", name=ITEM_A[0]).click()
    expect(page.locator("#spec-table")).to_contain_text(SPEC_A1[0])


def test_picker_keeps_the_choice_across_pages_and_posts_it(page, live_server):
    load_national_demo()
    make_platform_user("pickbrowser", "Admin")
    login(page, live_server, "pickbrowser", PASSWORD)
    posted = {}

    def receive(route, request):
        posted.update(parse_qs(request.post_data))
        route.fulfill(status=200, body="received", content_type="text/plain")

    page.route("**/picker-target", receive)
    page.goto(live_server + "/national/picker/certificates?next=/picker-target&field=cert_nos")
    expect(page.get_by_role("heading", name="选择注册证")).to_be_visible()
    first = page.locator("#certificate-table tbody tr").first.get_attribute("data-key")
    page.get_by_label(first, exact=True).check()
    page.locator("#picker-next").click()
    # the next page has loaded when its first row is another certificate (under load the old page
    # may still be there a moment after the click)
    expect(page.locator("#certificate-table tbody tr").first).not_to_have_attribute("data-key", first)
    page.wait_for_load_state()
    second = page.locator("#certificate-table tbody tr").first.get_attribute("data-key")
    assert second != first
    page.get_by_label(second, exact=True).check()
    expect(page.locator("#picker-count")).to_have_text("2")
    page.get_by_label("注册人名称").fill("广东示范")  # a new search keeps the choice
    page.locator("#picker-query").click()
    expect(page.locator("#picker-count")).to_have_text("2")
    page.get_by_label("国械注准20153100011", exact=True).check()
    page.locator("#picker-ok").click()
    expect(page.get_by_text("received")).to_be_visible()
    assert set(posted["cert_nos"]) == {first, second, "国械注准20153100011"}
    assert posted["csrf_token"][0]


def test_designated_hospital_uses_certificate_query(page, live_server):
    load_national_demo()
    unit = make_certified(UnitCategory.DESIGNATED, UnitRole.DESIGNATED_HOSPITAL)
    login(page, live_server, unit.username, PASSWORD)
    page.goto(live_server + "/procurement/")
    page.locator("#procurement-menus").get_by_role("link", name="注册证查询").click()
    expect(page.get_by_role("heading", name="注册证查询")).to_be_visible()
    page.get_by_label("境内/进口").select_option(label="进口")
    page.get_by_role("button", name="查询").click()
    rows = page.locator("#certificate-table tbody tr")
    expect(rows.first).to_be_visible()
    for key in rows.evaluate_all("rows => rows.map(r => r.dataset.key)"):
        assert "械注进" in key or "械注许" in key
    rows.first.get_by_role("link").click()
    expect(page.locator("#certificate-detail")).to_contain_text("进口")
