"""变更 through the pages, to the end (issue 12 §1): the unit opens the change, edits and submits it,
初审 and 复审 approve it on their review pages, and the effective record carries the change."""
import datetime as dt
import io

import pytest
from sqlalchemy import select

import app.models.national  # noqa: F401
from app.extensions import db
from app.models import Entrustment, UnitCategory, UnitRole
from app.security.roles import REVIEWER_FINAL, REVIEWER_INITIAL
from app.services import qualification as q
from app.workflow import engine
from tests.conftest import IsolatedClient, csrf_token, login, text
from tests.factories import PASSWORD, make_certified, make_national_cert, make_platform_user

PDF = b"%PDF-1.4\n%%EOF\n"
A, B, C = "国械注进20172400054", "国械注进20182400055", "国械注许20233160006"


@pytest.fixture
def setup(app, client):
    user = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    for number in (A, B, C):
        make_national_cert(number, "Medtronic Inc.")
    make_platform_user("chu_p", REVIEWER_INITIAL)
    make_platform_user("fu_p", REVIEWER_FINAL)
    login(client, user.username, PASSWORD)
    reviewers = []
    for name in ("chu_p", "fu_p"):
        c = IsolatedClient(app, app.response_class, use_cookies=True)
        login(c, name, PASSWORD)
        reviewers.append(c)
    return user, client, reviewers


def review_through_pages(reviewers, rtype_key, pk):
    for c, queue in zip(reviewers, ("initial", "final")):
        assert str(pk) in text(c.get(f"/review/{rtype_key}/{queue}/"))
        token = csrf_token(c, f"/review/{rtype_key}/record/{pk}")
        resp = c.post(f"/review/{rtype_key}/record/{pk}/decide", data={"csrf_token": token, "action": "approve"},
                      follow_redirects=True)
        assert resp.status_code == 200 and "审核通过" in text(resp) and "系统错误" not in text(resp)


def test_entrustment_change_of_end_date_and_certificates_through_pages(setup):
    user, client, reviewers = setup
    data = q.EntrustmentInput(kind="agent", principal_name="Medtronic Inc.", valid_from=dt.date(2026, 1, 1),
                              valid_to=dt.date(2030, 12, 31), cert_nos=[A, B],
                              uploads={"letter_en": ("en.pdf", PDF), "letter_zh": ("zh.pdf", PDF)})
    record = q.save_entrustment(user, None, data, submit=True)
    review_through_pages(reviewers, "entrustment", record.id)
    token = csrf_token(client, "/procurement/entrustments/list/")
    resp = client.post(f"/procurement/entrustments/action/change/{record.id}", data={"csrf_token": token})
    revision = db.session.scalar(select(Entrustment).where(Entrustment.revision_of_id == record.id))
    assert resp.headers["Location"].endswith(f"/procurement/entrustments/edit/{revision.id}")
    # only the end date changes; the linked certificates are kept
    resp = client.post(f"/procurement/entrustments/edit/{revision.id}", data={
        "csrf_token": token, "kind": "agent", "principal_name": "Medtronic Inc.", "valid_from": "2026-01-01",
        "valid_to": "2032-06-30", "action": "submit"}, content_type="multipart/form-data", follow_redirects=True)
    assert "已提交，等待审核" in text(resp)
    review_through_pages(reviewers, "entrustment", revision.id)
    db.session.expire_all()
    record = db.session.get(Entrustment, record.id)
    assert record.valid_to == dt.date(2032, 6, 30) and record.cert_numbers == [A, B]
    # a second change: remove B, add C through 关联注册证, replace the English letter
    client.post(f"/procurement/entrustments/action/change/{record.id}", data={"csrf_token": token})
    revision = db.session.scalar(select(Entrustment).where(Entrustment.revision_of_id == record.id,
                                                           Entrustment.state == "draft"))
    client.post(f"/procurement/entrustments/link/{revision.id}", data={"csrf_token": token, "cert_nos": [C]})
    resp = client.post(f"/procurement/entrustments/edit/{revision.id}", data={
        "csrf_token": token, "kind": "agent", "principal_name": "Medtronic Inc.", "valid_from": "2026-01-01",
        "valid_to": "2032-06-30", "remove_cert": [B], "letter_en": (io.BytesIO(PDF + b"v2"), "en-v2.pdf"),
        "action": "submit"}, content_type="multipart/form-data", follow_redirects=True)
    assert "已提交，等待审核" in text(resp)
    review_through_pages(reviewers, "entrustment", revision.id)
    db.session.expire_all()
    record = db.session.get(Entrustment, record.id)
    assert record.cert_numbers == [A, C]
    assert [a.filename for a in q.files_by_slot(record)["letter_en"]] == ["en-v2.pdf"]
    history = text(client.get(f"/procurement/entrustments/history/{record.id}"))
    assert "en-v2.pdf" in history and "2032-06-30" in history
    assert engine.history_of("entrustment", record.id)[-1].to_state == "effective"
