"""耗材委托授权 and 耗材注册证 services (SPEC §3.2, §3.3)."""
import datetime as dt

import pytest
from sqlalchemy import func, select

import app.models.national  # noqa: F401  (national tables)
from app.extensions import db
from app.models import Attachment, Entrustment, QualCertificate, UnitCategory, UnitRole
from app.services import qualification as q
from app.services.errors import ValidationFailed
from app.workflow import engine
from app.workflow.engine import WorkflowError
from tests.factories import make_certified, make_national_cert, make_platform_user

PDF = b"%PDF-1.4\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 10
TODAY = dt.date.today()


@pytest.fixture
def maker():
    user = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    make_national_cert("国械注进20172400054", "Medtronic Inc.")
    make_national_cert("国械注准20153100011", "某外省医疗器械有限公司")
    make_national_cert("粤械注准20152660001", user.unit.name)
    return user


def agent_input(**overrides):
    data = dict(kind="agent", principal_name="Medtronic Inc.", valid_from=TODAY,
                valid_to=TODAY + dt.timedelta(days=365), cert_nos=["国械注进20172400054"],
                uploads={"letter_en": ("letter.pdf", PDF), "letter_zh": ("letter_zh.png", PNG)})
    data.update(overrides)
    return q.EntrustmentInput(**data)


def count(model):
    return db.session.scalar(select(func.count(model.id)))


def test_agent_entrustment_saved_and_submitted(maker):
    record = q.save_entrustment(maker, None, agent_input(), submit=True)
    assert record.state == "pending_initial"
    assert record.number.startswith("WT") and record.cert_numbers == ["国械注进20172400054"]
    assert {a.slot for a in q.files_of(record)} == {"letter_en", "letter_zh"}


def test_one_file_may_serve_both_letters(maker):
    record = q.save_entrustment(maker, None, agent_input(uploads={"letter_en": ("l.pdf", PDF)}, zh_same_as_en=True))
    files = q.files_by_slot(record)
    assert files["letter_en"][0].sha256 == files["letter_zh"][0].sha256


@pytest.mark.parametrize("overrides,field,fragment", [
    ({"uploads": {"letter_en": ("l.pdf", PDF)}}, "letter_zh", "中文翻译件"),
    ({"uploads": {"letter_zh": ("l.pdf", PDF)}}, "letter_en", "英文"),
    ({"valid_to": TODAY - dt.timedelta(days=1)}, "valid_to", "不能早于"),
    ({"cert_nos": ["国械注准20153100011"]}, "certificates", "境外代理只能关联进口注册证"),
    ({"cert_nos": ["国械注进29999999999"]}, "certificates", "不在国家医保耗材注册证数据中"),
    ({"principal_name": ""}, "principal_name", "委托方"),
    ({"kind": "other"}, "kind", "委托授权类型"),
    ({"uploads": {"letter_en": ("fake.pdf", b"not a pdf at all"), "letter_zh": ("l.pdf", PDF)}}, "letter_en",
     "不是有效的PDF"),
])
def test_bad_entrustment_input_changes_nothing(maker, overrides, field, fragment):
    with pytest.raises(ValidationFailed) as exc:
        q.save_entrustment(maker, None, agent_input(**overrides), submit=True)
    assert fragment in exc.value.errors[field]
    assert count(Entrustment) == 0
    # no file belongs to any record; valid chosen files are only kept for the next attempt (issue 12 §5)
    owned = db.session.scalar(select(func.count(Attachment.id)).where(Attachment.owner_type != "pending"))
    assert owned == 0
    assert set(exc.value.kept) == {a.slot for a in db.session.scalars(select(Attachment))}


def test_contract_entrustment_needs_proof(maker):
    with pytest.raises(ValidationFailed) as exc:
        q.save_entrustment(maker, None, agent_input(kind="contract", uploads={}, cert_nos=["国械注准20153100011"]))
    assert "proof" in exc.value.errors
    record = q.save_entrustment(maker, None, agent_input(kind="contract", uploads={"proof": ("p.jpg", b"\xff\xd8\xff\xe0jpeg")},
                                                         cert_nos=["国械注准20153100011"]))
    assert record.kind_label == "被委托生产"


def test_submit_needs_a_linked_certificate(maker):
    record = q.save_entrustment(maker, None, agent_input(cert_nos=[]))
    with pytest.raises(WorkflowError) as exc:
        engine.apply(record, "submit", maker)
    assert "至少选择一个注册证" in exc.value.message


def test_effective_entrustment_cannot_be_edited(maker):
    chu = make_platform_user("chu2", "初审员")
    fu = make_platform_user("fu2", "复审员")
    record = q.save_entrustment(maker, None, agent_input(), submit=True)
    engine.apply(record, "approve", chu)
    engine.apply(record, "approve", fu)
    with pytest.raises(WorkflowError) as exc:
        q.save_entrustment(maker, record, agent_input(principal_name="改名"))
    assert "变更" in exc.value.message


def test_maintainable_certificates(maker):
    assert q.maintainable_cert_numbers(maker) == {"粤械注准20152660001"}
    draft = q.save_entrustment(maker, None, agent_input())
    assert "国械注进20172400054" not in q.maintainable_cert_numbers(maker)  # draft does not count
    engine.apply(draft, "submit", maker)
    assert "国械注进20172400054" in q.maintainable_cert_numbers(maker)
    assert [c.number for c in q.selectable_certificates(maker)] == ["国械注进20172400054", "粤械注准20152660001"]
    q.add_certificates(maker, ["粤械注准20152660001"])
    assert [c.number for c in q.selectable_certificates(maker)] == ["国械注进20172400054"]  # listed ones drop out


def test_adding_a_certificate_neither_owned_nor_entrusted_is_refused(maker):
    with pytest.raises(ValidationFailed) as exc:
        q.add_certificates(maker, ["国械注准20153100011"])
    assert "请前往国家平台进行增补" in exc.value.errors["certificates"]
    assert count(QualCertificate) == 0
    created = q.add_certificates(maker, ["粤械注准20152660001"])
    assert created[0].state == "draft"
    with pytest.raises(ValidationFailed) as exc:
        q.add_certificates(maker, ["粤械注准20152660001"])
    assert "已在本单位注册证列表中" in exc.value.errors["certificates"]


def test_certificate_edit_and_submit_rules(maker):
    record = q.add_certificates(maker, ["粤械注准20152660001"])[0]
    with pytest.raises(ValidationFailed) as exc:
        q.save_certificate(maker, record, "张三", "123", "", None, submit=True)
    assert {"contact_phone", "scan"} <= set(exc.value.errors)
    with pytest.raises(ValidationFailed) as exc:
        q.save_certificate(maker, record, "张三", "13800138000", "", ("scan.pdf", b"MZ fake"), submit=True)
    assert "不是有效的PDF" in exc.value.errors["scan"]
    assert count(Attachment) == 0
    q.save_certificate(maker, record, "张三", "020-12345678", "", ("scan.pdf", PDF), submit=True)
    assert record.state == "pending_initial"


def test_change_of_effective_certificate_records_the_diff(maker):
    chu = make_platform_user("chu3", "初审员")
    fu = make_platform_user("fu3", "复审员")
    record = q.add_certificates(maker, ["粤械注准20152660001"])[0]
    q.save_certificate(maker, record, "张三", "13800138000", "", ("scan.pdf", PDF), submit=True)
    for who in (chu, fu):
        engine.apply(record, "approve", who)
    revision = engine.open_change(record, maker)
    assert len(q.files_of(revision)) == 1  # the scan comes along
    q.save_certificate(maker, revision, "李四", "13800138000", "", ("new-scan.pdf", PDF + b"v2"), submit=True)
    assert record.contact_name == "张三"  # still in force while the change is reviewed
    for who in (chu, fu):
        engine.apply(revision, "approve", who)
    db.session.refresh(record)
    assert record.contact_name == "李四" and [a.filename for a in q.files_of(record)] == ["new-scan.pdf"]
    last = engine.history_of("certificate", record.id)[-1]
    assert "李四" in last.diff and "new-scan.pdf" in last.diff


def _refuse_submission(monkeypatch, record_type):
    def refuse(record):
        raise WorkflowError("测试：提交被拒绝")

    monkeypatch.setattr(record_type, "check_complete", refuse)


def test_save_and_submit_is_one_transaction_for_a_certificate(maker, monkeypatch):
    """保存并提交 commits once: a refused 提交 leaves the saved fields as they were."""
    record = q.add_certificates(maker, ["粤械注准20152660001"])[0]
    q.save_certificate(maker, record, "张三", "13800138000", "", ("scan.pdf", PDF))
    _refuse_submission(monkeypatch, q.CERTIFICATE)
    with pytest.raises(WorkflowError):
        q.save_certificate(maker, record, "李四", "13900139000", "改过的备注", None, submit=True)
    db.session.expire_all()
    again = db.session.get(QualCertificate, record.id)
    assert (again.contact_name, again.contact_phone, again.remark, again.state) == ("张三", "13800138000", "", "draft")
    assert [h.action for h in engine.history_of("certificate", record.id)] == ["create"]
    monkeypatch.undo()
    q.save_certificate(maker, again, "李四", "13900139000", "", None, submit=True)
    db.session.expire_all()
    assert db.session.get(QualCertificate, record.id).state == "pending_initial"


def test_save_and_submit_of_a_new_entrustment_saves_nothing_when_refused(maker, monkeypatch):
    before = count(Entrustment), count(Attachment)
    _refuse_submission(monkeypatch, q.ENTRUSTMENT)
    with pytest.raises(WorkflowError):
        q.save_entrustment(maker, None, agent_input(), submit=True)
    assert (count(Entrustment), count(Attachment)) == before
