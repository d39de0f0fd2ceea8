"""新增委托授权 / 编辑注册证: a refused POST keeps the valid chosen files; letters belong to 境外代理."""
import io
import re

from sqlalchemy import func, select

from app.extensions import db
from app.models import Attachment, Entrustment, QualCertificate
from app.services import qualification as q
from tests.conftest import csrf_token, text
from tests.http.test_qualification_pages import PDF, entrustment_form, maker_client  # noqa: F401  (fixture)


def test_a_refused_form_keeps_the_valid_files_chosen(maker_client):
    """Issue 12 §5: after a refused form, valid files need not be chosen again; a bad one must be."""
    token = csrf_token(maker_client, "/procurement/entrustments/add")
    form = entrustment_form(token, valid_to="2025-01-01")
    form["letter_zh"] = (io.BytesIO(b"not a pdf"), "letter-zh.pdf")
    html = text(maker_client.post("/procurement/entrustments/add", data=form, content_type="multipart/form-data"))
    assert "不能早于" in html and "不是有效的PDF" in html
    assert "已选择（无需重新选择）：letter-en.pdf" in html
    assert html.count("本次未保存，请重新选择文件") == 1  # only the invalid one
    assert db.session.scalar(select(Entrustment)) is None
    kept_id = re.search(r'name="kept_letter_en" value="(\d+)"', html).group(1)
    resp = maker_client.post("/procurement/entrustments/add", data={
        "csrf_token": token, "kind": "agent", "principal_name": "Medtronic Inc.", "valid_from": "2026-01-01",
        "valid_to": "2030-12-31", "action": "save", "kept_letter_en": kept_id,
        "letter_zh": (io.BytesIO(PDF), "letter-zh.pdf")}, content_type="multipart/form-data")
    assert resp.status_code == 302
    record = db.session.scalar(select(Entrustment))
    files = q.files_by_slot(record)
    assert [a.filename for a in files["letter_en"]] == ["letter-en.pdf"]
    assert [a.filename for a in files["letter_zh"]] == ["letter-zh.pdf"]
    assert db.session.scalar(select(func.count(Attachment.id)).where(Attachment.owner_type == "pending")) == 0


def test_a_kept_file_of_another_unit_is_ignored(app, maker_client):
    from app.services import attachments
    from tests.factories import make_certified
    from app.models import UnitCategory, UnitRole

    other = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    foreign = attachments.keep_pending(other.unit_id, "letter_en", "theirs.pdf", PDF)
    token = csrf_token(maker_client, "/procurement/entrustments/add")
    html = text(maker_client.post("/procurement/entrustments/add", data={
        "csrf_token": token, "kind": "agent", "principal_name": "X", "valid_from": "2026-01-01",
        "valid_to": "2030-12-31", "action": "submit", "kept_letter_en": str(foreign.id)},
        content_type="multipart/form-data"))
    assert "theirs.pdf" not in html and "代理授权书（英文）" in html
    db.session.expire_all()
    assert db.session.get(Attachment, foreign.id).owner_type == "pending"


def test_certificate_scan_is_kept_after_a_refused_form(maker_client):
    record = q.add_certificates(maker_client.user, ["粤械注准20152660001"])[0]
    token = csrf_token(maker_client, f"/procurement/certificates/edit/{record.id}")
    html = text(maker_client.post(f"/procurement/certificates/edit/{record.id}", data={
        "csrf_token": token, "contact_name": "张三", "contact_phone": "123", "action": "submit",
        "scan": (io.BytesIO(PDF), "scan.pdf")}, content_type="multipart/form-data"))
    assert "联系电话" in html and "已选择（无需重新选择）：scan.pdf" in html
    kept_id = re.search(r'name="kept_scan" value="(\d+)"', html).group(1)
    resp = maker_client.post(f"/procurement/certificates/edit/{record.id}", data={
        "csrf_token": token, "contact_name": "张三", "contact_phone": "13800138000", "action": "submit",
        "kept_scan": kept_id}, content_type="multipart/form-data")
    assert resp.status_code == 302
    db.session.expire_all()
    record = db.session.get(QualCertificate, record.id)
    assert record.state == "pending_initial" and [a.filename for a in q.files_of(record)] == ["scan.pdf"]


def test_letters_are_marked_as_agent_only(maker_client):
    html = text(maker_client.get("/procurement/entrustments/add"))
    assert html.count('class="form-group agent-only') == 2
    assert "本次未保存" not in html
