"""Drafts are private (issue 11 §6): reviewers see records from their first submission on."""
from __future__ import annotations

import pytest
from sqlalchemy import select

import app.models.national  # noqa: F401
from app.extensions import db
from app.models import Attachment, UnitCategory, UnitRole
from app.security.roles import REVIEWER_INITIAL
from app.services import qualification as q
from app.workflow import engine
from tests.conftest import login
from tests.factories import PASSWORD, make_certified, make_national_cert, make_platform_user

PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def draft(app):
    maker = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    make_national_cert("粤械注准20152660001", maker.unit.name, product_name="医用导管")
    record = q.add_certificates(maker, ["粤械注准20152660001"])[0]
    q.save_certificate(maker, record, "张三", "13800138000", "", ("scan.pdf", PDF), submit=False)
    attachment = db.session.scalar(select(Attachment).where(Attachment.owner_id == record.id))
    return maker, record, attachment


@pytest.fixture
def reviewer_client(client):
    make_platform_user("chushen1", REVIEWER_INITIAL)
    login(client, "chushen1", PASSWORD)
    return client


def test_reviewer_cannot_open_a_never_submitted_draft_or_its_files(draft, reviewer_client):
    maker, record, attachment = draft
    assert attachment is not None
    assert reviewer_client.get(f"/review/certificate/record/{record.id}").status_code == 404
    assert reviewer_client.get(f"/review/file/{attachment.id}").status_code == 404


def test_reviewer_sees_the_record_from_its_first_submission_on(draft, reviewer_client):
    maker, record, attachment = draft
    engine.apply(record, "submit", maker)
    db.session.commit()
    assert reviewer_client.get(f"/review/certificate/record/{record.id}").status_code == 200
    assert reviewer_client.get(f"/review/file/{attachment.id}").status_code == 200
    engine.apply(record, "withdraw", maker)  # back to 待提交, but it was submitted once
    db.session.commit()
    assert reviewer_client.get(f"/review/certificate/record/{record.id}").status_code == 200


def test_a_reviewer_decision_on_a_draft_is_404(draft, reviewer_client):
    from tests.conftest import csrf_token

    maker, record, _ = draft
    token = csrf_token(reviewer_client, "/review/certificate/initial/")
    resp = reviewer_client.post(f"/review/certificate/record/{record.id}/decide",
                                data={"csrf_token": token, "action": "approve", "version": record.version})
    assert resp.status_code == 404
    db.session.refresh(record)
    assert record.state == "draft"


def test_the_owning_unit_still_downloads_its_draft_files(draft, client):
    maker, record, attachment = draft
    login(client, maker.username, PASSWORD)
    assert client.get(f"/procurement/certificates/file/{attachment.id}").status_code == 200
