"""Expiry of certificates and entrustments (issue 12 §3), run daily by ``flask qualification expire``.

* Past 有效期结束 a record is 已过期 everywhere (computed from its dates, so it is true the
  moment the day turns); the run records it once (``expiry_reminder`` with ``days = 0``, an
  audit line) and refreshes the products' certificate flags (``chain.refresh_flags``), which
  takes them out of 耗材产品查询 and shows 证书过期 to the unit.
* 90, 30 and 7 days before 有效期结束 the unit's contact (registration 经办人 phone) gets one SMS
  per threshold and validity end.  A record first seen inside a window (approved late, a day
  missed) gets one SMS for the tightest threshold reached; the wider ones are marked done
  without a message, so nobody receives three texts at once.  A 变更 that moves the end date
  starts a new series.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import Entrustment, ExpiryReminder, QualCertificate, Unit
from app.models.national import NationalCertificate
from app.services import audit, chain, sms
from app.workflow.engine import State

REMINDER_DAYS = (90, 30, 7)
SOON_DAYS = 90  # what the lists mark as expiring soon


@dataclass
class Due:
    record_type: str  # entrustment | certificate
    record_id: int
    unit_id: int
    label: str  # e.g. 委托授权WT20260101000001 / 注册证国械注准…
    valid_to: dt.date


@dataclass
class RunResult:
    reminders: list[tuple[Due, int]] = field(default_factory=list)  # (record, threshold) texted
    expired: list[Due] = field(default_factory=list)  # newly found expired
    flags_changed: int = 0


def _effective_records(day: dt.date, unit_id: int | None = None) -> list[Due]:
    horizon = day + dt.timedelta(days=max(REMINDER_DAYS))
    out = []
    query = select(Entrustment).where(
        Entrustment.revision_of_id.is_(None), Entrustment.state == State.EFFECTIVE.value,
        Entrustment.valid_to.is_not(None), Entrustment.valid_to <= horizon)
    if unit_id is not None:
        query = query.where(Entrustment.unit_id == unit_id)
    for e in db.session.scalars(query):
        out.append(Due("entrustment", e.id, e.unit_id, f"委托授权{e.number}", e.valid_to))
    query = (select(QualCertificate.id, QualCertificate.unit_id, QualCertificate.cert_no, NationalCertificate.valid_to)
             .join(NationalCertificate, NationalCertificate.number == QualCertificate.cert_no)
             .where(QualCertificate.revision_of_id.is_(None), QualCertificate.state == State.EFFECTIVE.value,
                    NationalCertificate.valid_to.is_not(None), NationalCertificate.valid_to <= horizon))
    if unit_id is not None:
        query = query.where(QualCertificate.unit_id == unit_id)
    rows = db.session.execute(query).all()
    for rid, unit_id, cert_no, valid_to in rows:
        out.append(Due("certificate", rid, unit_id, f"注册证{cert_no}", valid_to))
    return out


def _done(due: Due) -> set[int]:
    return set(db.session.scalars(select(ExpiryReminder.days).where(
        ExpiryReminder.record_type == due.record_type, ExpiryReminder.record_id == due.record_id,
        ExpiryReminder.valid_to == due.valid_to)))


def message(due: Due, left: int) -> str:
    return (f"【广东医保服务平台】您单位的{due.label}将于{due.valid_to:%Y年%m月%d日}到期（剩余{left}天），"
            "请及时办理延续，并在招采企业服务中提交变更，以免相关耗材产品失效。")


def run(day: dt.date | None = None) -> RunResult:
    """Flag what expired, text what expires within 90/30/7 days (each once), refresh product flags."""
    day = day or chain.today()
    result = RunResult()
    for due in _effective_records(day):
        left = (due.valid_to - day).days
        done = _done(due)
        if left < 0:
            if 0 not in done:
                db.session.add(ExpiryReminder(record_type=due.record_type, record_id=due.record_id,
                                              unit_id=due.unit_id, valid_to=due.valid_to, days=0))
                audit.record("qualification_expired", user=None, unit=None,
                             detail=f"{due.label} 已过期（有效期至{due.valid_to:%Y-%m-%d}）")
                result.expired.append(due)
            continue
        reached = [d for d in REMINDER_DAYS if left <= d and d not in done]
        if not reached:
            continue
        tightest = min(reached)
        unit = db.session.get(Unit, due.unit_id)
        phone = unit.contact_phone if unit is not None else None
        for d in reached:
            db.session.add(ExpiryReminder(record_type=due.record_type, record_id=due.record_id, unit_id=due.unit_id,
                                          valid_to=due.valid_to, days=d, phone=phone if d == tightest else None))
        if phone:
            sms.send(phone, message(due, left), "expiry_reminder")
            result.reminders.append((due, tightest))
        db.session.commit()
    result.flags_changed = chain.refresh_flags(None, day)
    from app.services import attachments

    attachments.purge_pending(dt.datetime.combine(day, dt.time.min) - dt.timedelta(days=1))
    from app.services import api_keys

    api_keys.purge_idempotency_replies(dt.datetime.combine(day, dt.time.min) - dt.timedelta(
        days=current_app.config.get("API_IDEMPOTENCY_DAYS", 7)))
    db.session.commit()
    return result


def expiring(unit_id: int, day: dt.date | None = None, within: int = SOON_DAYS) -> list[Due]:
    """What the unit sees on its lists: effective records ending within ``within`` days or past."""
    day = day or chain.today()
    return sorted((d for d in _effective_records(day, unit_id) if (d.valid_to - day).days <= within),
                  key=lambda d: d.valid_to)
