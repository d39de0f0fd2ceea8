"""Guide 000 sections 2.2.1 (委托授权) and 2.2.2 (注册证) walked as written, then review and 变更."""
from playwright.sync_api import expect

import app.models.national  # noqa: F401
from app.security.roles import REVIEWER_FINAL, REVIEWER_INITIAL
from tests.browser.helpers import login
from tests.factories import PASSWORD, make_certified, make_national_cert, make_platform_user
from app.models import UnitCategory, UnitRole

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def open_menu(page, base, label):
    page.goto(base + "/")
    page.get_by_role("link", name="进入单位网厅").click()
    page.locator(".hall-tiles").get_by_role("link", name="招采企业服务").click()
    page.get_by_role("link", name="立即查看").click()
    page.get_by_role("link", name=label).click()


def review(page, base, account, queue_label, number, approve=True):
    login(page, base, account, PASSWORD)
    page.get_by_role("link", name="审核管理").click()
    page.get_by_role("link", name=queue_label).click()
    page.locator("tr", has_text=number).get_by_role("link", name="审核").click()
    page.get_by_label("审核意见").fill("材料齐全，同意")
    page.get_by_role("button", name="审核通过").click()
    expect(page.get_by_text("审核通过").first).to_be_visible()


def test_guide_000_entrustment_certificate_review_and_change(page, live_server, tmp_path):
    maker = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    make_national_cert("国械注进20172400054", "Medtronic Inc.", product_name="植入式心脏起搏器")
    make_national_cert("国械注准20153100011", "某外省医疗器械有限公司", product_name="动脉灌注管")
    make_platform_user("chushen9", REVIEWER_INITIAL)
    make_platform_user("fushen9", REVIEWER_FINAL)
    letter = tmp_path / "authorization-letter.pdf"
    letter.write_bytes(PDF)
    scan = tmp_path / "certificate-scan.pdf"
    scan.write_bytes(PDF + b"scan")

    # 2.2.1 维护委托授权信息
    login(page, live_server, maker.username, PASSWORD)
    open_menu(page, live_server, "耗材委托授权列表")
    page.get_by_role("link", name="新增").click()
    page.get_by_label("境外代理").check()
    page.get_by_label("委托方/境外注册人名称").fill("Medtronic Inc.")
    page.get_by_label("有效期开始").fill("2026-01-01")
    page.get_by_label("有效期结束").fill("2030-12-31")
    page.get_by_label("代理授权书（英文）").set_input_files(str(letter))
    page.get_by_label("代理授权书（中文翻译件）").set_input_files(str(letter))  # same file serves both
    page.get_by_role("button", name="关联注册证").click()
    expect(page.get_by_role("heading", name="选择注册证")).to_be_visible()
    page.get_by_placeholder("注册备案号").fill("国械注进")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#picker")).not_to_contain_text("国械注准20153100011")
    page.get_by_label("国械注进20172400054").check()
    page.get_by_role("button", name="确定").click()
    expect(page.locator("#linked-certificates")).to_contain_text("植入式心脏起搏器")
    page.get_by_role("button", name="提交").click()
    row = page.locator("#entrustments tr", has_text="境外代理")
    expect(row).to_contain_text("待初审")
    expect(row).to_contain_text("1")
    # 撤回按钮：待初审可以撤回修改重新提交
    row.get_by_role("button", name="撤回").click()
    expect(row).to_contain_text("待提交")
    row.get_by_role("link", name="编辑").click()
    page.get_by_role("button", name="提交").click()
    expect(page.locator("#entrustments tr", has_text="境外代理")).to_contain_text("待初审")
    number = page.locator("#entrustments tbody tr td").first.inner_text()

    # 2.2.2 维护注册证信息
    page.goto(live_server + "/procurement/")
    page.get_by_role("link", name="耗材注册证列表").click()
    page.get_by_role("link", name="新增").click()
    page.get_by_label("国械注进20172400054").check()
    page.get_by_role("button", name="确定").click()
    # 点击【新增】按钮进入操作页面，维护好注册证信息，点击保存或者提交: one chosen → its 编辑 page
    expect(page.get_by_text("请维护注册证信息后点击保存或者提交")).to_be_visible()
    expect(page.get_by_text("注册备案号、注册备案产品名称等其它信息均不可修改")).to_be_visible()
    page.get_by_label("联系人").fill("陈联系")
    page.get_by_label("联系电话").fill("13800138001")
    page.get_by_label("注册证扫描件").set_input_files(str(scan))
    page.get_by_role("button", name="保存").click()
    # 编辑按钮 sits in the row's 操作 cell
    row = page.locator("#certificates tr", has_text="国械注进20172400054")
    expect(row.get_by_role("link", name="编辑")).to_be_visible()
    page.get_by_label("国械注进20172400054").check()
    page.get_by_role("button", name="批量提交").click()
    expect(page.get_by_text("批量提交：成功1条")).to_be_visible()
    expect(page.locator("#certificates tr", has_text="国械注进20172400054")).to_contain_text("待初审")

    # reviewers approve both levels
    review(page, live_server, "chushen9", "委托授权待初审", number)
    review(page, live_server, "chushen9", "注册证待初审", "国械注进20172400054")
    review(page, live_server, "fushen9", "委托授权待复审", number)
    review(page, live_server, "fushen9", "注册证待复审", "国械注进20172400054")

    # 变更按钮：已生效的注册信息可进行变更操作
    login(page, live_server, maker.username, PASSWORD)
    open_menu(page, live_server, "耗材注册证列表")
    expect(page.locator("#certificates tr", has_text="国械注进20172400054")).to_contain_text("已生效")
    actions = page.locator("#certificates tr", has_text="国械注进20172400054")
    actions.get_by_role("button", name="变更").click()
    page.get_by_label("联系人").fill("李新联系人")
    page.get_by_role("button", name="提交").click()
    expect(page.locator("#certificates tr", has_text="国械注进20172400054")).to_contain_text("已生效")
    review(page, live_server, "chushen9", "注册证待初审", "国械注进20172400054")
    review(page, live_server, "fushen9", "注册证待复审", "国械注进20172400054")

    login(page, live_server, maker.username, PASSWORD)
    open_menu(page, live_server, "耗材注册证列表")
    page.locator("#certificates tr", has_text="国械注进20172400054").get_by_role("link", name="变更记录").click()
    diff = page.locator("table.diff").last
    expect(diff).to_contain_text("陈联系")
    expect(diff).to_contain_text("李新联系人")

    # 变更 of the 委托授权 to the end: only the end date, the linked certificate kept (issue 12 §1)
    open_menu(page, live_server, "耗材委托授权列表")
    page.locator("#entrustments tr", has_text=number).get_by_role("button", name="变更").click()
    expect(page.locator("#linked-certificates")).to_contain_text("国械注进20172400054")
    page.get_by_label("有效期结束").fill("2032-06-30")
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_text("已提交，等待审核")).to_be_visible()
    row = page.locator("#entrustments tr", has_text=number)
    expect(row).to_contain_text("2030-12-31")  # the effective version stays in force meanwhile
    expect(row).to_contain_text("变更中")
    review(page, live_server, "chushen9", "委托授权待初审", number)
    review(page, live_server, "fushen9", "委托授权待复审", number)
    expect(page.get_by_text("系统错误")).to_have_count(0)
    login(page, live_server, maker.username, PASSWORD)
    open_menu(page, live_server, "耗材委托授权列表")
    row = page.locator("#entrustments tr", has_text=number)
    expect(row).to_contain_text("2032-06-30")
    expect(row).to_contain_text("已生效")
    expect(row).not_to_contain_text("变更中")
    expect(row).to_contain_text("1")  # still one linked certificate
