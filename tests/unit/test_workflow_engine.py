"""The one review workflow engine (SPEC §3.1), on registration-certificate records."""
import json

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import QualCertificate, UnitCategory, UnitRole, WorkflowHistory
from app.security.roles import REVIEWER_FINAL, REVIEWER_INITIAL
from app.services import attachments, operators
from app.workflow import engine
from app.workflow.engine import WorkflowError
from tests.factories import make_certified, make_platform_user, new_id_number, new_phone

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def maker():
    return make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)


@pytest.fixture
def reviewers():
    return make_platform_user("chu1", REVIEWER_INITIAL), make_platform_user("fu1", REVIEWER_FINAL)


def draft(unit_user, complete=True, cert_no="国械注准20153100011"):
    record = QualCertificate(unit_id=unit_user.unit_id, cert_no=cert_no, state="draft",
                             contact_name="张联系" if complete else "", contact_phone="13800138000", remark="")
    db.session.add(record)
    db.session.flush()
    if complete:
        a = attachments.store(unit_user.unit_id, "scan", "scan.pdf", PDF)
        attachments.attach(a, "qual_certificate", record.id)
    engine.record_created(record, unit_user)
    db.session.commit()
    return record


def history(record):
    return [(h.action, h.from_state, h.to_state) for h in engine.history_of("certificate", record.id)]


def test_two_level_happy_path_and_history(maker, reviewers):
    chu, fu = reviewers
    record = draft(maker)
    assert engine.allowed_actions(record, maker) == ["submit"]
    engine.apply(record, "submit", maker)
    assert record.state == "pending_initial"
    assert engine.allowed_actions(record, chu) == ["approve", "reject"]
    assert engine.allowed_actions(record, fu) == []
    engine.apply(record, "approve", chu)
    assert record.state == "pending_final"
    engine.apply(record, "approve", fu, opinion="同意")
    assert record.state == "effective"
    assert history(record) == [("create", None, "draft"), ("submit", "draft", "pending_initial"),
                               ("approve", "pending_initial", "pending_final"),
                               ("approve", "pending_final", "effective")]


def test_one_level_configuration(app, maker, reviewers):
    chu, _ = reviewers
    saved = app.config["REVIEW_LEVELS"]
    app.config["REVIEW_LEVELS"] = {**saved, "certificate": 1}
    try:
        record = draft(maker)
        engine.apply(record, "submit", maker)
        engine.apply(record, "approve", chu)
        assert record.state == "effective"
    finally:
        app.config["REVIEW_LEVELS"] = saved


def test_withdraw_only_from_pending_initial(maker, reviewers):
    chu, _ = reviewers
    record = draft(maker)
    with pytest.raises(WorkflowError) as exc:
        engine.apply(record, "withdraw", maker)
    assert "不能撤回" in exc.value.message
    engine.apply(record, "submit", maker)
    engine.apply(record, "withdraw", maker)
    assert record.state == "draft"
    engine.apply(record, "submit", maker)
    engine.apply(record, "approve", chu)
    with pytest.raises(WorkflowError):
        engine.apply(record, "withdraw", maker)
    assert record.state == "pending_final"


def test_reject_needs_an_opinion_and_returns_an_editable_record(maker, reviewers):
    chu, _ = reviewers
    record = draft(maker)
    engine.apply(record, "submit", maker)
    with pytest.raises(WorkflowError) as exc:
        engine.apply(record, "reject", chu, opinion="  ")
    assert "必须填写审核意见" in exc.value.message
    assert record.state == "pending_initial"
    engine.apply(record, "reject", chu, opinion="扫描件不清晰")
    assert record.state == "rejected" and record.review_opinion == "扫描件不清晰"
    engine.assert_editable(record)
    engine.apply(record, "submit", maker)
    assert record.state == "pending_initial"


def test_incomplete_record_cannot_be_submitted(maker):
    record = draft(maker, complete=False)
    with pytest.raises(WorkflowError) as exc:
        engine.apply(record, "submit", maker)
    assert "信息不完整" in exc.value.message
    db.session.refresh(record)
    assert record.state == "draft"


def test_unit_users_cannot_review_and_reviewers_cannot_submit(maker, reviewers):
    chu, _ = reviewers
    record = draft(maker)
    with pytest.raises(WorkflowError):
        engine.apply(record, "submit", chu)
    engine.apply(record, "submit", maker)
    with pytest.raises(WorkflowError) as exc:
        engine.apply(record, "approve", maker)  # a unit approving its own record
    assert "无权" in exc.value.message
    other = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    with pytest.raises(WorkflowError):
        engine.apply(record, "withdraw", other)
    assert record.state == "pending_initial"


def test_operator_acts_only_with_the_menu_in_its_role(maker):
    from app.services import account_roles

    op = operators.add_operator(maker, "甲", new_id_number(), new_phone())
    record = draft(maker)
    with pytest.raises(WorkflowError):
        engine.apply(record, "submit", op)
    role = account_roles.create_role(maker, "注册证专员", ["consumable_certificate"])
    account_roles.assign(maker, role, op)
    engine.apply(record, "submit", op)
    assert record.state == "pending_initial"


def test_effective_record_is_not_editable_and_change_keeps_it_in_force(maker, reviewers):
    chu, fu = reviewers
    record = draft(maker)
    for actor, action in ((maker, "submit"), (chu, "approve"), (fu, "approve")):
        engine.apply(record, action, actor)
    with pytest.raises(WorkflowError) as exc:
        engine.assert_editable(record)
    assert "变更" in exc.value.message
    revision = engine.open_change(record, maker)
    with pytest.raises(WorkflowError):
        engine.open_change(record, maker)  # one change at a time
    revision.contact_name = "李新联系人"
    db.session.commit()
    engine.apply(revision, "submit", maker)
    db.session.refresh(record)
    assert record.state == "effective" and record.contact_name == "张联系"
    engine.apply(revision, "approve", chu)
    engine.apply(revision, "approve", fu)
    db.session.refresh(record)
    assert record.contact_name == "李新联系人" and record.state == "effective"
    assert revision.state == "merged"
    last = db.session.scalars(select(WorkflowHistory).where(WorkflowHistory.record_id == record.id)
                              .order_by(WorkflowHistory.id.desc())).first()
    assert ["联系人", "张联系", "李新联系人"] in json.loads(last.diff)
    assert engine.allowed_actions(record, maker) == ["change"]


def test_stale_version_is_refused(maker):
    record = draft(maker)
    seen = record.version
    engine.apply(record, "submit", maker)
    with pytest.raises(WorkflowError) as exc:
        engine.apply(record, "withdraw", maker, expected_version=seen)
    assert "已被他人修改" in exc.value.message


def test_concurrent_update_loses_with_a_clear_message(app, maker, reviewers):
    """Two sessions load one record; another session writes first, so the engine's write
    (made on the version it loaded) loses and the user is told the record changed."""
    from sqlalchemy.orm import Session

    record = draft(maker)
    engine.apply(record, "submit", maker)
    with Session(db.engine) as other:  # someone else withdraws it meanwhile
        theirs = other.get(QualCertificate, record.id)
        theirs.state = "draft"
        other.commit()
    with pytest.raises(WorkflowError) as exc:
        engine.apply(record, "withdraw", maker)  # our copy still says 待初审, version before theirs
    assert exc.value.message == "记录已被他人修改，请刷新后重试"
    db.session.expire_all()
    assert db.session.get(QualCertificate, record.id).state == "draft"  # theirs kept, nothing lost
    assert [h.action for h in db.session.scalars(select(WorkflowHistory).where(
        WorkflowHistory.record_id == record.id))].count("withdraw") == 0


def test_batch_reports_each_record(maker):
    good = draft(maker, cert_no="国械注准20153100011")
    bad = draft(maker, complete=False, cert_no="国械注准20153100012")
    result = engine.batch([good, bad], "submit", maker)
    assert result.ok == [good.id]
    assert result.failed and result.failed[0][0] == bad.id and "信息不完整" in result.failed[0][1]


def test_illegal_transition_message(maker, reviewers):
    chu, _ = reviewers
    record = draft(maker)
    with pytest.raises(WorkflowError) as exc:
        engine.apply(record, "approve", chu)
    assert "待提交" in exc.value.message


PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 20


@pytest.mark.parametrize("name,data,fragment", [
    ("fake.pdf", b"MZ\x90\x00 not a pdf", "不是有效的PDF"),
    ("image.pdf", PNG, "扩展名与文件内容不符"),
    ("doc.docx", PDF, "只支持PDF、JPG、PNG"),
    ("empty.pdf", b"", "请上传文件"),
])
def test_attachment_checks_content_not_name(maker, name, data, fragment):
    from app.services.errors import DomainError

    with pytest.raises(DomainError) as exc:
        attachments.store(maker.unit_id, "scan", name, data)
    assert fragment in exc.value.message


def test_oversized_attachment(app, maker):
    from app.services.errors import DomainError

    saved = app.config["ATTACHMENT_MAX_BYTES"]
    app.config["ATTACHMENT_MAX_BYTES"] = 100
    try:
        with pytest.raises(DomainError) as exc:
            attachments.store(maker.unit_id, "scan", "big.pdf", PDF + b"0" * 200)
        assert "文件过大" in exc.value.message
    finally:
        app.config["ATTACHMENT_MAX_BYTES"] = saved
