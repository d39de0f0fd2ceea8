"""Releases, 停用 and 转码 in the national import (issue 14 §2)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import NationalCertificate, NationalImport, NationalItem, NationalRelease, NationalSpec, NationalTransfer
from app.services import national_import as ni
from app.services.national_import import ImportRefused
from tests.unit.test_national_import import (CERT_A, CERT_B, CERT_HEADERS, ITEM_A, ITEM_HEADERS, SPEC_A1, SPEC_A2,
                                             SPEC_HEADERS, counts, full_workbook, run, workbook)

STOP_HEADERS = ["27位码", "原码状态", "停用日期"]
MOVE_HEADERS = ["原27位码", "27位码", "类型"]


def _spec(code):
    db.session.expire_all()
    return db.session.scalar(select(NationalSpec).where(NationalSpec.code == code))


def test_an_import_belongs_to_a_release_that_counts_what_it_added_and_changed(app):
    result = run(full_workbook(), version="2026-03-20", published_on=dt.date(2026, 3, 20))
    release = db.session.scalar(select(NationalRelease))
    assert (release.version, release.published_on) == ("2026-03-20", dt.date(2026, 3, 20))
    assert (release.added, release.changed, release.deactivated, release.transferred) == (5, 0, 0, 0)
    assert db.session.scalar(select(NationalImport.release_id)) == release.id
    assert _spec(SPEC_A1[0]).release_id == release.id and "版本 2026-03-20" in result.summary()
    changed = list(SPEC_A1)
    changed[2] = "19Fr"
    run(workbook(("规格型号", [SPEC_HEADERS, changed])), version="2026-04-30")
    second = db.session.scalar(select(NationalRelease).where(NationalRelease.version == "2026-04-30"))
    assert (second.added, second.changed) == (0, 1)
    spec = _spec(SPEC_A1[0])
    assert spec.release_id == second.id and spec.created_at != spec.updated_at


def test_without_a_version_the_release_is_named_by_its_date(app):
    run(full_workbook(), published_on=dt.date(2026, 3, 20))
    assert db.session.scalar(select(NationalRelease.version)) == "2026-03-20"
    run(full_workbook())  # today's date
    assert db.session.scalar(select(NationalRelease.version).order_by(NationalRelease.id.desc())) == \
        dt.datetime.utcnow().date().isoformat()


def test_a_release_date_cannot_be_contradicted(app):
    run(full_workbook(), version="V1", published_on=dt.date(2026, 3, 20))
    with pytest.raises(ImportRefused, match="发布日期"):
        run(full_workbook(), version="V1", published_on=dt.date(2026, 3, 21))


def test_deactivation_sheet_marks_specs_items_and_certificates(app):
    run(full_workbook())
    result = run(workbook(("停用表", [["停用编码", "原码状态", "停用日期"],
                                      [SPEC_A1[0], "停用", "2026-03-20"],
                                      [ITEM_A[0], "停用", ""],
                                      [CERT_B[0], "", ""],
                                      ["C99999999999999999999999999", "停用", ""],
                                      ["X123", "停用", ""],
                                      [SPEC_A2[0], "启用", ""]])),
                 version="V2", published_on=dt.date(2026, 3, 25))
    assert result.counts["deactivation"].updated == 3
    reasons = {e.row: e.reason for e in result.errors}
    assert "不在国家数据中" in reasons[5] and "应为27位码、20位码或注册备案号" in reasons[6]
    assert "应为“停用”" in reasons[7]
    spec = _spec(SPEC_A1[0])
    assert spec.is_deactivated and spec.status_label == "已停用" and spec.deactivated_on == dt.date(2026, 3, 20)
    item = db.session.scalar(select(NationalItem).where(NationalItem.code == ITEM_A[0]))
    assert item.is_deactivated and item.deactivated_on == dt.date(2026, 3, 25)  # the release's date
    cert = db.session.scalar(select(NationalCertificate).where(NationalCertificate.number == CERT_B[0]))
    assert cert.is_deactivated
    assert not _spec(SPEC_A2[0]).is_deactivated
    release = db.session.scalar(select(NationalRelease).where(NationalRelease.version == "V2"))
    assert release.deactivated == 3 and spec.deactivated_release_id == release.id
    again = run(workbook(("停用", [STOP_HEADERS, [SPEC_A1[0], "停用", ""]])))
    assert again.counts["deactivation"].unchanged == 1 and again.counts["deactivation"].updated == 0


def test_reimporting_a_deactivated_row_keeps_it_deactivated(app):
    run(full_workbook())
    run(workbook(("停用", [STOP_HEADERS, [SPEC_A1[0], "停用", ""]])))
    run(full_workbook())
    assert _spec(SPEC_A1[0]).is_deactivated


def test_transfer_sheet_records_old_to_new_codes(app):
    run(full_workbook())
    result = run(workbook(("转码表", [MOVE_HEADERS, [SPEC_A1[0], SPEC_A2[0], "变更"],
                                      [SPEC_A1[0], "C09010101000000066269999999", "映射"],
                                      [SPEC_A2[0], SPEC_A2[0], ""],
                                      [SPEC_A2[0], SPEC_A1[0], "合并"],
                                      [SPEC_A1[0], SPEC_A2[0], "映射"]])), version="V3")
    assert result.counts["transfer"].inserted == 1
    reasons = {e.row: e.reason for e in result.errors}
    assert "不在规格型号数据中" in reasons[3] and "相同" in reasons[4] and "变更 或 映射" in reasons[5]
    assert "重复" in reasons[6]
    move = db.session.scalar(select(NationalTransfer))
    assert (move.old_code, move.new_code, move.kind) == (SPEC_A1[0], SPEC_A2[0], "变更")
    assert db.session.scalar(select(NationalRelease.transferred).where(NationalRelease.version == "V3")) == 1
    again = run(workbook(("转码", [MOVE_HEADERS, [SPEC_A1[0], SPEC_A2[0], "变更"]])))
    assert again.counts["transfer"].unchanged == 1


def test_one_workbook_can_carry_data_deactivations_and_transfers(app):
    data = workbook(("转码", [MOVE_HEADERS, [SPEC_A1[0], SPEC_A2[0], "变更"]]),
                    ("停用", [STOP_HEADERS, [SPEC_A1[0], "停用", ""]]),
                    ("注册证", [CERT_HEADERS, CERT_A, CERT_B]), ("单件", [ITEM_HEADERS, ITEM_A]),
                    ("规格型号", [SPEC_HEADERS, SPEC_A1, SPEC_A2]))
    result = run(data, version="2026-03-20")
    assert result.total.rejected == 0 and counts() == (2, 1, 2)
    assert _spec(SPEC_A1[0]).is_deactivated
    assert db.session.scalar(select(NationalTransfer.new_code)) == SPEC_A2[0]


def test_the_template_offers_deactivation_and_transfer_sheets(app):
    import io

    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(ni.template_workbook()))
    assert {"停用", "转码"} <= set(book.sheetnames)
    assert [c.value for c in book["转码"][1]][:3] == ["原27位码", "27位码", "类型"]


# -- what 停用 and 转码 do to the units' records -------------------------------------------------
from app.models import QualProduct  # noqa: E402
from app.services import national, product_query, products  # noqa: E402
from app.services.errors import DomainError, ValidationFailed  # noqa: E402
from app.workflow import engine  # noqa: E402
from tests.factories import make_platform_user  # noqa: E402
from tests.unit.test_products import ITEM, maker, pack  # noqa: E402,F401  (maker: a fixture)

OLD = ITEM + "0000001"
NEW = ITEM + "0000002"


def _stop(*codes):
    return run(workbook(("停用", [STOP_HEADERS, *[[c, "停用", ""] for c in codes]])), version="V-stop")


def _move(old, new):
    return run(workbook(("转码", [MOVE_HEADERS, [old, new, "变更"]])), version="V-move")


def _effective(maker, code=OLD):
    """An effective product under an effective certificate (a product is in force only while its
    certificate is)."""
    from app.models import QualCertificate

    item = products.add_items(maker, [ITEM])[0]
    record = products.add_packaging(maker, item, pack(code=code), submit=True)
    reviewers = [make_platform_user(username, role) for username, role in (("chu-t", "初审员"), ("fu-t", "复审员"))]
    certificate = db.session.scalar(select(QualCertificate).where(QualCertificate.unit_id == maker.unit_id))
    for reviewer in reviewers:
        engine.apply(certificate, "approve", reviewer)
        engine.apply(record, "approve", reviewer)
    assert record.state == "effective"
    return record


def test_deactivated_rows_are_not_offered_by_pickers_but_stay_in_the_lists(maker):
    assert _stop(OLD).counts["deactivation"].updated == 1
    picked = national.search_specs({"item": ITEM}, active_only=True).rows
    listed = national.search_specs({"item": ITEM}).rows
    assert OLD not in {s.code for s in picked} and NEW in {s.code for s in picked}
    assert OLD in {s.code for s in listed}


def test_a_deactivated_item_cannot_be_added(maker):
    _stop(ITEM)
    assert products.selectable_items(maker) == []
    with pytest.raises(ValidationFailed) as exc:
        products.add_items(maker, [ITEM])
    assert "已被国家平台停用" in exc.value.errors["codes"]


def test_a_deactivated_certificate_is_not_offered_to_new_records(app):
    from app.models import UnitCategory, UnitRole
    from app.services import qualification as q
    from tests.factories import make_certified, make_national_cert

    user = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    make_national_cert("粤械注准20152660009", user.unit.name)
    make_national_cert("粤械注准20152660010", user.unit.name)
    _stop("粤械注准20152660009")
    assert [c.number for c in q.selectable_certificates(user)] == ["粤械注准20152660010"]
    with pytest.raises(ValidationFailed) as exc:
        q.add_certificates(user, ["粤械注准20152660009"])
    assert "已被国家平台停用" in exc.value.errors["certificates"]


def test_a_deactivated_code_takes_no_new_packaging(maker):
    item = products.add_items(maker, [ITEM])[0]
    _stop(OLD)
    with pytest.raises(ValidationFailed) as exc:
        products.add_packaging(maker, item, pack(code=OLD))
    assert "已被国家平台停用" in exc.value.errors["code"]


def test_product_query_marks_a_deactivated_code(maker):
    _effective(maker)
    _stop(OLD)
    row = product_query.search({"code": OLD}).rows[0]
    assert row[0].code == OLD and row[-1] == "deactivated"


def test_transfer_opens_a_change_revision_that_takes_the_new_code_after_review(maker):
    record = _effective(maker)
    with pytest.raises(DomainError, match="没有编码"):
        products.transfer_code(maker, record, NEW)  # no 转码 in the national data yet
    _move(OLD, NEW)
    _stop(OLD)
    assert [t.new_code for t in national.transfers_for([OLD])[OLD]] == [NEW]
    revision = products.transfer_code(maker, record, NEW)
    assert (revision.code, revision.state, revision.revision_of_id) == (NEW, "draft", record.id)
    assert record.code == OLD and record.state == "effective"  # in force until approved
    assert product_query.search({"code": OLD}).rows  # hospitals still see the old code
    with pytest.raises(engine.WorkflowError, match="进行中的变更"):
        products.transfer_code(maker, record, NEW)  # one change at a time
    engine.apply(revision, "submit", maker)
    for username, role in (("chu-x", "初审员"), ("fu-x", "复审员")):
        engine.apply(revision, "approve", make_platform_user(username, role))
    db.session.expire_all()
    record = db.session.get(QualProduct, record.id)
    assert record.code == NEW and record.state == "effective"
    assert [r[0].id for r in product_query.search({"code": NEW}).rows] == [record.id]
    assert not product_query.search({"code": OLD}).rows
    history = engine.history_of("product", record.id)
    assert any(["27位耗材医保编码", OLD, NEW] in (json_diff(h) or []) for h in history)


def json_diff(h):
    import json

    return json.loads(h.diff) if h.diff else None


def test_only_the_owner_may_transfer_and_only_effective_records(maker):
    from app.models import UnitCategory, UnitRole
    from tests.factories import make_certified

    item = products.add_items(maker, [ITEM])[0]
    draft = products.add_packaging(maker, item, pack(code=OLD))
    _move(OLD, NEW)
    with pytest.raises(Exception, match="已生效"):
        products.transfer_code(maker, draft, NEW)
    other = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    with pytest.raises(DomainError, match="记录不存在"):
        products.transfer_code(other, draft, NEW)


def test_an_upload_job_that_crashes_half_way_leaves_nothing_loaded_and_says_so(app, monkeypatch):
    """Certificates and items are merged, then the spec merge dies: the job says 失败, nothing stays."""
    import io

    from app import jobs
    from app.models import NationalUpload

    original = ni.loader.Stage.merge

    def merge(self):
        if self.kind.key == "spec":
            raise RuntimeError("worker lost its database connection")
        return original(self)

    monkeypatch.setattr(ni.loader.Stage, "merge", merge)
    job_id = ni.queue_upload(io.BytesIO(full_workbook()), "release.xlsx", None, version="V-crash")
    info = jobs.status(job_id)
    assert info.status == "failed" and info.error == jobs.MSG_FAILED
    db.session.rollback()
    assert counts() == (0, 0, 0)
    assert db.session.scalar(select(NationalRelease).where(NationalRelease.version == "V-crash")) is None
    assert db.session.scalar(select(NationalUpload)) is None  # the job took the file before it failed
