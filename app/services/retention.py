"""Retention: ``flask prune`` deletes what is older than its configured period.

| what | setting (days) |
|---|---|
| audit log entries | ``AUDIT_RETENTION_DAYS`` (never below 180: 网络安全法 keeps network logs ≥ 6 months) |
| SMS records and spent verification codes | ``SMS_RETENTION_DAYS`` |
| product and national import logs | ``IMPORT_LOG_RETENTION_DAYS`` |
| their error files (rejected rows, 错误日志 workbooks) and unread uploads | ``IMPORT_ERROR_FILE_RETENTION_DAYS`` |
| finished background jobs | ``JOB_RETENTION_DAYS`` |

Rows go with plain ``DELETE`` statements (the audit log's ORM guard refuses deleting
single entries; pruning by age is the one way they leave), and the run itself is
written to the audit log.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import delete, update

from app.extensions import db
from app.models import AuditLog, BackgroundJob, NationalImport, NationalUpload, ProductImport, SmsCode, SmsMessage
from app.models.job import JOB_DONE, JOB_FAILED
from app.models.mixins import utcnow

MIN_AUDIT_DAYS = 180


class RetentionTooShort(ValueError):
    pass


@dataclass
class PruneResult:
    cutoffs: dict[str, dt.datetime] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)



def _days(key: str) -> int:
    days = int(current_app.config[key])
    if days < 1:
        raise RetentionTooShort(f"{key} must be at least 1 day")
    return days


def prune(now: dt.datetime | None = None, dry_run: bool = False) -> PruneResult:
    """Delete everything older than its retention period (one transaction)."""
    now = now or utcnow()
    audit_days = _days("AUDIT_RETENTION_DAYS")
    if audit_days < MIN_AUDIT_DAYS:
        raise RetentionTooShort(f"AUDIT_RETENTION_DAYS must be at least {MIN_AUDIT_DAYS} (network logs ≥ 6 months)")
    cut = {
        "audit": now - dt.timedelta(days=audit_days),
        "sms": now - dt.timedelta(days=_days("SMS_RETENTION_DAYS")),
        "imports": now - dt.timedelta(days=_days("IMPORT_LOG_RETENTION_DAYS")),
        "error_files": now - dt.timedelta(days=_days("IMPORT_ERROR_FILE_RETENTION_DAYS")),
        "jobs": now - dt.timedelta(days=_days("JOB_RETENTION_DAYS")),
    }
    result = PruneResult(cutoffs=cut)
    statements = {
        "audit log": delete(AuditLog).where(AuditLog.created_at < cut["audit"]),
        "sms messages": delete(SmsMessage).where(SmsMessage.created_at < cut["sms"]),
        "sms codes": delete(SmsCode).where(SmsCode.created_at < cut["sms"]),
        "imports product": delete(ProductImport).where(ProductImport.created_at < cut["imports"]),
        "imports national": delete(NationalImport).where(NationalImport.created_at < cut["imports"]),
        "error_files product": update(ProductImport).where(
            ProductImport.created_at < cut["error_files"],
            (ProductImport.errors_json.is_not(None)) | (ProductImport.error_log.is_not(None)))
        .values(errors_json=None, error_log=None),
        "error_files national": update(NationalImport).where(
            NationalImport.created_at < cut["error_files"], NationalImport.errors_json.is_not(None))
        .values(errors_json=None),
        "error_files uploads": delete(NationalUpload).where(NationalUpload.created_at < cut["error_files"]),
        "jobs finished": delete(BackgroundJob).where(BackgroundJob.created_at < cut["jobs"],
                                                     BackgroundJob.status.in_((JOB_DONE, JOB_FAILED))),
    }
    for name, statement in statements.items():
        count = db.session.execute(statement.execution_options(synchronize_session=False)).rowcount
        result.deleted[name] = max(count or 0, 0)
    if dry_run:
        db.session.rollback()
        return result
    from app.services import audit

    audit.record("data_pruned", detail="; ".join(f"{k} {v}" for k, v in result.deleted.items() if v) or "0")
    db.session.commit()
    return result
