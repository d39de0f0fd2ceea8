"""耗材委托授权列表, 耗材注册证列表 and 审核管理 pages through the test client."""
import io
import re

import pytest
from sqlalchemy import select

import app.models.national  # noqa: F401
from app.extensions import db
from app.models import Entrustment, QualCertificate, UnitCategory, UnitRole
from app.security.roles import REVIEWER_FINAL, REVIEWER_INITIAL
from tests.conftest import IsolatedClient, csrf_token, field_error, login, text
from tests.factories import PASSWORD, make_certified, make_national_cert, make_platform_user

PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def maker_client(client):
    user = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    make_national_cert("国械注进20172400054", "Medtronic Inc.", product_name="心脏起搏器")
    make_national_cert("国械注准20153100011", "某外省医疗器械有限公司")
    make_national_cert("粤械注准20152660001", user.unit.name, product_name="医用导管")
    login(client, user.username, PASSWORD)
    client.user = user
    return client


def entrustment_form(token, **extra):
    data = {"csrf_token": token, "kind": "agent", "principal_name": "Medtronic Inc.",
            "valid_from": "2026-01-01", "valid_to": "2030-12-31", "action": "save",
            "letter_en": (io.BytesIO(PDF), "letter-en.pdf"), "letter_zh": (io.BytesIO(PDF), "letter-zh.pdf")}
    data.update(extra)
    return data


def test_list_pages_name_every_guide_button(maker_client):
    html = text(maker_client.get("/procurement/entrustments/list/"))
    for words in ("耗材委托授权列表", "新增", "委托授权编号", "委托授权类型", "关联注册证数", "委托授权有效时间", "审核状态"):
        assert words in html
    html = text(maker_client.get("/procurement/certificates/list/"))
    for words in ("耗材注册证列表", "新增", "批量提交", "请前往国家平台进行增补"):
        assert words in html
    html = text(maker_client.get("/procurement/"))
    assert 'href="/procurement/entrustments/list/"' in html and 'href="/procurement/certificates/list/"' in html


def test_entrustment_link_submit_withdraw_through_pages(maker_client):
    token = csrf_token(maker_client, "/procurement/entrustments/add")
    resp = maker_client.post("/procurement/entrustments/add", data=entrustment_form(token, action="link"),
                             content_type="multipart/form-data")
    assert resp.status_code == 302 and "/link/" in resp.headers["Location"]
    record = db.session.scalar(select(Entrustment))
    picker = text(maker_client.get(f"/procurement/entrustments/link/{record.id}"))
    assert "选择注册证" in picker and "国械注进20172400054" in picker
    assert "国械注准20153100011" not in picker  # 境外代理: imported certificates only
    resp = maker_client.post(f"/procurement/entrustments/link/{record.id}",
                             data={"csrf_token": token, "cert_nos": ["国械注进20172400054"]}, follow_redirects=True)
    assert "已关联1个注册证" in text(resp)
    resp = maker_client.post(f"/procurement/entrustments/edit/{record.id}",
                             data={"csrf_token": token, "kind": "agent", "principal_name": "Medtronic Inc.",
                                   "valid_from": "2026-01-01", "valid_to": "2030-12-31", "action": "submit"},
                             follow_redirects=True)
    assert "已提交，等待审核" in text(resp) and "待初审" in text(resp)
    db.session.expire_all()
    record = db.session.get(Entrustment, record.id)
    resp = maker_client.post(f"/procurement/entrustments/action/withdraw/{record.id}",
                             data={"csrf_token": token, "version": record.version}, follow_redirects=True)
    assert "已撤回" in text(resp)
    history = text(maker_client.get(f"/procurement/entrustments/history/{record.id}"))
    assert "提交" in history and "撤回" in history and "待初审" in history


def test_entrustment_errors_at_their_fields(maker_client):
    token = csrf_token(maker_client, "/procurement/entrustments/add")
    html = text(maker_client.post("/procurement/entrustments/add", data=entrustment_form(
        token, valid_to="2025-01-01", letter_zh=(io.BytesIO(b"GIF89a"), "zh.pdf")), content_type="multipart/form-data"))
    assert "不能早于" in field_error(html, "valid_to")
    assert "不是有效的PDF" in field_error(html, "letter_zh")
    assert db.session.scalar(select(Entrustment)) is None


def test_certificate_add_edit_batch_submit(maker_client):
    add = text(maker_client.get("/procurement/certificates/add"))
    assert "粤械注准20152660001" in add and "国械注准20153100011" not in add
    token = csrf_token(maker_client, "/procurement/certificates/add")
    forged = maker_client.post("/procurement/certificates/add",
                               data={"csrf_token": token, "cert_nos": ["国械注准20153100011"]})
    assert "请前往国家平台进行增补" in field_error(text(forged), "certificates")
    maker_client.post("/procurement/certificates/add", data={"csrf_token": token, "cert_nos": ["粤械注准20152660001"]})
    record = db.session.scalar(select(QualCertificate))
    edit = text(maker_client.get(f"/procurement/certificates/edit/{record.id}"))
    assert "注册备案号、注册备案产品名称等其它信息均不可修改" in edit and "医用导管" in edit
    resp = maker_client.post(f"/procurement/certificates/edit/{record.id}", data={
        "csrf_token": token, "contact_name": "张三", "contact_phone": "13800138000", "remark": "",
        "cert_no": "国械注准20153100011", "product_name": "篡改", "action": "save",
        "scan": (io.BytesIO(PDF), "scan.pdf")}, content_type="multipart/form-data", follow_redirects=True)
    assert "保存成功" in text(resp)
    db.session.expire_all()
    assert db.session.get(QualCertificate, record.id).cert_no == "粤械注准20152660001"  # forged field ignored
    resp = maker_client.post("/procurement/certificates/action_post",
                             data={"csrf_token": token, "action": "submit", "rowid": [str(record.id)]}, follow_redirects=True)
    assert "批量提交：成功1条" in text(resp)
    edit = maker_client.get(f"/procurement/certificates/edit/{record.id}", follow_redirects=True)
    assert "不能编辑" in text(edit)


def test_reviewer_queue_detail_and_decisions(app, maker_client):
    from app.services import qualification as q
    from app.workflow import engine

    record = q.add_certificates(maker_client.user, ["粤械注准20152660001"])[0]
    q.save_certificate(maker_client.user, record, "张三", "13800138000", "", ("scan.pdf", PDF), submit=True)
    make_platform_user("chu9", REVIEWER_INITIAL)
    make_platform_user("fu9", REVIEWER_FINAL)
    chu = IsolatedClient(app, app.response_class, use_cookies=True)
    login(chu, "chu9", PASSWORD)
    queue = text(chu.get("/review/certificate/initial/"))
    assert "粤械注准20152660001" in queue and "注册证待初审" in text(chu.get("/"))
    detail = text(chu.get(f"/review/certificate/record/{record.id}"))
    assert "医用导管" in detail and "scan.pdf" in detail and "审核通过" in detail and "审核不通过" in detail
    file_id = re.search(r"/review/file/(\d+)", detail).group(1)
    download = chu.get(f"/review/file/{file_id}")
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Disposition"].startswith("attachment")
    token = csrf_token(chu, f"/review/certificate/record/{record.id}")
    resp = chu.post(f"/review/certificate/record/{record.id}/decide",
                    data={"csrf_token": token, "action": "reject", "opinion": ""}, follow_redirects=True)
    assert "必须填写审核意见" in text(resp)
    resp = chu.post("/review/certificate/initial/batch-approve", data={"csrf_token": token, "rowid": [str(record.id)]},
                    follow_redirects=True)
    assert "批量审核通过：成功1条" in text(resp)
    db.session.expire_all()
    assert db.session.get(QualCertificate, record.id).state == "pending_final"
    assert chu.get("/review/certificate/final/").status_code in (302, 403)  # initial reviewers only
    fu = IsolatedClient(app, app.response_class, use_cookies=True)
    login(fu, "fu9", PASSWORD)
    token = csrf_token(fu, f"/review/certificate/record/{record.id}")
    fu.post(f"/review/certificate/record/{record.id}/decide", data={"csrf_token": token, "action": "approve"})
    db.session.expire_all()
    assert db.session.get(QualCertificate, record.id).state == "effective"
    assert engine.history_of("certificate", record.id)[-1].to_state == "effective"


def test_reviewers_cannot_edit_unit_records(app, maker_client):
    from app.services import qualification as q

    record = q.add_certificates(maker_client.user, ["粤械注准20152660001"])[0]
    make_platform_user("chu8", REVIEWER_INITIAL)
    chu = IsolatedClient(app, app.response_class, use_cookies=True)
    login(chu, "chu8", PASSWORD)
    assert chu.get(f"/procurement/certificates/edit/{record.id}").status_code in (302, 403, 404)


def test_unit_cannot_download_another_units_file(app, maker_client):
    from app.services import qualification as q

    record = q.add_certificates(maker_client.user, ["粤械注准20152660001"])[0]
    q.save_certificate(maker_client.user, record, "张三", "13800138000", "", ("scan.pdf", PDF))
    file_id = q.files_of(record)[0].id
    assert maker_client.get(f"/procurement/certificates/file/{file_id}").data == PDF
    other = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    c = IsolatedClient(app, app.response_class, use_cookies=True)
    login(c, other.username, PASSWORD)
    assert c.get(f"/procurement/certificates/file/{file_id}").status_code == 404
    assert c.get(f"/review/file/{file_id}").status_code in (302, 403, 404)


def test_unit_user_cannot_approve_its_own_record_by_forged_url(maker_client):
    from app.services import qualification as q

    record = q.add_certificates(maker_client.user, ["粤械注准20152660001"])[0]
    q.save_certificate(maker_client.user, record, "张三", "13800138000", "", ("scan.pdf", PDF), submit=True)
    token = csrf_token(maker_client, "/procurement/certificates/list/")
    resp = maker_client.post(f"/review/certificate/record/{record.id}/decide",
                             data={"csrf_token": token, "action": "approve", "version": record.version})
    assert resp.status_code in (302, 403)
    resp = maker_client.post("/review/certificate/initial/batch-approve",
                             data={"csrf_token": token, "rowid": [str(record.id)]})
    assert resp.status_code in (302, 403)
    db.session.expire_all()
    assert db.session.get(QualCertificate, record.id).state == "pending_initial"


def test_generic_fab_delete_cannot_remove_a_reviewed_record(maker_client):
    from app.services import qualification as q

    record = q.add_certificates(maker_client.user, ["粤械注准20152660001"])[0]
    q.save_certificate(maker_client.user, record, "张三", "13800138000", "", ("scan.pdf", PDF), submit=True)
    token = csrf_token(maker_client, "/procurement/certificates/list/")
    for method in ("get", "post"):
        resp = getattr(maker_client, method)(f"/procurement/certificates/delete/{record.id}", data={"csrf_token": token})
        assert resp.status_code == 404
    db.session.expire_all()
    assert db.session.get(QualCertificate, record.id).state == "pending_initial"


def test_adding_one_certificate_goes_on_to_its_edit_page(maker_client):
    token = csrf_token(maker_client, "/procurement/certificates/add")
    resp = maker_client.post("/procurement/certificates/add",
                             data={"csrf_token": token, "cert_nos": ["粤械注准20152660001"]})
    record = db.session.scalar(select(QualCertificate))
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/procurement/certificates/edit/{record.id}")
    edit = text(maker_client.get(resp.headers["Location"]))
    assert "请维护注册证信息后点击保存或者提交" in edit and "保存" in edit and "提交" in edit and "医用导管" in edit


def test_adding_several_certificates_goes_back_to_the_list(maker_client):
    make_national_cert("粤械注准20152660002", maker_client.user.unit.name, product_name="医用导丝")
    token = csrf_token(maker_client, "/procurement/certificates/add")
    resp = maker_client.post("/procurement/certificates/add", data={
        "csrf_token": token, "cert_nos": ["粤械注准20152660001", "粤械注准20152660002"]})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/procurement/certificates/list/")
    assert len(db.session.scalars(select(QualCertificate)).all()) == 2


def test_certificate_row_buttons_sit_in_the_rows(maker_client):
    from app.services import qualification as q

    make_national_cert("粤械注准20152660002", maker_client.user.unit.name, product_name="医用导丝")
    draft, pending = q.add_certificates(maker_client.user, ["粤械注准20152660001", "粤械注准20152660002"])
    q.save_certificate(maker_client.user, pending, "张三", "13800138000", "", ("scan.pdf", PDF), submit=True)
    html = text(maker_client.get("/procurement/certificates/list/"))
    assert '<div class="row-actions"' not in html

    def row(number):
        return re.search(r'<tr data-number="%s">(.*?)</tr>' % number, html, re.S).group(1)

    r = row("粤械注准20152660001")
    for words in ("查看", "变更记录", f"/procurement/certificates/edit/{draft.id}", ">编辑<", 'form="batch-form"'):
        assert words in r
    r = row("粤械注准20152660002")
    assert f"/procurement/certificates/action/withdraw/{pending.id}" in r and ">撤回<" in r and ">编辑<" not in r
    batch = re.search(r'<form[^>]*id="batch-form".*?</form>', html, re.S).group(0)
    assert "<table" not in batch
    assert re.search(r'<button type="submit" form="batch-form"[^>]*>批量提交</button>', html)
    token = csrf_token(maker_client, "/procurement/certificates/list/")
    resp = maker_client.post(f"/procurement/certificates/action/withdraw/{pending.id}",
                             data={"csrf_token": token, "version": pending.version}, follow_redirects=True)
    assert "已撤回" in text(resp)
