"""The qualification chain (issue 12 §2–§4): products only as valid as their certificate (and
委托授权), expiry and its reminders, and the ways out (撤销变更, 删除, 停用)."""
import datetime as dt

import pytest
from sqlalchemy import func, select

import app.models.national  # noqa: F401
from app.extensions import db
from app.models import (Entrustment, ExpiryReminder, QualCertificate, QualItem, QualProduct, SmsMessage,
                        UnitCategory, UnitRole)
from app.models.national import NationalCertificate
from app.services import chain, expiry, product_query, products, qualification as q
from app.services.errors import DomainError, ValidationFailed
from app.workflow import engine
from app.workflow.engine import WorkflowError
from tests.factories import (make_certified, make_dictionary, make_national_cert, make_national_item,
                             make_platform_user)

PDF = b"%PDF-1.4\n%%EOF\n"
TODAY = dt.date.today()
OWN, OWN_ITEM = "粤械注准20152660001", "C0901010100000006626"
IMPORTED, IMPORTED_ITEM = "国械注进20172400054", "C0901010100000006627"


@pytest.fixture
def maker():
    user = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    make_dictionary()
    make_national_item(make_national_cert(OWN, user.unit.name), OWN_ITEM, specs=5)
    make_national_item(make_national_cert(IMPORTED, "Medtronic Inc."), IMPORTED_ITEM, specs=5)
    return user


@pytest.fixture
def reviewers():
    return make_platform_user("chu_chain", "初审员"), make_platform_user("fu_chain", "复审员")


def approve(record, reviewers):
    for who in reviewers:
        engine.apply(record, "approve", who)
    return record


def certificate(maker, number=OWN, submit=True):
    record = q.add_certificates(maker, [number])[0]
    q.save_certificate(maker, record, "张三", "13800138000", "", ("scan.pdf", PDF), submit=submit)
    return record


def entrustment(maker, valid_to=None, submit=True):
    return q.save_entrustment(maker, None, q.EntrustmentInput(
        kind="agent", principal_name="Medtronic Inc.", valid_from=TODAY - dt.timedelta(days=10),
        valid_to=valid_to or TODAY + dt.timedelta(days=365), cert_nos=[IMPORTED],
        uploads={"letter_en": ("en.pdf", PDF), "letter_zh": ("zh.pdf", PDF)}), submit=submit)


def product(maker, item_code, n=1, submit=True):
    item = db.session.scalar(select(QualItem).where(QualItem.code == item_code)) or \
        products.add_items(maker, [item_code])[0]
    return products.add_packaging(maker, item, products.Packaging(
        code=f"{item_code}{n:07d}", min_unit="支", pack_unit="盒", pack_ratio=10), submit=submit)


def in_query(code):
    return [p.code for p, *_ in product_query.search({"code": code}).rows]


# -- §2 products only as valid as their certificate ---------------------------------------------------
def test_product_approval_refused_while_certificate_pending(maker, reviewers):
    cert = certificate(maker)
    record = product(maker, OWN_ITEM)
    chu, fu = reviewers
    engine.apply(record, "approve", chu)  # 初审 may look at it already
    with pytest.raises(WorkflowError) as exc:
        engine.apply(record, "approve", fu)
    assert "注册证粤械注准20152660001当前为“待初审”，尚未生效" in exc.value.message
    assert record.state == "pending_final"
    approve(cert, reviewers)
    engine.apply(record, "approve", fu)
    assert record.state == "effective" and record.cert_flag is None
    assert in_query(OWN_ITEM) == [OWN_ITEM + "0000001"]


def test_entrusted_certificate_needs_an_effective_entrustment(maker, reviewers):
    trust = entrustment(maker)  # submitted: enough to add the certificate and items
    cert = approve(certificate(maker, IMPORTED), reviewers)
    record = product(maker, IMPORTED_ITEM)
    engine.apply(record, "approve", reviewers[0])
    with pytest.raises(WorkflowError) as exc:
        engine.apply(record, "approve", reviewers[1])
    assert "须有已生效的委托授权" in exc.value.message
    s = chain.standing(maker.unit_id, IMPORTED)
    assert s.needs_entrustment and s.record.id == cert.id and [e.id for e in s.entrustments] == [trust.id]
    approve(trust, reviewers)
    engine.apply(record, "approve", reviewers[1])
    assert in_query(IMPORTED_ITEM) == [IMPORTED_ITEM + "0000001"]


def test_expired_certificate_takes_its_products_out_of_the_query(maker, reviewers):
    approve(certificate(maker), reviewers)
    record = approve(product(maker, OWN_ITEM), reviewers)
    national = db.session.scalar(select(NationalCertificate).where(NationalCertificate.number == OWN))
    national.valid_to = TODAY - dt.timedelta(days=1)
    db.session.commit()
    assert in_query(OWN_ITEM) == [OWN_ITEM + "0000001"]  # until the daily run flags it
    result = expiry.run()
    assert result.flags_changed == 1 and [d.label for d in result.expired] == [f"注册证{OWN}"]
    db.session.refresh(record)
    assert record.cert_flag == "expired" and chain.FLAG_LABELS[record.cert_flag] == "证书过期"
    assert in_query(OWN_ITEM) == []
    assert record.state == "effective"  # the unit's own record is kept, flagged
    assert expiry.run().expired == []  # flagged once


def test_expired_entrustment_flags_products_and_a_change_restores_them(maker, reviewers):
    trust = approve(entrustment(maker), reviewers)
    approve(certificate(maker, IMPORTED), reviewers)
    record = approve(product(maker, IMPORTED_ITEM), reviewers)
    trust.valid_to = TODAY - dt.timedelta(days=1)
    db.session.commit()
    expiry.run()
    db.session.refresh(record)
    assert record.cert_flag == "expired" and in_query(IMPORTED_ITEM) == []
    assert "已过期" in chain.standing(maker.unit_id, IMPORTED).reasons[0]
    revision = engine.open_change(trust, maker)
    q.save_entrustment(maker, revision, q.EntrustmentInput(
        kind="agent", principal_name="Medtronic Inc.", valid_from=TODAY, valid_to=TODAY + dt.timedelta(days=700),
        cert_nos=[IMPORTED]), submit=True)
    approve(revision, reviewers)
    db.session.refresh(record)
    assert record.cert_flag is None and in_query(IMPORTED_ITEM) == [IMPORTED_ITEM + "0000001"]


def test_change_of_a_certificate_under_review_keeps_products_in_force(maker, reviewers):
    cert = approve(certificate(maker), reviewers)
    approve(product(maker, OWN_ITEM), reviewers)
    revision = engine.open_change(cert, maker)
    q.save_certificate(maker, revision, "李四", "13800138000", "", None, submit=True)
    engine.apply(revision, "approve", reviewers[0])
    engine.apply(revision, "reject", reviewers[1], opinion="联系人有误")
    assert chain.standing(maker.unit_id, OWN).in_force
    assert in_query(OWN_ITEM) == [OWN_ITEM + "0000001"]


def test_a_product_change_is_refused_while_the_certificate_is_expired(maker, reviewers):
    approve(certificate(maker), reviewers)
    record = approve(product(maker, OWN_ITEM), reviewers)
    national = db.session.scalar(select(NationalCertificate).where(NationalCertificate.number == OWN))
    national.valid_to = TODAY - dt.timedelta(days=3)
    db.session.commit()
    revision = engine.open_change(record, maker)
    products.update_packaging(maker, revision, products.Packaging("", "支", "盒", 12), submit=True)
    engine.apply(revision, "approve", reviewers[0])
    with pytest.raises(WorkflowError) as exc:
        engine.apply(revision, "approve", reviewers[1])
    assert "已过期" in exc.value.message


# -- §3 expiry ----------------------------------------------------------------------------------------
def sms_count():
    return db.session.scalar(select(func.count(SmsMessage.id)).where(SmsMessage.purpose == "expiry_reminder"))


def test_reminders_90_30_7_days_before_each_once(maker, reviewers):
    end = TODAY + dt.timedelta(days=120)
    trust = approve(entrustment(maker, valid_to=end), reviewers)
    for days_before, expected in ((100, 0), (90, 1), (89, 1), (30, 2), (29, 2), (7, 3), (1, 3)):
        expiry.run(end - dt.timedelta(days=days_before))
        assert sms_count() == expected, days_before
    texts = list(db.session.scalars(select(SmsMessage.content).order_by(SmsMessage.id)))
    assert trust.number in texts[0] and "剩余90天" in texts[0] and "剩余7天" in texts[2]
    assert db.session.scalar(select(SmsMessage.phone)) == maker.unit.contact_phone
    expiry.run(end + dt.timedelta(days=1))
    assert sms_count() == 3 and db.session.scalar(select(func.count(ExpiryReminder.id)).where(
        ExpiryReminder.days == 0)) == 1


def test_a_record_first_seen_inside_a_window_gets_one_text(maker, reviewers):
    end = TODAY + dt.timedelta(days=20)
    approve(entrustment(maker, valid_to=end), reviewers)
    expiry.run()
    assert sms_count() == 1 and "剩余20天" in db.session.scalar(select(SmsMessage.content))
    expiry.run(end - dt.timedelta(days=7))
    assert sms_count() == 2


def test_a_change_of_the_end_date_starts_a_new_series(maker, reviewers):
    trust = approve(entrustment(maker, valid_to=TODAY + dt.timedelta(days=80)), reviewers)
    expiry.run()
    revision = engine.open_change(trust, maker)
    q.save_entrustment(maker, revision, q.EntrustmentInput(
        kind="agent", principal_name="Medtronic Inc.", valid_from=TODAY, valid_to=TODAY + dt.timedelta(days=85),
        cert_nos=[IMPORTED]), submit=True)
    approve(revision, reviewers)
    expiry.run()
    assert sms_count() == 2


def test_certificate_reminder_uses_the_national_validity(maker, reviewers):
    approve(certificate(maker), reviewers)
    national = db.session.scalar(select(NationalCertificate).where(NationalCertificate.number == OWN))
    national.valid_to = TODAY + dt.timedelta(days=30)
    db.session.commit()
    assert [d.label for d in expiry.expiring(maker.unit_id)] == [f"注册证{OWN}"]
    expiry.run()
    assert sms_count() == 1 and OWN in db.session.scalar(select(SmsMessage.content))


def test_expired_certificates_are_not_offered_for_new_records(maker, reviewers):
    national = db.session.scalar(select(NationalCertificate).where(NationalCertificate.number == OWN))
    national.valid_to = TODAY - dt.timedelta(days=1)
    db.session.commit()
    assert OWN not in [c.number for c in q.selectable_certificates(maker)]
    with pytest.raises(ValidationFailed) as exc:
        q.add_certificates(maker, [OWN])
    assert "已过期" in exc.value.errors["certificates"]
    imported = db.session.scalar(select(NationalCertificate).where(NationalCertificate.number == IMPORTED))
    imported.valid_to = TODAY - dt.timedelta(days=1)
    db.session.commit()
    with pytest.raises(ValidationFailed) as exc:
        entrustment(maker, submit=False)
    assert "已过期" in exc.value.errors["certificates"]
    with pytest.raises(ValidationFailed) as exc:
        entrustment(maker, valid_to=TODAY - dt.timedelta(days=2), submit=False)
    assert "已过期" in exc.value.errors["valid_to"]


def test_items_under_an_expired_certificate_are_not_offered(maker, reviewers):
    cert = certificate(maker)
    assert [i.code for i in products.selectable_items(maker)] == [OWN_ITEM]
    assert [i.code for i in products.selectable_items(maker, code="C09010101")] == [OWN_ITEM]
    assert products.selectable_items(maker, code="C17") == []
    assert [i.code for i in products.selectable_items(maker, cert_no="2015266")] == [OWN_ITEM]
    national = db.session.scalar(select(NationalCertificate).where(NationalCertificate.number == cert.cert_no))
    national.valid_to = TODAY - dt.timedelta(days=1)
    db.session.commit()
    assert products.selectable_items(maker) == []
    with pytest.raises(ValidationFailed) as exc:
        products.add_items(maker, [OWN_ITEM])
    assert "已过期" in exc.value.errors["codes"]


# -- §4 ways out ---------------------------------------------------------------------------------------
def test_cancel_change_drops_the_revision_and_keeps_the_effective_version(maker, reviewers):
    cert = approve(certificate(maker), reviewers)
    revision = engine.open_change(cert, maker)
    q.save_certificate(maker, revision, "李四", "13800138000", "", ("new.pdf", PDF + b"2"), submit=True)
    with pytest.raises(WorkflowError) as exc:
        engine.cancel_change(revision, maker)  # 待初审: withdraw first
    assert "请先撤回" in exc.value.message
    engine.apply(revision, "withdraw", maker)
    engine.cancel_change(revision, maker)
    db.session.expire_all()
    assert db.session.scalar(select(func.count(QualCertificate.id))) == 1
    cert = db.session.get(QualCertificate, cert.id)
    assert cert.state == "effective" and cert.contact_name == "张三"
    assert [a.filename for a in q.files_of(cert)] == ["scan.pdf"]
    assert engine.history_of("certificate", cert.id)[-1].action == "cancel_change"
    assert engine.open_change(cert, maker).revision_of_id == cert.id  # a new change can start


def test_cancel_change_of_a_rejected_revision_and_not_of_an_effective_record(maker, reviewers):
    cert = approve(certificate(maker), reviewers)
    with pytest.raises(WorkflowError):
        engine.cancel_change(cert, maker)
    revision = engine.open_change(cert, maker)
    engine.apply(revision, "submit", maker)
    engine.apply(revision, "reject", reviewers[0], opinion="不需要变更")
    engine.cancel_change(revision, maker)
    assert engine.pending_revision(cert) is None


def test_never_submitted_drafts_can_be_deleted(maker, reviewers):
    draft = entrustment(maker, submit=False)
    engine.delete_draft(draft, maker)
    assert db.session.scalar(select(func.count(Entrustment.id))) == 0
    cert = certificate(maker, submit=False)
    engine.delete_draft(cert, maker)
    assert db.session.scalar(select(func.count(QualCertificate.id))) == 0
    cert = certificate(maker)
    engine.apply(cert, "withdraw", maker)
    with pytest.raises(WorkflowError) as exc:
        engine.delete_draft(cert, maker)
    assert "从未提交过" in exc.value.message
    other = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    draft = entrustment(maker, submit=False)
    with pytest.raises(WorkflowError):
        engine.delete_draft(draft, other)


def test_single_item_removed_only_while_it_has_no_products(maker, reviewers):
    certificate(maker)
    item = products.add_items(maker, [OWN_ITEM])[0]
    record = product(maker, OWN_ITEM, submit=False)
    with pytest.raises(DomainError) as exc:
        products.remove_item(maker, item)
    assert "已有1条产品包装信息" in exc.value.message
    products.delete_draft(maker, record)
    products.remove_item(maker, item)
    assert db.session.scalar(select(func.count(QualItem.id))) == 0


def test_deactivation_goes_through_review_and_leaves_the_query(maker, reviewers):
    approve(certificate(maker), reviewers)
    record = approve(product(maker, OWN_ITEM), reviewers)
    request = products.request_deactivation(maker, record)
    assert request.state == "pending_initial" and request.purpose == "deactivate"
    engine.apply(request, "withdraw", maker)
    with pytest.raises(DomainError):  # a 停用 request has nothing to edit
        products.update_packaging(maker, request, products.Packaging("", "支", "盒", 99))
    engine.apply(request, "submit", maker)
    assert in_query(OWN_ITEM) == [OWN_ITEM + "0000001"]  # in force until approved
    approve(request, reviewers)
    db.session.refresh(record)
    assert record.state == "deactivated" and record.state_label == "已停用"
    assert in_query(OWN_ITEM) == []
    actions = [h.action for h in engine.history_of("product", record.id)]
    assert actions[-3:] == ["submit", "approve", "approve"] and "deactivate" in actions
    assert engine.history_of("product", record.id)[-1].to_state == "deactivated"
    again = product(maker, OWN_ITEM)  # the same packaging may be entered again later
    assert again.state == "pending_initial"
    with pytest.raises(DomainError):
        products.request_deactivation(maker, record)
