"""耗材单件列表, 耗材产品列表 (新增包装, 导入, 错误日志导出) and 耗材产品查询 pages."""
import io
import re

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

import app.models.national  # noqa: F401
from app.extensions import db
from app.models import QualCertificate, QualItem, QualProduct, UnitCategory, UnitRole
from app.services import products, qualification as q
from app.workflow import engine
from tests.conftest import IsolatedClient, csrf_token, field_error, login, text
from tests.factories import (PASSWORD, make_certified, make_dictionary, make_national_cert, make_national_item,
                             make_platform_user)

PDF = b"%PDF-1.4\n%%EOF\n"
ITEM = "C0901010100000006626"


@pytest.fixture
def maker_client(client):
    user = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    make_dictionary()
    cert = make_national_cert("粤械注准20152660001", user.unit.name)
    make_national_item(cert, ITEM, name="动脉灌注管", specs=5)
    record = q.add_certificates(user, ["粤械注准20152660001"])[0]
    q.save_certificate(user, record, "张三", "13800138000", "", ("scan.pdf", PDF), submit=True)
    login(client, user.username, PASSWORD)
    client.user = user
    return client


def xlsx(rows):
    wb = Workbook()
    ws = wb.active
    ws.title = "耗材产品包装"
    ws.append(["27位耗材医保编码", "最小计量单位", "最小包装单位", "最小包装转换比", "中包装单位", "中包装转换比"])
    for row in rows:
        ws.append(list(row))
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    return buf


def test_item_add_and_products_page(maker_client):
    empty = text(maker_client.get("/procurement/items/list/"))
    assert ITEM not in empty and "/procurement/items/products/" not in empty  # no item yet, no 维护产品信息 link
    add = text(maker_client.get("/procurement/items/add"))
    assert ITEM in add and "只可选已提交注册证下的单件" in add
    token = csrf_token(maker_client, "/procurement/items/add")
    maker_client.post("/procurement/items/add", data={"csrf_token": token, "codes": [ITEM]})
    html = text(maker_client.get("/procurement/items/list/"))
    assert ITEM in html and "维护产品信息" in html
    item = db.session.scalar(select(QualItem))
    page = text(maker_client.get(f"/procurement/items/products/{item.id}"))
    for words in ("新增包装", "导入", "下载模板", "最小计量单位", "最小包装单位", "最小包装转换比", "中包装单位", "中包装转换比"):
        assert words in page
    resp = maker_client.post(f"/procurement/items/products/{item.id}", data={
        "csrf_token": token, "code": ITEM + "0000001", "min_unit": "支", "pack_unit": "盒", "pack_ratio": "10",
        "mid_unit": "箱", "mid_ratio": "20", "action": "save"}, follow_redirects=True)
    html = text(resp)
    assert "10支/盒" in html and "20盒/箱" in html
    bad = text(maker_client.post(f"/procurement/items/products/{item.id}", data={
        "csrf_token": token, "code": ITEM + "0000002", "min_unit": "支", "pack_unit": "盒", "pack_ratio": "0",
        "mid_unit": "箱", "mid_ratio": "", "action": "save"}))
    assert "大于等于1的整数" in field_error(bad, "pack_ratio")
    assert "同时填写或同时不填" in field_error(bad, "mid_ratio")
    assert db.session.scalar(select(func.count(QualProduct.id))) == 1


def test_import_upload_error_log_and_template(maker_client):
    products.add_items(maker_client.user, [ITEM])
    template = maker_client.get("/procurement/products/template")
    assert template.status_code == 200 and "attachment" in template.headers["Content-Disposition"]
    assert load_workbook(io.BytesIO(template.data)).sheetnames[:2] == ["耗材产品包装", "填写说明"]
    token = csrf_token(maker_client, "/procurement/products/list/")
    rows = [(ITEM + "0000001", "支", "盒", 10, None, None), (ITEM + "0000002", "吨", "盒", 10, None, None)]
    resp = maker_client.post("/procurement/products/list/", data={
        "csrf_token": token, "op": "import", "file": (xlsx(rows), "p.xlsx")}, content_type="multipart/form-data")
    html = text(resp)
    assert "导入完成：成功1条，失败1条" in html and "不在数据字典中" in html and "错误日志导出" in html
    link = re.search(r'href="(/procurement/products/import/[0-9a-f]+/errors)"', html).group(1)
    log = load_workbook(io.BytesIO(maker_client.get(link).data)).active
    assert log.cell(row=2, column=1).value in (3, "3") and "不在数据字典中" in log.cell(row=2, column=8).value


def test_non_excel_upload_is_refused_with_a_message(maker_client):
    token = csrf_token(maker_client, "/procurement/products/list/")
    resp = maker_client.post("/procurement/products/list/", data={
        "csrf_token": token, "op": "import", "file": (io.BytesIO(b"not excel"), "p.xlsx")},
        content_type="multipart/form-data")
    assert "不是有效的Excel" in text(resp)
    assert db.session.scalar(select(func.count(QualProduct.id))) == 0


def test_product_list_edit_submit_and_query(app, maker_client):
    item = products.add_items(maker_client.user, [ITEM])[0]
    record = products.add_packaging(maker_client.user, item, products.Packaging(ITEM + "0000001", "支", "盒", 10))
    token = csrf_token(maker_client, "/procurement/products/list/")
    html = text(maker_client.get("/procurement/products/list/"))
    assert ITEM + "0000001" in html and "10支/盒" in html
    resp = maker_client.post(f"/procurement/products/edit/{record.id}", data={
        "csrf_token": token, "min_unit": "支", "pack_unit": "盒", "pack_ratio": "12", "mid_unit": "", "mid_ratio": "",
        "action": "submit"}, follow_redirects=True)
    assert "已提交，等待审核" in text(resp) and "12支/盒" in text(resp)
    chu, fu = make_platform_user("chu7", "初审员"), make_platform_user("fu7", "复审员")
    db.session.expire_all()
    record = db.session.get(QualProduct, record.id)
    engine.apply(record, "approve", chu)
    with pytest.raises(engine.WorkflowError):  # its certificate is still 待初审
        engine.apply(record, "approve", fu)
    certificate = db.session.scalar(select(QualCertificate))
    engine.apply(certificate, "approve", chu)
    engine.apply(certificate, "approve", fu)
    engine.apply(record, "approve", fu)
    # an effective record is edited only through 变更: the edit page refuses, a forged POST changes nothing
    refused = text(maker_client.get(f"/procurement/products/edit/{record.id}", follow_redirects=True))
    assert "当前状态为“已生效”，不能编辑；已生效的记录请使用“变更”" in refused
    maker_client.post(f"/procurement/products/edit/{record.id}", data={
        "csrf_token": token, "min_unit": "支", "pack_unit": "盒", "pack_ratio": "99", "action": "save"})
    db.session.expire_all()
    assert db.session.get(QualProduct, record.id).pack_ratio == 12
    hospital = make_certified(UnitCategory.DESIGNATED, UnitRole.DESIGNATED_HOSPITAL)
    c = IsolatedClient(app, app.response_class, use_cookies=True)
    login(c, hospital.username, PASSWORD)
    html = text(c.get("/procurement/product-query/list/?name=动脉"))
    assert ITEM + "0000001" in html and maker_client.user.unit.name in html and "12支/盒" in html
    assert ITEM not in text(c.get("/procurement/product-query/list/?code=C99"))
    export = c.get("/procurement/product-query/export?code=C09")
    ws = load_workbook(io.BytesIO(export.data)).active
    assert ws.cell(row=2, column=1).value == ITEM + "0000001"


def test_product_query_is_limited_to_roles_whose_ceiling_has_it(app, restore_ceilings):
    from app.models import RoleCeiling
    from app.security.roles import sync_unit_role

    hospital = make_certified(UnitCategory.DESIGNATED, UnitRole.DESIGNATED_HOSPITAL)
    db.session.execute(RoleCeiling.__table__.delete().where(RoleCeiling.unit_role == "designated_hospital",
                                                            RoleCeiling.menu_key == "consumable_product_query"))
    db.session.commit()
    sync_unit_role(UnitRole.DESIGNATED_HOSPITAL)
    c = IsolatedClient(app, app.response_class, use_cookies=True)
    login(c, hospital.username, PASSWORD)
    assert c.get("/procurement/product-query/list/").status_code in (302, 403)


def test_item_codes_cannot_be_edited_or_items_deleted_generically(maker_client):
    item = products.add_items(maker_client.user, [ITEM])[0]
    token = csrf_token(maker_client, "/procurement/items/add")
    assert maker_client.post(f"/procurement/items/edit/{item.id}", data={"csrf_token": token,
                                                                         "code": "C0000000000000000000"}).status_code == 404
    assert maker_client.post(f"/procurement/items/delete/{item.id}", data={"csrf_token": token}).status_code == 404
    assert maker_client.get(f"/procurement/items/show/{item.id}").status_code == 302
    db.session.expire_all()
    assert db.session.get(QualItem, item.id).code == ITEM


def test_empty_workbook_is_refused(maker_client):
    wb = Workbook()
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    token = csrf_token(maker_client, "/procurement/products/list/")
    resp = maker_client.post("/procurement/products/list/", data={
        "csrf_token": token, "op": "import", "file": (buf, "empty.xlsx")}, content_type="multipart/form-data")
    assert "没有数据" in text(resp)


def row_html(html, pk):
    """The <tr> of one product row (its cells, 操作 included)."""
    m = re.search(r'<tr data-id="%s"[^>]*>(.*?)</tr>' % pk, html, re.S)
    assert m, f"no row {pk}"
    return m.group(1)


def test_row_buttons_sit_in_each_rows_operation_cell(maker_client):
    item = products.add_items(maker_client.user, [ITEM])[0]
    draft = products.add_packaging(maker_client.user, item, products.Packaging(ITEM + "0000001", "支", "盒", 10))
    pending = products.add_packaging(maker_client.user, item, products.Packaging(ITEM + "0000002", "支", "盒", 5),
                                     submit=True)
    for url in ("/procurement/products/list/", f"/procurement/items/products/{item.id}"):
        html = text(maker_client.get(url))
        assert 'class="row-actions"' in html and '<div class="row-actions"' not in html  # no block under the table
        row = row_html(html, draft.id)
        for words in ("查看", "编辑", "变更记录", f"/procurement/products/edit/{draft.id}",
                      f"/procurement/products/action/remove/{draft.id}", 'name="rowid"', 'form="product-batch"'):
            assert words in row, (url, words)
        row = row_html(html, pending.id)
        assert f"/procurement/products/action/withdraw/{pending.id}" in row and ">撤回<" in row
        assert "/procurement/products/edit/" not in row and "/action/remove/" not in row and 'name="rowid"' not in row
        # the 批量提交 form is not wrapped round the row forms (forms cannot nest)
        batch = re.search(r'<form[^>]*id="product-batch".*?</form>', html, re.S).group(0)
        assert "<table" not in batch and "/withdraw/" not in batch
    list_row = row_html(text(maker_client.get("/procurement/products/list/")), draft.id)
    assert ">删除<" in list_row
    item_row = row_html(text(maker_client.get(f"/procurement/items/products/{item.id}")), draft.id)
    assert ">撤回<" in item_row and ">删除<" not in item_row and "撤回并删除该包装信息？" in item_row


def test_new_packaging_is_a_button_opening_the_form(maker_client):
    item = products.add_items(maker_client.user, [ITEM])[0]
    html = text(maker_client.get(f"/procurement/items/products/{item.id}"))
    assert re.search(r'<button type="button"[^>]*data-target="#packaging-panel"[^>]*>新增包装</button>', html)
    assert '<div id="packaging-panel" class="collapse">' in html  # closed until the button opens it
    token = csrf_token(maker_client, f"/procurement/items/products/{item.id}")
    bad = text(maker_client.post(f"/procurement/items/products/{item.id}", data={
        "csrf_token": token, "code": ITEM + "0000001", "min_unit": "支", "pack_unit": "盒", "pack_ratio": "0",
        "action": "save"}))
    assert '<div id="packaging-panel" class="collapse in">' in bad  # errors stay visible


def test_withdrawing_a_draft_packaging_removes_it(maker_client):
    item = products.add_items(maker_client.user, [ITEM])[0]
    keep = products.add_packaging(maker_client.user, item, products.Packaging(ITEM + "0000001", "支", "盒", 10))
    unwanted = products.add_packaging(maker_client.user, item, products.Packaging(ITEM + "0000002", "个", "袋", 5))
    page = f"/procurement/items/products/{item.id}"
    token = csrf_token(maker_client, page)
    resp = maker_client.post(f"/procurement/products/action/remove/{unwanted.id}", data={"csrf_token": token, "back": page})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(page)
    html = text(maker_client.get(page))
    assert "已删除该包装信息" in html and f'data-id="{unwanted.id}"' not in html and f'data-id="{keep.id}"' in html
    db.session.expire_all()
    assert db.session.get(QualProduct, unwanted.id) is None and db.session.get(QualProduct, keep.id) is not None
    # an outside address in ``back`` is not followed
    resp = maker_client.post(f"/procurement/products/action/remove/{keep.id}",
                             data={"csrf_token": token, "back": "//evil.example/"})
    assert resp.headers["Location"].endswith("/procurement/products/list/")


def test_pending_packaging_withdraws_to_draft_and_back_to_its_page(maker_client):
    item = products.add_items(maker_client.user, [ITEM])[0]
    record = products.add_packaging(maker_client.user, item, products.Packaging(ITEM + "0000001", "支", "盒", 10),
                                    submit=True)
    page = f"/procurement/items/products/{item.id}"
    token = csrf_token(maker_client, page)
    resp = maker_client.post(f"/procurement/products/action/withdraw/{record.id}",
                             data={"csrf_token": token, "version": record.version, "back": page})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(page)
    db.session.expire_all()
    assert db.session.get(QualProduct, record.id).state == "draft"
    row = row_html(text(maker_client.get(page)), record.id)
    # submitted once: it is edited and submitted again, no longer removed
    assert "编辑" in row and "/delete/" not in row


def test_product_detail_shows_every_packaging_field(maker_client):
    item = products.add_items(maker_client.user, [ITEM])[0]
    record = products.add_packaging(maker_client.user, item,
                                    products.Packaging(ITEM + "0000002", "支", "盒", 10, "箱", 20))
    html = text(maker_client.get(f"/procurement/products/show/{record.id}"))
    for label, value in (("20位耗材医保编码", ITEM), ("单件名称", "动脉灌注管"), ("27位耗材医保编码", ITEM + "0000002"),
                         ("规格", "20Fr"), ("型号", "M-2"), ("最小计量单位", "支"), ("最小包装单位", "盒"),
                         ("最小包装转换比", "10"), ("最小包装规格", "10支/盒"), ("中包装单位", "箱"),
                         ("中包装转换比", "20"), ("中包装规格", "20盒/箱"), ("审核状态", "待提交")):
        assert re.search(r"<th>%s</th><td>[^<]*(<span[^>]*>)?\s*%s" % (label, re.escape(value)), html), label


def test_packaging_form_with_odd_digits_answers_at_the_field(maker_client):
    """新增包装 with a ratio pasted from Word (⑽, ፩): a message at the field, no 500, nothing saved."""
    item = products.add_items(maker_client.user, [ITEM])[0]
    token = csrf_token(maker_client, f"/procurement/items/products/{item.id}")
    form = {"csrf_token": token, "code": ITEM + "0000001", "min_unit": "支", "pack_unit": "盒",
            "mid_unit": "箱", "action": "save"}
    resp = maker_client.post(f"/procurement/items/products/{item.id}", data={**form, "pack_ratio": "⑽",
                                                                              "mid_ratio": "፩"})
    assert resp.status_code == 200
    assert "大于等于1的整数" in field_error(text(resp), "pack_ratio")
    assert "大于等于1的整数" in field_error(text(resp), "mid_ratio")
    assert db.session.scalar(select(func.count(QualProduct.id))) == 0
    resp = maker_client.post(f"/procurement/items/products/{item.id}", data={**form, "pack_ratio": "１０",
                                                                              "mid_ratio": "２０"},
                             follow_redirects=True)
    assert "10支/盒" in text(resp) and "20盒/箱" in text(resp)


def test_import_with_odd_digits_lists_the_row(maker_client):
    products.add_items(maker_client.user, [ITEM])
    token = csrf_token(maker_client, "/procurement/products/list/")
    rows = [(ITEM + "0000001", "支", "盒", "⑽", None, None), (ITEM + "0000002", "支", "盒", "１２", None, None)]
    resp = maker_client.post("/procurement/products/list/", data={
        "csrf_token": token, "op": "import", "file": (xlsx(rows), "p.xlsx")}, content_type="multipart/form-data")
    html = text(resp)
    assert resp.status_code == 200 and "导入完成：成功1条，失败1条" in html
    assert "最小包装转换比必须为大于等于1的整数" in html
