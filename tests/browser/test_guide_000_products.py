"""Guide 000 section 2.2.3 (维护耗材产品信息) walked as written, through review to 耗材产品查询."""
from openpyxl import load_workbook
from playwright.sync_api import expect

import app.models.national  # noqa: F401
from app.models import UnitCategory, UnitRole
from app.security.roles import REVIEWER_FINAL, REVIEWER_INITIAL
from app.services import qualification as q
from app.workflow import engine
from tests.browser.helpers import login
from tests.factories import (make_certified, make_dictionary, make_national_cert, make_national_item,
                             make_platform_user)

PDF = b"%PDF-1.4\n%%EOF\n"
ITEM = "C0901010100000006626"


def open_menu(page, base, label):
    page.goto(base + "/")
    page.get_by_role("link", name="进入单位网厅").click()
    page.locator(".hall-tiles").get_by_role("link", name="招采企业服务").click()
    page.get_by_role("link", name="立即查看").click()
    page.get_by_role("link", name=label).click()


def approve_all(page, base, account, queue):
    login(page, base, account)
    page.get_by_role("link", name="审核管理").click()
    page.get_by_role("link", name=queue).click()
    expect(page.get_by_role("heading", name=f"耗材产品 · {queue[2:]}")).to_be_visible()
    boxes = page.locator("#queue input[name=rowid]")
    expect(boxes).to_have_count(18)
    page.locator("#queue").get_by_label("全选").check()  # 全选 ticks every row
    expect(page.locator("#queue input[name=rowid]:checked")).to_have_count(18)
    page.get_by_role("button", name="批量审核通过").click()
    expect(page.get_by_text("批量审核通过：成功18条")).to_be_visible()


def test_guide_000_section_2_2_3(page, live_server, tmp_path):
    maker = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    make_dictionary()
    cert = make_national_cert("粤械注准20152660001", maker.unit.name, product_name="动脉灌注管")
    make_national_item(cert, ITEM, name="动脉灌注管", specs=25)
    record = q.add_certificates(maker, ["粤械注准20152660001"])[0]
    q.save_certificate(maker, record, "张三", "13800138000", "", ("scan.pdf", PDF), submit=True)  # 已提交注册证
    chu = make_platform_user("chushen7", REVIEWER_INITIAL)
    fu = make_platform_user("fushen7", REVIEWER_FINAL)
    for who in (chu, fu):  # products become effective only under an effective certificate (issue 12)
        engine.apply(record, "approve", who)
    hospital = make_certified(UnitCategory.DESIGNATED, UnitRole.DESIGNATED_HOSPITAL)

    login(page, live_server, maker.username)
    # 【耗材单件列表】→ 新增 → 选择需要的单件信息 → 确定
    open_menu(page, live_server, "耗材单件列表")
    page.get_by_role("link", name="新增").click()
    page.get_by_label(ITEM).check()
    page.get_by_role("button", name="确定").click()
    expect(page.locator("#items")).to_contain_text(ITEM)
    # 【维护产品信息】→ 新增包装
    page.locator("#items tr", has_text=ITEM).get_by_role("link", name="维护产品信息").click()
    expect(page.get_by_label("最小包装转换比")).to_be_hidden()
    page.get_by_role("button", name="新增包装").click()
    page.get_by_label("规格型号（27位耗材医保编码）").select_option(ITEM + "0000001")
    page.get_by_label("最小计量单位").select_option("支")
    page.get_by_label("最小包装单位").select_option("盒")
    page.get_by_label("最小包装转换比").fill("10")
    page.get_by_label("中包装单位").select_option("箱")
    page.get_by_label("中包装转换比").fill("20")
    # 最小包装规格 / 中包装规格 are generated while the user types
    expect(page.locator("#pack-spec-preview")).to_have_text("10支/盒")
    expect(page.locator("#mid-spec-preview")).to_have_text("20盒/箱")
    page.get_by_role("button", name="保存").click()
    expect(page.locator("#products")).to_contain_text("10支/盒")
    expect(page.locator("#products")).to_contain_text("20盒/箱")
    # 可以撤回不需要的包装信息
    page.get_by_role("button", name="新增包装").click()
    page.get_by_label("规格型号（27位耗材医保编码）").select_option(ITEM + "0000025")
    page.get_by_label("最小计量单位").select_option("个")
    page.get_by_label("最小包装单位").select_option("袋")
    page.get_by_label("最小包装转换比").fill("5")
    page.get_by_role("button", name="保存").click()
    unwanted = page.locator("#products tr", has_text=ITEM + "0000025")
    expect(unwanted).to_contain_text("5个/袋")
    page.once("dialog", lambda dialog: dialog.accept())
    unwanted.get_by_role("button", name="撤回").click()
    expect(page.get_by_text("已删除该包装信息")).to_be_visible()
    expect(page.locator("#products")).not_to_contain_text(ITEM + "0000025")
    expect(page.locator("#products tr", has_text=ITEM + "0000001").get_by_role("link", name="编辑")).to_be_visible()
    # 下载模板, fill 20 rows of which 3 are wrong, 导入
    with page.expect_download() as info:
        page.get_by_role("link", name="下载模板").click()
    template = tmp_path / "template.xlsx"
    info.value.save_as(template)
    wb = load_workbook(template)
    ws = wb["耗材产品包装"]
    for n in range(2, 19):  # 17 good rows
        ws.append([f"{ITEM}{n:07d}", "支", "盒", 10, "箱", 20])
    ws.append([f"{ITEM}0000019", "吨", "盒", 10, None, None])  # unit not in the dictionary
    ws.append([f"{ITEM}0000020", "支", "盒", 0, None, None])  # ratio 0
    ws.append([f"{ITEM}0000021", "支", "盒", 10, "箱", None])  # mid unit without ratio
    filled = tmp_path / "filled.xlsx"
    wb.save(filled)
    page.get_by_label("选择Excel文件").set_input_files(str(filled))
    page.get_by_role("button", name="导入").click()
    expect(page.locator("#import-saved")).to_have_text("17")
    expect(page.locator("#import-rejected")).to_have_text("3")
    # the rejected rows on the page: each row's code and its reason
    rejected = page.locator("#rejected-rows")
    expect(rejected).to_contain_text(f"{ITEM}0000019")
    expect(rejected).to_contain_text("不在数据字典中")
    expect(rejected).to_contain_text(f"{ITEM}0000021")
    # 错误日志导出
    with page.expect_download() as info:
        page.get_by_role("link", name="错误日志导出").click()
    log_path = tmp_path / "errors.xlsx"
    info.value.save_as(log_path)
    log = load_workbook(log_path).active
    headers = [c.value for c in log[1]]
    assert headers[0] == "行号" and headers[-1] == "错误原因"
    reasons = [row[-1].value for row in log.iter_rows(min_row=2)]
    assert len(reasons) == 3
    assert "不在数据字典中" in reasons[0] and "大于等于1的整数" in reasons[1] and "同时填写" in reasons[2]
    # 提交 (批量提交) from 耗材产品列表
    page.goto(live_server + "/procurement/")
    page.get_by_role("link", name="耗材产品列表").click()
    boxes = page.locator("#products input[name=rowid]")
    expect(boxes).to_have_count(18)
    page.locator("#products").get_by_label("全选").check()
    page.get_by_role("button", name="批量提交").click()
    expect(page.get_by_text("批量提交：成功18条")).to_be_visible()
    # 返回服务大厅 sits on its own bar, above (not inside) the message box
    bar = page.locator("#back-to-hall").bounding_box()
    alert = page.locator(".alert", has_text="批量提交：成功18条").bounding_box()
    assert bar["y"] + bar["height"] <= alert["y"] + 1
    # reviewers approve
    approve_all(page, live_server, "chushen7", "产品待初审")
    approve_all(page, live_server, "fushen7", "产品待复审")
    # a designated hospital finds them under 耗材产品查询
    login(page, live_server, hospital.username)
    open_menu(page, live_server, "耗材产品查询")
    page.get_by_placeholder("单件名称").fill("动脉灌注管")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#query-results tbody tr")).to_have_count(18)
    expect(page.locator("#query-results")).to_contain_text(maker.unit.name)

    # 变更 of a product to the end: the ratio of one packaging, through both reviews
    login(page, live_server, maker.username)
    open_menu(page, live_server, "耗材产品列表")
    page.locator("#products tr", has_text=ITEM + "0000001").get_by_role("button", name="变更").click()
    page.get_by_label("最小包装转换比").fill("１２")  # pasted from WPS with full-width digits
    expect(page.locator("#pack-spec-preview")).to_have_text("12支/盒")
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_text("已提交，等待审核")).to_be_visible()
    row = page.locator("#products tr", has_text=ITEM + "0000001")
    expect(row).to_contain_text("10支/盒")  # in force until the change is approved
    for account, queue in (("chushen7", "产品待初审"), ("fushen7", "产品待复审")):
        login(page, live_server, account)
        page.get_by_role("link", name="审核管理").click()
        page.get_by_role("link", name=queue).click()
        page.locator("#queue tr", has_text=ITEM + "0000001").get_by_role("link", name="审核").click()
        expect(page.locator("#certificate-standing")).to_contain_text("注册证有效")
        expect(page.locator("#record")).to_contain_text("动脉灌注管")
        page.get_by_role("button", name="审核通过").click()
        expect(page.get_by_text("审核通过").first).to_be_visible()
    login(page, live_server, maker.username)
    open_menu(page, live_server, "耗材产品列表")
    row = page.locator("#products tr", has_text=ITEM + "0000001")
    expect(row).to_contain_text("12支/盒")
    expect(row).to_contain_text("已生效")
    # 停用 of a packaging no longer produced: a request through review, then gone from 耗材产品查询
    row = page.locator("#products tr", has_text=ITEM + "0000002")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="停用").click()
    expect(page.get_by_text("已提交停用申请")).to_be_visible()
    for account, queue in (("chushen7", "产品待初审"), ("fushen7", "产品待复审")):
        login(page, live_server, account)
        page.get_by_role("link", name="审核管理").click()
        page.get_by_role("link", name=queue).click()
        queue_row = page.locator("#queue tr", has_text=ITEM + "0000002")
        expect(queue_row).to_contain_text("停用申请")
        queue_row.get_by_role("link", name="审核").click()
        page.get_by_role("button", name="审核通过").click()
        expect(page.get_by_text("审核通过").first).to_be_visible()
    login(page, live_server, hospital.username)
    open_menu(page, live_server, "耗材产品查询")
    page.get_by_placeholder("单件名称").fill("动脉灌注管")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#query-results tbody tr")).to_have_count(17)
    expect(page.locator("#query-results")).not_to_contain_text(ITEM + "0000002")
