"""Issue 14 walked in the browser: the admin imports a release with 停用 and 转码 → the manufacturer sees
停用提醒 → 转码 goes through 初审 and 复审 → a hospital's 耗材产品查询 shows the new code."""
from playwright.sync_api import expect

import app.models.national  # noqa: F401
from app.models import UnitCategory, UnitRole
from app.security.roles import REVIEWER_FINAL, REVIEWER_INITIAL
from app.services import products, qualification as q
from app.workflow import engine
from tests.browser.helpers import login
from tests.browser.test_guide_000_products import open_menu
from tests.factories import (make_certified, make_dictionary, make_national_cert, make_national_item,
                             make_platform_user)
from tests.unit.test_national_import import workbook

PDF = b"%PDF-1.4\n%%EOF\n"
ITEM = "C0901010100000006626"
OLD, NEW = ITEM + "0000001", ITEM + "0000002"


def approve(page, base, account, queue):
    login(page, base, account)
    page.get_by_role("link", name="审核管理").click()
    page.get_by_role("link", name=queue).click()
    boxes = page.locator("#queue input[name=rowid]")
    expect(boxes).to_have_count(1)
    boxes.first.check()
    page.get_by_role("button", name="批量审核通过").click()
    expect(page.get_by_text("批量审核通过：成功1条")).to_be_visible()


def test_release_deactivation_and_transfer_walkthrough(page, live_server, tmp_path):
    maker = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    make_dictionary()
    cert = make_national_cert("粤械注准20152660001", maker.unit.name, product_name="动脉灌注管")
    make_national_item(cert, ITEM, name="动脉灌注管", specs=3)
    record = q.add_certificates(maker, ["粤械注准20152660001"])[0]
    q.save_certificate(maker, record, "张三", "13800138000", "", ("scan.pdf", PDF), submit=True)
    item = products.add_items(maker, [ITEM])[0]
    product = products.add_packaging(maker, item, products.Packaging(OLD, "支", "盒", 10), submit=True)
    chu, fu = make_platform_user("chushen14", REVIEWER_INITIAL), make_platform_user("fushen14", REVIEWER_FINAL)
    for reviewer in (chu, fu):  # an effective product on the old code, under an effective certificate
        engine.apply(record, "approve", reviewer)
        engine.apply(product, "approve", reviewer)
    make_platform_user("admin14", "Admin")
    hospital = make_certified(UnitCategory.DESIGNATED, UnitRole.DESIGNATED_HOSPITAL)
    release = tmp_path / "2026-03-20停用转码.xlsx"
    release.write_bytes(workbook(("停用", [["27位码", "原码状态", "停用日期"], [OLD, "停用", "2026-03-20"]]),
                                 ("转码", [["原27位码", "27位码", "类型"], [OLD, NEW, "变更"]])))

    # the platform admin imports the release
    login(page, live_server, "admin14")
    page.goto(live_server + "/admin/national/import/")
    page.locator("#import-form input[type=file]").set_input_files(str(release))
    page.get_by_label("版本号").fill("2026-03-20")
    page.get_by_label("发布日期").fill("2026-03-20")
    page.get_by_role("button", name="导入", exact=True).click()
    expect(page.locator("#import-result .count-updated")).to_have_text("1")  # the code deactivated
    expect(page.locator("#import-history")).to_contain_text("版本 2026-03-20")
    page.locator(".navbar").get_by_text("平台管理").click()
    page.locator(".navbar").get_by_role("link", name="国家数据版本").click()
    row = page.locator('#releases tr[data-version="2026-03-20"]')
    expect(row.locator(".count-deactivated")).to_have_text("1")
    expect(row.locator(".count-transferred")).to_have_text("1")

    # the manufacturer sees the flag and asks for the transfer
    login(page, live_server, maker.username)
    open_menu(page, live_server, "耗材产品列表")
    product_row = page.locator(f'#products tr[data-id="{product.id}"]')
    expect(product_row.locator(".deactivated-flag")).to_have_text("停用提醒")
    expect(product_row).to_contain_text(NEW)
    product_row.get_by_role("button", name="转码").click()
    expect(page.get_by_text("已按国家转码生成变更")).to_be_visible()
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_text("已提交，等待审核")).to_be_visible()

    # the normal review, both levels
    approve(page, live_server, "chushen14", "产品待初审")
    approve(page, live_server, "fushen14", "产品待复审")

    # a hospital finds the product under its new code, and no longer under the old one
    login(page, live_server, hospital.username)
    open_menu(page, live_server, "耗材产品查询")
    page.get_by_placeholder("单件名称").fill("动脉灌注管")
    page.get_by_role("button", name="查询").click()
    results = page.locator("#query-results tbody tr")
    expect(results).to_have_count(1)
    expect(results.first).to_have_attribute("data-code", NEW)
