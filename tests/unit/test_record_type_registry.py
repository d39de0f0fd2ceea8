"""A record type that exists only in the tests: one declaration gives it the workflow (issue 13).

Its model lives on a metadata of its own (no migration: it is not part of the product), its
declaration is registered like the product's, and everything derived from the registry picks
it up: the review menus and queues, the reviewer permissions, the engine's transitions with
history and audit, the owner check by menu key and the review queue page.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, UnitCategory, UnitRole, WorkflowHistory
from app.security import bundles
from app.security.roles import REVIEWER_FINAL, REVIEWER_INITIAL
from app.workflow import engine, registry
from app.workflow.registry import RecordType
from tests.conftest import login, text
from tests.factories import PASSWORD, make_certified, make_platform_user
from tests.sample_record import SampleRecord, SampleBase


def _complete(record) -> None:
    if not record.number.startswith("S"):
        raise engine.WorkflowError("样例编号须以S开头")


SAMPLE = RecordType(
    key="sample", model=SampleRecord, label="测试样例", menu_key="consumable_item", review_label="测试样例",
    number_field="number", check_complete=_complete,
)


@pytest.fixture
def sample_type(app):
    SampleBase.metadata.create_all(db.engine)
    registry.register_record_type(SAMPLE)
    yield SAMPLE
    registry.unregister_record_type(SAMPLE)
    db.session.remove()
    SampleBase.metadata.drop_all(db.engine)


@pytest.fixture
def people(app):
    maker = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)  # holds 耗材单件列表
    return maker, make_platform_user("first", REVIEWER_INITIAL), make_platform_user("second", REVIEWER_FINAL)


def test_its_review_menus_and_reviewer_permissions_come_from_the_declaration(sample_type):
    assert ("测试样例待初审", "sample", "initial") in registry.review_menus()
    assert ("测试样例待复审", "sample", "final") in registry.review_menus()
    assert ("menu_access", "测试样例待初审") in bundles.reviewer_permissions("initial")
    assert ("menu_access", "测试样例待复审") not in bundles.reviewer_permissions("initial")
    registry.unregister_record_type(SAMPLE)
    assert all(key != "sample" for _, key, _ in registry.review_menus())
    assert ("menu_access", "测试样例待初审") not in bundles.reviewer_permissions("initial")


def test_a_key_belongs_to_one_model(sample_type):
    with pytest.raises(ValueError):
        registry.register_record_type(RecordType(key="sample", model=AuditLog, label="x", menu_key="consumable_item",
                                                 review_label="x"))


def test_the_engine_runs_its_whole_workflow(sample_type, people):
    maker, first, second = people
    record = SampleRecord(unit_id=maker.unit_id, number="X-1")
    db.session.add(record)
    engine.record_created(record, maker)
    db.session.commit()
    assert engine.allowed_actions(record, maker) == ["submit"]
    with pytest.raises(engine.WorkflowError, match="样例编号须以S开头"):
        engine.apply(record, "submit", maker)  # its own completeness check
    db.session.rollback()
    record.number = "S-1"
    db.session.commit()
    engine.apply(record, "submit", maker)
    assert engine.allowed_actions(record, first) == ["approve", "reject"]
    assert engine.allowed_actions(record, second) == []
    engine.apply(record, "approve", first)
    engine.apply(record, "approve", second)
    assert record.state == engine.State.EFFECTIVE.value
    actions = [h.action for h in engine.history_of("sample", record.id)]
    assert actions == ["create", "submit", "approve", "approve"]
    assert db.session.scalar(select(WorkflowHistory.record_type).where(WorkflowHistory.record_id == record.id)
                             .limit(1)) == "sample"
    events = set(db.session.scalars(select(AuditLog.event)))
    assert {"wf_submit", "wf_approve"} <= events


def test_owners_are_the_holders_of_its_menu_in_the_record_s_unit(sample_type, people):
    maker, first, _second = people
    other = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    hospital = make_certified(UnitCategory.DESIGNATED, UnitRole.DESIGNATED_HOSPITAL)  # no 耗材单件列表
    record = SampleRecord(unit_id=maker.unit_id, number="S-2")
    db.session.add(record)
    engine.record_created(record, maker)
    db.session.commit()
    assert engine.allowed_actions(record, maker) == ["submit"]
    assert engine.allowed_actions(record, other) == []
    hospital_record = SampleRecord(unit_id=hospital.unit_id, number="S-3")
    db.session.add(hospital_record)
    db.session.commit()
    assert engine.allowed_actions(hospital_record, hospital) == []


def test_its_review_queue_page_lists_and_filters_it(sample_type, people, client):
    maker, first, _second = people
    for number in ("S-100", "S-200"):
        record = SampleRecord(unit_id=maker.unit_id, number=number)
        db.session.add(record)
        engine.record_created(record, maker)
        db.session.commit()
        engine.apply(record, "submit", maker)
    login(client, "first", PASSWORD)
    page = text(client.get("/review/sample/initial/"))
    assert "测试样例" in page and "S-100" in page and "S-200" in page
    page = text(client.get("/review/sample/initial/?number=S-2"))
    assert "S-200" in page and "S-100" not in page
    assert client.get("/review/nothing/initial/").status_code == 404
