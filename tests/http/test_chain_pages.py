"""The qualification chain on the pages (issue 12 §2–§5): certificate state on the product review page,
flags and expiry marks on the unit's lists, 撤销变更 / 删除 / 停用, reviewer queues, pickers, import box."""
import datetime as dt
import io
import re

import pytest
from sqlalchemy import func, select

import app.models.national  # noqa: F401
from app.extensions import db
from app.models import Entrustment, QualCertificate, QualItem, QualProduct, UnitCategory, UnitRole
from app.models.national import NationalCertificate
from app.security.roles import REVIEWER_FINAL, REVIEWER_INITIAL
from app.services import expiry, products, qualification as q
from app.workflow import engine
from tests.conftest import IsolatedClient, csrf_token, login, text
from tests.factories import (PASSWORD, make_certified, make_dictionary, make_national_cert, make_national_item,
                             make_platform_user)

PDF = b"%PDF-1.4\n%%EOF\n"
TODAY = dt.date.today()
OWN, ITEM = "粤械注准20152660001", "C0901010100000006626"
IMPORTED = "国械注进20172400054"


@pytest.fixture
def world(app, client):
    maker = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    make_dictionary()
    make_national_item(make_national_cert(OWN, maker.unit.name, product_name="动脉灌注管"), ITEM, specs=3)
    make_national_cert(IMPORTED, "Medtronic Inc.", product_name="心脏起搏器")
    chu, fu = make_platform_user("chu_pg", REVIEWER_INITIAL), make_platform_user("fu_pg", REVIEWER_FINAL)
    login(client, maker.username, PASSWORD)
    clients = {}
    for name in ("chu_pg", "fu_pg"):
        c = IsolatedClient(app, app.response_class, use_cookies=True)
        login(c, name, PASSWORD)
        clients[name] = c
    return {"maker": maker, "client": client, "chu": chu, "fu": fu, **clients}


def certificate(maker, submit=True):
    record = q.add_certificates(maker, [OWN])[0]
    q.save_certificate(maker, record, "张三", "13800138000", "", ("scan.pdf", PDF), submit=submit)
    return record


def approve(record, w):
    engine.apply(record, "approve", w["chu"])
    engine.apply(record, "approve", w["fu"])
    return record


def packaging(maker, n=1, submit=True):
    item = db.session.scalar(select(QualItem)) or products.add_items(maker, [ITEM])[0]
    return products.add_packaging(maker, item, products.Packaging(f"{ITEM}{n:07d}", "支", "盒", 10, "箱", 20),
                                  submit=submit)


def hospital_query(app, code=ITEM):
    hospital = make_certified(UnitCategory.DESIGNATED, UnitRole.DESIGNATED_HOSPITAL)
    c = IsolatedClient(app, app.response_class, use_cookies=True)
    login(c, hospital.username, PASSWORD)
    return text(c.get(f"/procurement/product-query/list/?code={code}"))


def test_product_review_page_shows_the_certificate_and_refuses_approval(world):
    cert = certificate(world["maker"])
    record = packaging(world["maker"])
    engine.apply(record, "approve", world["chu"])
    fu = world["fu_pg"]
    page = text(fu.get(f"/review/product/record/{record.id}"))
    for words in ("注册证状态", "待初审", "证书失效", "尚未生效", "动脉灌注管", "10Fr", "M-1", "最小包装转换比",
                  "10支/盒", "20盒/箱", "返回审核列表"):
        assert words in page, words
    assert re.search(r'<th>时间</th><th>操作人</th>', page)  # the history table has headers
    token = csrf_token(fu, f"/review/product/record/{record.id}")
    resp = fu.post(f"/review/product/record/{record.id}/decide", data={"csrf_token": token, "action": "approve"},
                   follow_redirects=True)
    assert "注册证未生效，不能审核通过" in text(resp) and "当前为“待初审”" in text(resp)
    db.session.expire_all()
    assert db.session.get(QualProduct, record.id).state == "pending_final"
    approve(cert, world)
    assert "注册证有效" in text(fu.get(f"/review/product/record/{record.id}"))
    fu.post(f"/review/product/record/{record.id}/decide", data={"csrf_token": token, "action": "approve"})
    db.session.expire_all()
    assert db.session.get(QualProduct, record.id).state == "effective"


def test_expired_certificate_flags_products_and_leaves_the_query(app, world):
    approve(certificate(world["maker"]), world)
    approve(packaging(world["maker"]), world)
    assert ITEM + "0000001" in hospital_query(app)
    national = db.session.scalar(select(NationalCertificate).where(NationalCertificate.number == OWN))
    national.valid_to = TODAY - dt.timedelta(days=1)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["qualification", "expire"])
    assert result.exit_code == 0 and f"expired: 注册证{OWN}" in result.output and "product flags changed: 1" in result.output
    html = text(world["client"].get("/procurement/products/list/"))
    assert 'data-flag="expired"' in html and "证书过期" in html
    assert 'data-expiry="expired"' in text(world["client"].get("/procurement/certificates/list/"))
    assert "证书过期" in text(world["client"].get("/procurement/items/list/"))
    cert = db.session.scalar(select(QualCertificate))
    assert 'data-expiry="expired"' in text(world["client"].get(f"/procurement/certificates/show/{cert.id}"))
    assert 'data-expiry="expired"' in text(world["fu_pg"].get(f"/review/certificate/record/{cert.id}"))
    assert ITEM + "0000001" not in hospital_query(app)


def test_lists_mark_what_expires_soon(world):
    maker = world["maker"]
    record = q.save_entrustment(maker, None, q.EntrustmentInput(
        kind="agent", principal_name="Medtronic Inc.", valid_from=TODAY, valid_to=TODAY + dt.timedelta(days=25),
        cert_nos=[IMPORTED], uploads={"letter_en": ("en.pdf", PDF), "letter_zh": ("zh.pdf", PDF)}), submit=True)
    approve(record, world)
    html = text(world["client"].get("/procurement/entrustments/list/"))
    assert "25天后到期" in html and 'id="expiring-notice"' in html and record.number in html
    expiry.run()
    assert "剩余25天" in db.session.scalar(select(app_sms_content()))


def app_sms_content():
    from app.models import SmsMessage

    return SmsMessage.content


def test_cancel_change_and_delete_draft_through_pages(world):
    client, maker = world["client"], world["maker"]
    cert = approve(certificate(maker), world)
    token = csrf_token(client, "/procurement/certificates/list/")
    client.post(f"/procurement/certificates/action/change/{cert.id}", data={"csrf_token": token})
    revision = engine.pending_revision(cert)
    html = text(client.get("/procurement/certificates/list/"))
    assert "撤销变更" in html
    resp = client.post(f"/procurement/certificates/action/cancel_change/{revision.id}", data={"csrf_token": token},
                       follow_redirects=True)
    assert "已撤销变更" in text(resp)
    db.session.expire_all()
    assert db.session.scalar(select(func.count(QualCertificate.id))) == 1
    # a never-submitted entrustment draft: 删除 on the list
    draft = q.save_entrustment(maker, None, q.EntrustmentInput(
        kind="contract", principal_name="某委托方", valid_from=TODAY, valid_to=TODAY + dt.timedelta(days=30),
        cert_nos=[], uploads={"proof": ("proof.pdf", PDF)}))
    html = text(client.get("/procurement/entrustments/list/"))
    assert f'/procurement/entrustments/action/remove/{draft.id}' in html
    resp = client.post(f"/procurement/entrustments/action/remove/{draft.id}", data={"csrf_token": token},
                       follow_redirects=True)
    assert "已删除" in text(resp)
    assert db.session.scalar(select(func.count(Entrustment.id))) == 0
    # a submitted record offers no 删除 and a forged POST is refused
    resp = client.post(f"/procurement/certificates/action/remove/{cert.id}", data={"csrf_token": token},
                       follow_redirects=True)
    assert "只能删除从未提交过的" in text(resp)


def test_link_from_the_add_page_says_a_draft_was_saved_and_can_be_abandoned(world):
    client = world["client"]
    token = csrf_token(client, "/procurement/entrustments/add")
    resp = client.post("/procurement/entrustments/add", data={
        "csrf_token": token, "kind": "contract", "principal_name": "某委托方", "valid_from": TODAY.isoformat(),
        "valid_to": (TODAY + dt.timedelta(days=30)).isoformat(), "action": "link",
        "proof": (io.BytesIO(PDF), "proof.pdf")},
        content_type="multipart/form-data", follow_redirects=True)
    html = text(resp)
    assert "已保存为待提交的委托授权草稿" in html and "放弃新增" in html
    record = db.session.scalar(select(Entrustment))
    client.post(f"/procurement/entrustments/action/remove/{record.id}", data={"csrf_token": token})
    assert db.session.scalar(select(func.count(Entrustment.id))) == 0


def test_remove_item_and_deactivate_packaging_through_pages(app, world):
    client, maker = world["client"], world["maker"]
    approve(certificate(maker), world)
    item = products.add_items(maker, [ITEM])[0]
    token = csrf_token(client, "/procurement/items/list/")
    assert f"/procurement/items/remove/{item.id}" in text(client.get("/procurement/items/list/"))
    record = approve(packaging(maker), world)
    assert f"/procurement/items/remove/{item.id}" not in text(client.get("/procurement/items/list/"))
    resp = client.post(f"/procurement/items/remove/{item.id}", data={"csrf_token": token}, follow_redirects=True)
    assert "不能删除" in text(resp)
    html = text(client.get("/procurement/products/list/"))
    assert f"/procurement/products/deactivate/{record.id}" in html
    resp = client.post(f"/procurement/products/deactivate/{record.id}", data={"csrf_token": token},
                       follow_redirects=True)
    assert "已提交停用申请" in text(resp) and "停用申请" in text(resp)
    request = engine.pending_revision(record)
    queue = text(world["chu_pg"].get("/review/product/initial/"))
    assert "停用申请" in queue
    approve(request, world)
    db.session.expire_all()
    assert db.session.get(QualProduct, record.id).state == "deactivated"
    assert "已停用" in text(client.get("/procurement/products/list/"))
    assert ITEM + "0000001" not in hospital_query(app)


def test_reviewer_queue_filters_select_all_and_back_link(world):
    maker = world["maker"]
    certificate(maker)
    chu = world["chu_pg"]
    index = text(chu.get("/review/"))
    assert "注册证待初审" in index and "/review/certificate/initial/" in index
    html = text(chu.get("/review/certificate/initial/"))
    assert OWN in html and 'data-select-all="rowid"' in html and "返回审核管理" in html
    assert OWN in text(chu.get(f"/review/certificate/initial/?unit={maker.unit.name[:4]}&number=2015266"))
    assert OWN not in text(chu.get("/review/certificate/initial/?unit=没有这个单位"))
    assert OWN not in text(chu.get("/review/certificate/initial/?number=国械注进"))
    tomorrow = (TODAY + dt.timedelta(days=1)).isoformat()
    assert OWN not in text(chu.get(f"/review/certificate/initial/?from={tomorrow}"))
    assert OWN in text(chu.get(f"/review/certificate/initial/?from={TODAY.isoformat()}&to={TODAY.isoformat()}"))
    assert chu.get("/review/certificate/initial/?from=not-a-date").status_code == 200


def test_pickers_search_and_mark_expiry(world):
    client, maker = world["client"], world["maker"]
    add = text(client.get("/procurement/certificates/add"))
    assert OWN in add and 'data-select-all="cert_nos"' in add
    assert OWN not in text(client.get("/procurement/certificates/add?number=国械注进"))
    assert OWN in text(client.get("/procurement/certificates/add?name=灌注"))
    national = db.session.scalar(select(NationalCertificate).where(NationalCertificate.number == IMPORTED))
    national.valid_to = TODAY - dt.timedelta(days=1)
    db.session.commit()
    draft = q.save_entrustment(maker, None, q.EntrustmentInput(
        kind="agent", principal_name="Medtronic Inc.", valid_from=TODAY, valid_to=TODAY + dt.timedelta(days=30),
        cert_nos=[], uploads={"letter_en": ("en.pdf", PDF), "letter_zh": ("zh.pdf", PDF)}))
    picker = text(client.get(f"/procurement/entrustments/link/{draft.id}"))
    row = re.search(r'<tr data-number="%s">.*?</tr>' % IMPORTED, picker, re.S).group(0)
    assert "已过期" in row and "disabled" in row
    token = csrf_token(client, f"/procurement/entrustments/link/{draft.id}")
    resp = client.post(f"/procurement/entrustments/link/{draft.id}", data={"csrf_token": token,
                                                                           "cert_nos": [IMPORTED]})
    assert "已过期" in text(resp)
    db.session.expire_all()
    assert db.session.get(Entrustment, draft.id).cert_numbers == []
    certificate(maker)
    items = text(client.get("/procurement/items/add?code=C0901"))
    assert ITEM in items
    assert ITEM not in text(client.get("/procurement/items/add?code=C17"))
    assert ITEM in text(client.get(f"/procurement/items/add?cert_no={OWN}"))


def test_packaging_form_has_live_specs_and_import_box_a_label_and_hint(world):
    certificate(world["maker"])
    item = products.add_items(world["maker"], [ITEM])[0]
    html = text(world["client"].get(f"/procurement/items/products/{item.id}"))
    assert 'data-spec="pack"' in html and 'data-spec="mid"' in html
    assert re.search(r'<label for="import-file[^"]*">选择Excel文件</label>', html)
    assert "仅支持 .xlsx 文件，不超过5MB，最多20000行" in html
    assert "js/qualification.js" in html
    assert world["client"].get("/static/js/qualification.js").status_code == 200


def test_everyday_words_login_scope_product_list_column_and_hall_bar(app, world):
    anonymous = IsolatedClient(app, app.response_class, use_cookies=True)
    login_page = text(anonymous.get("/login/"))
    assert "单位账号、经办人（手机号）以及平台账号（审核人员、平台管理员）登录" in login_page
    client = world["client"]
    certificate(world["maker"])
    packaging(world["maker"], submit=False)
    listing = text(client.get("/procurement/products/list/"))
    assert "<th>最小使用单位</th>" in listing and "<th>最小计量单位</th>" not in listing  # guide 000 §2.2.3 4
    item = db.session.scalar(select(QualItem))
    assert "<th>最小计量单位</th>" in text(client.get(f"/procurement/items/products/{item.id}"))
    home = text(client.get("/"))
    assert "进入单位网厅" in home and 'id="back-to-hall"' not in home  # not on the blue banner
    token = csrf_token(client, "/procurement/certificates/list/")
    flashed = text(client.post("/procurement/certificates/action_post", data={"csrf_token": token, "action": "submit"},
                               follow_redirects=True))
    bar = flashed.index('id="back-to-hall"')
    messages = flashed.index('class="col-md-12 flash-messages"')
    alert = flashed.index("请先勾选需要提交的注册证")
    assert bar < messages < alert  # the link on its own bar, the alerts in a column of their own
