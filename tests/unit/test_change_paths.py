"""变更 of every record type through both review levels (issue 12 §1): children kept, added and
removed, attachments kept and replaced; the effective version stays in force until approval."""
import datetime as dt

import pytest
from sqlalchemy import func, select

import app.models.national  # noqa: F401
from app.extensions import db
from app.models import Entrustment, EntrustmentCertificate, QualProduct, UnitCategory, UnitRole
from app.services import products, qualification as q
from app.workflow import engine
from tests.factories import (make_certified, make_dictionary, make_national_cert, make_national_item,
                             make_platform_user)

PDF = b"%PDF-1.4\n%%EOF\n"
PDF2 = b"%PDF-1.4\n% second version\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 10
TODAY = dt.date.today()
A, B, C = "国械注进20172400054", "国械注进20182400055", "国械注许20233160006"
ITEM = "C0901010100000006626"


@pytest.fixture
def maker():
    user = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    for number in (A, B, C):
        make_national_cert(number, "Medtronic Inc.")
    return user


@pytest.fixture
def reviewers():
    return make_platform_user("chu_chg", "初审员"), make_platform_user("fu_chg", "复审员")


def approve_both(record, reviewers):
    for who in reviewers:
        engine.apply(record, "approve", who)


def agent(cert_nos, **overrides):
    data = dict(kind="agent", principal_name="Medtronic Inc.", valid_from=TODAY,
                valid_to=TODAY + dt.timedelta(days=365), cert_nos=cert_nos,
                uploads={"letter_en": ("letter-en.pdf", PDF), "letter_zh": ("letter-zh.png", PNG)})
    data.update(overrides)
    return q.EntrustmentInput(**data)


def effective_entrustment(maker, reviewers, cert_nos=(A, B)):
    record = q.save_entrustment(maker, None, agent(list(cert_nos)), submit=True)
    approve_both(record, reviewers)
    assert record.state == "effective"
    return record


def link_rows(record_id):
    return db.session.scalar(select(func.count(EntrustmentCertificate.id))
                             .where(EntrustmentCertificate.entrustment_id == record_id))


def test_entrustment_change_of_only_the_end_date_is_approved(maker, reviewers):
    """The reported bug: same linked certificates → UNIQUE(entrustment_id, cert_no) at 复审."""
    record = effective_entrustment(maker, reviewers)
    revision = engine.open_change(record, maker)
    assert revision.cert_numbers == [A, B]
    new_end = TODAY + dt.timedelta(days=900)
    q.save_entrustment(maker, revision, agent([A, B], valid_to=new_end, uploads={}), submit=True)
    assert db.session.get(Entrustment, record.id).valid_to == TODAY + dt.timedelta(days=365)  # still in force
    approve_both(revision, reviewers)
    db.session.expire_all()
    record = db.session.get(Entrustment, record.id)
    assert record.state == "effective" and record.valid_to == new_end
    assert record.cert_numbers == [A, B] and link_rows(record.id) == 2
    assert db.session.get(Entrustment, revision.id).state == "merged"
    last = engine.history_of("entrustment", record.id)[-1]
    assert last.to_state == "effective" and new_end.isoformat() in last.diff
    assert sorted(a.filename for a in q.files_of(record)) == ["letter-en.pdf", "letter-zh.png"]  # kept


def test_entrustment_change_adds_removes_certificates_and_replaces_a_letter(maker, reviewers):
    record = effective_entrustment(maker, reviewers)
    revision = engine.open_change(record, maker)
    q.save_entrustment(maker, revision, agent([A, C], uploads={"letter_en": ("letter-en-v2.pdf", PDF2)}),
                       submit=True)
    approve_both(revision, reviewers)
    db.session.expire_all()
    record = db.session.get(Entrustment, record.id)
    assert record.cert_numbers == [A, C] and link_rows(record.id) == 2
    files = q.files_by_slot(record)
    assert [a.filename for a in files["letter_en"]] == ["letter-en-v2.pdf"]
    assert [a.filename for a in files["letter_zh"]] == ["letter-zh.png"]
    diff = engine.history_of("entrustment", record.id)[-1].diff
    assert C in diff and "letter-en-v2.pdf" in diff


def test_entrustment_change_rejected_at_final_review_then_approved(maker, reviewers):
    record = effective_entrustment(maker, reviewers, cert_nos=(A,))
    revision = engine.open_change(record, maker)
    q.save_entrustment(maker, revision, agent([A, B], uploads={}), submit=True)
    chu, fu = reviewers
    engine.apply(revision, "approve", chu)
    engine.apply(revision, "reject", fu, opinion="请补充材料")
    assert revision.state == "rejected" and db.session.get(Entrustment, record.id).cert_numbers == [A]
    q.save_entrustment(maker, revision, agent([B], uploads={}), submit=True)
    approve_both(revision, reviewers)
    db.session.expire_all()
    assert db.session.get(Entrustment, record.id).cert_numbers == [B]


def test_second_change_after_a_merged_one(maker, reviewers):
    record = effective_entrustment(maker, reviewers)
    for certs in ([A, B, C], [C, A]):
        revision = engine.open_change(record, maker)
        q.save_entrustment(maker, revision, agent(certs, uploads={}), submit=True)
        approve_both(revision, reviewers)
        db.session.expire_all()
        record = db.session.get(Entrustment, record.id)
        assert sorted(record.cert_numbers) == sorted(certs)


@pytest.mark.parametrize("replace", [False, True])
def test_certificate_change_keeps_or_replaces_the_scan(maker, reviewers, replace):
    make_national_cert("粤械注准20152660001", maker.unit.name)
    record = q.add_certificates(maker, ["粤械注准20152660001"])[0]
    q.save_certificate(maker, record, "张三", "13800138000", "", ("scan.pdf", PDF), submit=True)
    approve_both(record, reviewers)
    revision = engine.open_change(record, maker)
    q.save_certificate(maker, revision, "李四", "020-12345678", "换联系人",
                       ("scan-v2.pdf", PDF2) if replace else None, submit=True)
    assert db.session.get(type(record), record.id).contact_name == "张三"
    approve_both(revision, reviewers)
    db.session.expire_all()
    record = db.session.get(type(record), record.id)
    assert (record.state, record.contact_name, record.contact_phone) == ("effective", "李四", "020-12345678")
    assert [a.filename for a in q.files_of(record)] == ["scan-v2.pdf" if replace else "scan.pdf"]


def test_product_change_through_both_levels(maker, reviewers):
    make_dictionary()
    cert = make_national_cert("粤械注准20152660001", maker.unit.name)
    make_national_item(cert, ITEM, specs=3)
    record = q.add_certificates(maker, ["粤械注准20152660001"])[0]
    q.save_certificate(maker, record, "张三", "13800138000", "", ("scan.pdf", PDF), submit=True)
    approve_both(record, reviewers)
    item = products.add_items(maker, [ITEM])[0]
    data = products.Packaging(code=ITEM + "0000001", min_unit="支", pack_unit="盒", pack_ratio=10,
                              mid_unit="箱", mid_ratio=20)
    product = products.add_packaging(maker, item, data, submit=True)
    approve_both(product, reviewers)
    revision = engine.open_change(product, maker)
    products.update_packaging(maker, revision, products.Packaging(
        code="", min_unit="支", pack_unit="盒", pack_ratio=12, mid_unit="", mid_ratio=None), submit=True)
    assert db.session.get(QualProduct, product.id).pack_spec == "10支/盒"
    approve_both(revision, reviewers)
    db.session.expire_all()
    product = db.session.get(QualProduct, product.id)
    assert (product.state, product.pack_spec, product.mid_spec) == ("effective", "12支/盒", "")
    assert "12支/盒" in engine.history_of("product", product.id)[-1].diff
