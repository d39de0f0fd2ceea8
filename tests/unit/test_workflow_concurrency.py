"""Concurrency on PostgreSQL: of simultaneous transitions on one record exactly one wins."""
from __future__ import annotations

import os
import threading

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AppUser, QualCertificate, UnitCategory, UnitRole, WorkflowHistory
from app.security.roles import REVIEWER_INITIAL
from app.services import attachments
from app.workflow import engine
from app.workflow.engine import WorkflowError
from tests.factories import make_certified, make_platform_user

pytestmark = pytest.mark.skipif(
    not (os.environ.get("TEST_DATABASE_URL") or "").startswith("postgresql"),
    reason="row-level concurrency is exercised on PostgreSQL (SQLite serialises writers)")

PDF = b"%PDF-1.4\n%%EOF\n"
ROUNDS = 6
THREADS_PER_SIDE = 3


def _pending_record(unit_user) -> int:
    record = QualCertificate(unit_id=unit_user.unit_id, cert_no="国械注准20153100011", state="draft",
                             contact_name="张三", contact_phone="13800138000", remark="")
    db.session.add(record)
    db.session.flush()
    attachments.attach(attachments.store(unit_user.unit_id, "scan", "s.pdf", PDF), "qual_certificate", record.id)
    engine.record_created(record, unit_user)
    db.session.commit()
    engine.apply(record, "submit", unit_user)
    return record.id


def test_simultaneous_withdraw_and_approve(app):
    owner = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    reviewer = make_platform_user("chu_c", REVIEWER_INITIAL)
    owner_id, reviewer_id = owner.id, reviewer.id
    for _ in range(ROUNDS):
        record_id = _pending_record(owner)
        barrier = threading.Barrier(THREADS_PER_SIDE * 2)
        outcomes: list[str] = []
        lock = threading.Lock()

        def act(user_id: int, action: str):
            with app.app_context():
                user = db.session.get(AppUser, user_id)
                record = db.session.get(QualCertificate, record_id)
                barrier.wait()
                try:
                    engine.apply(record, action, user)
                    result = f"ok:{action}"
                except WorkflowError as exc:
                    result = f"refused:{exc.message}"
                finally:
                    db.session.remove()
                with lock:
                    outcomes.append(result)

        threads = [threading.Thread(target=act, args=(owner_id, "withdraw")) for _ in range(THREADS_PER_SIDE)]
        threads += [threading.Thread(target=act, args=(reviewer_id, "approve")) for _ in range(THREADS_PER_SIDE)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        winners = [o for o in outcomes if o.startswith("ok:")]
        assert len(outcomes) == THREADS_PER_SIDE * 2
        assert len(winners) == 1, outcomes
        assert all("已被他人修改" in o or "不能" in o for o in outcomes if o.startswith("refused:")), outcomes
        db.session.expire_all()
        record = db.session.get(QualCertificate, record_id)
        expected = "draft" if winners[0] == "ok:withdraw" else "pending_final"
        assert record.state == expected
        rows = db.session.scalars(select(WorkflowHistory).where(WorkflowHistory.record_id == record_id)
                                  .order_by(WorkflowHistory.id)).all()
        assert [r.action for r in rows] == ["create", "submit", winners[0][3:]]
        for previous, current in zip(rows, rows[1:]):
            assert current.from_state == previous.to_state  # no gap, no duplicate
