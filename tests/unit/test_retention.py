"""`flask prune`: what is older than its retention period goes, the rest stays."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (AuditLog, BackgroundJob, NationalImport, NationalUpload, ProductImport, SmsCode, SmsMessage,
                        Unit)
from flask import url_for

from app.models import UnitCategory, UnitRole
from app.models.mixins import utcnow
from app.services import retention
from tests.conftest import login
from tests.factories import PASSWORD, make_certified, make_unit_user


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def aged(app, monkeypatch):
    """One old and one recent row of everything pruned (periods shortened)."""
    for key, days in (("AUDIT_RETENTION_DAYS", 200), ("SMS_RETENTION_DAYS", 30), ("IMPORT_LOG_RETENTION_DAYS", 90),
                      ("IMPORT_ERROR_FILE_RETENTION_DAYS", 10), ("JOB_RETENTION_DAYS", 20)):
        monkeypatch.setitem(app.config, key, days)
    now = utcnow()
    unit_id = make_unit_user().unit_id
    db.session.execute(AuditLog.__table__.delete())  # registration's own entries: only ours below
    for age in (300, 100):
        when = now - dt.timedelta(days=age)
        db.session.add(AuditLog(event="login", username="old" if age == 300 else "new", detail="x", created_at=when))
    for age in (40, 5):
        when = now - dt.timedelta(days=age)
        db.session.add(SmsMessage(phone="13900000001", purpose="password_reset", content=f"{age}", status="stored",
                                  created_at=when))
        db.session.add(SmsCode(user_id=1, phone="13900000001", purpose="password_reset", code_hash="h",
                               created_at=when, expires_at=when))
    for age in (120, 50, 3):
        when = now - dt.timedelta(days=age)
        db.session.add(ProductImport(token=f"p{age}", unit_id=unit_id, filename="a.xlsx", created_at=when, saved=1,
                                     rejected=1, errors_json='[{"sheet": "耗材产品包装", "row": 2, "key": "", "reason": "x"}]', error_log=b"xlsx"))
        db.session.add(NationalImport(token=f"n{age}", source="cli", filename="n.xlsx", status="done",
                                      created_at=when, errors_json="[]"))
        db.session.add(NationalUpload(filename="n.xlsx", data=b"x", created_at=when))
        db.session.add(BackgroundJob(id=f"job{age}", name="x:y", status="done", done=0, created_at=when))
    db.session.add(BackgroundJob(id="running-old", name="x:y", status="running", done=0,
                                 created_at=now - dt.timedelta(days=120)))
    db.session.commit()
    return now


def test_prune_deletes_only_what_is_older_than_its_period(aged):
    result = retention.prune()
    assert _count(AuditLog, AuditLog.event == "login") == 1
    assert db.session.scalar(select(AuditLog.username).where(AuditLog.event == "login")) == "new"
    assert db.session.scalars(select(SmsMessage.content)).all() == ["5"]
    assert _count(SmsCode) == 1
    assert sorted(db.session.scalars(select(ProductImport.token))) == ["p3", "p50"]
    assert sorted(db.session.scalars(select(NationalImport.token))) == ["n3", "n50"]
    # error files go sooner than the log that counts them
    p50 = db.session.scalar(select(ProductImport).where(ProductImport.token == "p50"))
    assert p50.errors_json is None and p50.error_log is None and p50.rejected == 1
    p3 = db.session.scalar(select(ProductImport).where(ProductImport.token == "p3"))
    assert p3.errors_json and p3.error_log == b"xlsx"
    assert db.session.scalar(select(NationalImport.errors_json).where(NationalImport.token == "n50")) is None
    assert _count(NationalUpload) == 1
    # finished jobs older than their period go; a job still running stays
    assert sorted(db.session.scalars(select(BackgroundJob.id))) == ["job3", "running-old"]
    assert result.deleted["audit log"] == 1 and result.deleted["sms messages"] == 1
    entry = db.session.scalar(select(AuditLog).where(AuditLog.event == "data_pruned"))
    assert entry is not None and "audit log 1" in entry.detail
    assert _count(Unit) == 1  # business data is never pruned


def test_dry_run_deletes_nothing(aged):
    result = retention.prune(dry_run=True)
    assert result.deleted["sms messages"] == 1
    assert _count(SmsMessage) == 2 and _count(AuditLog, AuditLog.event == "login") == 2
    assert _count(AuditLog, AuditLog.event == "data_pruned") == 0


def test_audit_log_is_kept_at_least_six_months(app, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_RETENTION_DAYS", 90)
    with pytest.raises(retention.RetentionTooShort):
        retention.prune()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["prune"])
    assert result.exit_code != 0 and "AUDIT_RETENTION_DAYS" in result.output


def test_prune_command(app, aged):
    result = app.test_cli_runner().invoke(args=["prune"])
    assert result.exit_code == 0, result.output
    assert "sms messages: 1 removed" in result.output
    assert _count(SmsMessage) == 1


def test_pruned_error_log_download_is_gone_not_empty(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_ERROR_FILE_RETENTION_DAYS", 1)
    maker = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    db.session.add(ProductImport(token="tok1", unit_id=maker.unit_id, filename="a.xlsx", saved=0, rejected=1,
                                 errors_json='[{"sheet": "耗材产品包装", "row": 2, "key": "", "reason": "x"}]', created_at=utcnow() - dt.timedelta(days=5)))
    db.session.commit()
    login(client, maker.username, PASSWORD)
    with app.test_request_context():
        url = url_for("ConsumableProductView.error_log", token="tok1")
    assert client.get(url).status_code == 200
    retention.prune()
    assert client.get(url).status_code == 404
