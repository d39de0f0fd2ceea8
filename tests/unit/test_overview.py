"""The numbers of the overview pages, on fixed data (SQLite and PostgreSQL alike)."""
from __future__ import annotations

import datetime as dt
import itertools

import pytest

from app.extensions import db
from app.models import (Entrustment, NationalCertificate, NationalImport, NationalItem, QualCertificate, QualItem,
                        QualProduct, Unit, WorkflowHistory)
from app.services import overview

NOW = dt.datetime(2026, 12, 2, 12, 0)  # a Wednesday
TODAY = NOW.date()
_n = itertools.count(1)


def unit(name="甲企业", category="enterprise", role="manufacturer", active=True, created=NOW):
    u = Unit(category=category, name=name, credit_code=f"T{next(_n):017d}", contact_name="x",
             contact_id_number="x", contact_phone="13800000000", unit_role=role, active=active, created_at=created)
    db.session.add(u)
    db.session.flush()
    return u


def entrustment(u, state, **kw):
    e = Entrustment(unit_id=u.id, kind="contract", principal_name="委托方", state=state, **kw)
    db.session.add(e)
    db.session.flush()
    return e


def certificate(u, state, cert_no="国械注准20153100011", **kw):
    c = QualCertificate(unit_id=u.id, cert_no=cert_no, state=state, **kw)
    db.session.add(c)
    db.session.flush()
    return c


def item(u, code="C0901010100000006626"):
    i = QualItem(unit_id=u.id, code=code)
    db.session.add(i)
    db.session.flush()
    return i


def product(u, it, state, n=None, **kw):
    p = QualProduct(unit_id=u.id, item_id=it.id, code=f"{it.code}{n or next(_n):07d}", min_unit="支",
                    pack_unit="盒", pack_ratio=10, state=state, **kw)
    db.session.add(p)
    db.session.flush()
    return p


def days_ago(d: float) -> dt.datetime:
    return NOW - dt.timedelta(days=d)


# -- records by state ------------------------------------------------------------------
def test_records_count_once_in_the_state_of_their_root_and_per_unit():
    a, b = unit("甲"), unit("乙")
    root = entrustment(a, "effective")
    entrustment(a, "pending_initial", revision_of_id=root.id)  # a change under review: not a second record
    entrustment(a, "merged", revision_of_id=root.id)
    entrustment(a, "draft")
    entrustment(a, "draft")
    entrustment(b, "rejected")
    db.session.commit()
    assert overview.state_counts(Entrustment, a.id) == {
        "draft": 2, "pending_initial": 0, "pending_final": 0, "effective": 1, "rejected": 0}
    assert overview.state_counts(Entrustment)["rejected"] == 1
    assert overview.state_counts(Entrustment)["draft"] == 2
    chart = overview.records_by_state_chart(overview.record_kinds(), a.id)
    assert chart.categories == ["委托授权", "注册证", "产品"]
    assert chart.value("待提交", "委托授权") == 2
    assert chart.value("已生效", "委托授权") == 1
    assert chart.value("审核不通过", "委托授权") == 0  # 乙's record is not 甲's


def test_records_chart_links_each_number_to_its_filtered_list():
    a = unit()
    certificate(a, "pending_final")
    db.session.commit()
    kinds = [overview.kind_by_key("certificate")]
    chart = overview.records_by_state_chart(kinds, a.id, link=lambda k, s: f"/{k.key}?state={s}")
    final = next(s for s in chart.series if s.name == "待复审")
    assert final.values == [1] and final.links == ["/certificate?state=pending_final"]


# -- review backlog ------------------------------------------------------------------------
def test_backlog_counts_waits_percentiles_and_oldest_of_each_queue():
    a = unit("甲")
    waits = [1, 2, 3, 10]
    made = [entrustment(a, "pending_initial", submitted_at=days_ago(d)) for d in waits]
    # 待复审 waits from the 初审 decision, not from 提交
    entrustment(a, "pending_final", submitted_at=days_ago(30), reviewed_at=days_ago(4))
    entrustment(a, "effective", submitted_at=days_ago(50))
    db.session.commit()
    kind = overview.kind_by_key("entrustment")
    initial = overview.backlog(kind, "initial", NOW)
    assert initial.count == 4
    assert initial.p50_days == 2.0  # nearest rank: the 2nd of 4 waits
    assert initial.p90_days == 10.0  # the 4th of 4
    assert initial.oldest.record_id == made[3].id and initial.oldest.waited_days == 10.0
    assert initial.oldest.unit_name == "甲"
    final = overview.backlog(kind, "final", NOW)
    assert (final.count, final.p50_days, final.p90_days) == (1, 4.0, 4.0)
    empty = overview.backlog(overview.kind_by_key("product"), "initial", NOW)
    assert (empty.count, empty.p50_days, empty.oldest) == (0, None, None)


def test_percentiles_use_the_nearest_rank_on_ten_items():
    a = unit()
    for d in range(1, 11):  # waits 1..10 days
        certificate(a, "pending_initial", submitted_at=days_ago(d))
    db.session.commit()
    b = overview.backlog(overview.kind_by_key("certificate"), "initial", NOW)
    assert (b.count, b.p50_days, b.p90_days, b.oldest.waited_days) == (10, 5.0, 9.0, 10.0)


def test_backlog_charts_and_oldest_items_across_queues():
    a = unit()
    it = item(a)
    old = product(a, it, "pending_initial", submitted_at=days_ago(7))
    certificate(a, "pending_initial", submitted_at=days_ago(2))
    certificate(a, "pending_final", submitted_at=days_ago(9), reviewed_at=days_ago(1))
    db.session.commit()
    charts, rows = overview.backlog_charts(["initial"], NOW, link=lambda k, level: f"/review/{k.key}/{level}/")
    count = charts[0]
    assert count.categories == ["委托授权·待初审", "注册证·待初审", "产品·待初审"]
    assert count.series[0].values == [0, 1, 1]
    assert count.series[0].links[2] == "/review/product/initial/"
    waits = charts[1]
    assert waits.value("最久", "产品·待初审") == 7.0
    items = overview.oldest_items(["initial", "final"], NOW)
    assert [(i.rtype, i.queue) for i in items] == [("product", "initial"), ("certificate", "initial"),
                                                   ("certificate", "final")]
    assert items[0].record_id == old.id
    assert [(i.rtype, i.queue) for i in overview.oldest_items(["final"], NOW)] == [("certificate", "final")]


# -- units and registrations ---------------------------------------------------------------
def test_units_by_category_role_and_status():
    unit(category="enterprise", role="manufacturer")
    unit(category="enterprise", role="distributor", active=False)
    unit(category="enterprise", role=None)
    unit(category="designated", role="designated_hospital")
    unit(category="non_designated", role="non_designated_pharmacy", active=False)
    db.session.commit()
    by_role, by_status = overview.unit_charts()
    assert by_role.categories == ["定点医疗机构/定点药店", "非定点医疗机构/非定点药店", "企业"]
    assert by_role.value("生产企业", "企业") == 1
    assert by_role.value("配送企业", "企业") == 1
    assert by_role.value("未认证", "企业") == 1
    assert by_role.value("定点医疗机构", "定点医疗机构/定点药店") == 1
    assert "定点药店" not in [s.name for s in by_role.series]  # no unit holds it: no empty column
    assert by_status.value("启用", "企业") == 2 and by_status.value("停用", "企业") == 1
    assert by_status.value("停用", "非定点医疗机构/非定点药店") == 1


def test_registrations_per_week_monday_first_over_twelve_weeks():
    monday = dt.datetime(2026, 11, 30, 9)  # this week's Monday
    unit(created=monday)
    unit(created=NOW)
    unit(created=monday.replace(hour=0) - dt.timedelta(minutes=1))  # Sunday 23:59: last week
    unit(created=monday - dt.timedelta(weeks=11))  # the first week shown
    unit(created=monday - dt.timedelta(weeks=12))  # too old
    db.session.commit()
    chart = overview.registrations_chart(TODAY)
    assert len(chart.categories) == 12
    assert chart.categories[-1] == "11-30" and chart.categories[0] == "09-14"
    assert chart.series[0].values[-1] == 2
    assert chart.series[0].values[-2] == 1
    assert chart.series[0].values[0] == 1
    assert sum(chart.series[0].values) == 4


# -- decisions ------------------------------------------------------------------------------
def _decision(user_id, action, at):
    db.session.add(WorkflowHistory(record_type="certificate", record_id=1, unit_id=1, user_id=user_id,
                                   action=action, from_state="pending_initial", to_state="pending_final",
                                   created_at=at))


def test_decisions_per_day_of_one_reviewer_over_thirty_days():
    _decision(7, "approve", NOW)
    _decision(7, "approve", NOW - dt.timedelta(hours=1))
    _decision(7, "reject", NOW)
    _decision(7, "approve", days_ago(29))
    _decision(7, "approve", days_ago(30))  # outside the 30 days
    _decision(7, "submit", NOW)  # not a decision
    _decision(8, "approve", NOW)  # someone else's
    db.session.commit()
    chart = overview.decisions_chart(7, TODAY)
    assert len(chart.categories) == 30 and chart.categories[-1] == "12-02"
    assert chart.value("审核通过", "12-02") == 2
    assert chart.value("审核不通过", "12-02") == 1
    assert chart.value("审核通过", chart.categories[0]) == 1
    assert sum(chart.series[0].values) == 3 and sum(chart.series[1].values) == 1


# -- national imports -----------------------------------------------------------------------------
def test_national_imports_added_changed_rejected_per_run_oldest_first():
    """Before any release exists (or before releases exist at all): one group per finished run."""
    for i, (status, ins, upd, rej) in enumerate((("done", 10, 0, 1), ("refused", 0, 0, 0), ("done", 2, 5, 0))):
        db.session.add(NationalImport(token=f"t{i}", created_at=NOW + dt.timedelta(minutes=i), source="cli",
                                      filename=f"f{i}.xlsx", status=status, inserted=ins, updated=upd,
                                      unchanged=0, rejected=rej))
    db.session.commit()
    chart = overview.national_imports_chart()
    assert len(chart.categories) == 2  # a refused file changed nothing
    assert chart.categories[0].endswith("f0.xlsx")
    assert [s.values for s in chart.series] == [[10, 2], [0, 5], [1, 0]]


# -- expiries and flags --------------------------------------------------------------------------------
def _national(number, valid_to):
    cert = NationalCertificate(number=number, product_name="导管", registrant="甲", management_class="II",
                               origin="domestic", valid_from=dt.date(2020, 1, 1), valid_to=valid_to)
    db.session.add(cert)
    db.session.flush()
    return cert


def test_expiring_counts_effective_roots_per_bucket_for_the_unit_only():
    a, b = unit("甲"), unit("乙")
    for d in (-5, 0, 10, 30, 31, 60, 61, 90, 91):
        entrustment(a, "effective", valid_to=TODAY + dt.timedelta(days=d))
    entrustment(a, "draft", valid_to=TODAY + dt.timedelta(days=10))  # not in force
    entrustment(b, "effective", valid_to=TODAY + dt.timedelta(days=10))  # another unit
    _national("粤械注准20152660001", TODAY + dt.timedelta(days=45))
    _national("粤械注准20152660002", TODAY - dt.timedelta(days=1))
    certificate(a, "effective", cert_no="粤械注准20152660001")
    certificate(a, "effective", cert_no="粤械注准20152660002")
    certificate(b, "effective", cert_no="粤械注准20152660001")
    db.session.commit()
    chart = overview.expiry_chart(a.id, TODAY, ["entrustment", "certificate"],
                                  link=lambda k, bucket: f"/{k}?expires={bucket}")
    assert chart.categories == ["已过期", "30天内", "31–60天", "61–90天"]
    assert chart.series[0].values == [1, 3, 2, 2]
    assert chart.series[1].values == [1, 0, 1, 0]
    assert chart.series[1].links[2] == "/certificate?expires=31-60"


CHAIN_FLAGS = hasattr(QualProduct, "cert_flag")
RELEASES = overview._national_model("NationalRelease") is not None
CODE_FLAGS = hasattr(overview._national_model("NationalSpec"), "status")


@pytest.mark.skipif(CHAIN_FLAGS, reason="the qualification chain keeps QualProduct.cert_flag: tested below")
def test_products_flagged_when_their_national_certificate_has_expired():
    a, b = unit("甲"), unit("乙")
    expired = _national("粤械注准20152660003", TODAY - dt.timedelta(days=1))
    valid = _national("粤械注准20152660004", TODAY + dt.timedelta(days=400))
    for cert, code in ((expired, "C0901010100000000001"), (valid, "C0901010100000000002")):
        db.session.add(NationalItem(code=code, name="导管", certificate_id=cert.id))
    db.session.flush()
    old_item, ok_item = item(a, "C0901010100000000001"), item(a, "C0901010100000000002")
    product(a, old_item, "effective")
    product(a, old_item, "draft")
    product(a, ok_item, "effective")
    product(b, item(b, "C0901010100000000001"), "effective")
    db.session.commit()
    chart = overview.product_flags_chart(a.id, TODAY)
    assert chart.value("产品数", "注册证已过有效期") == 2
    assert "证书失效标记尚未上线" in chart.note[0]


@pytest.mark.skipif(not CHAIN_FLAGS, reason="QualProduct.cert_flag arrives with the qualification chain")
def test_products_flagged_by_the_chains_certificate_flag():
    a, b = unit("甲"), unit("乙")
    it = item(a)
    product(a, it, "effective", cert_flag="invalid")
    product(a, it, "draft", cert_flag="invalid")
    product(a, it, "effective", cert_flag="expired")
    product(a, it, "effective")
    product(b, item(b), "effective", cert_flag="invalid")
    db.session.commit()
    chart = overview.product_flags_chart(a.id, TODAY, link=lambda f: f"/p?flag={f}")
    assert chart.value("产品数", "证书失效") == 2
    assert chart.value("产品数", "注册证已过有效期") == 1
    assert "/p?flag=cert_invalid" in chart.series[0].links
    f = overview.list_filter("product", {"flag": "cert_invalid"}, TODAY)
    from sqlalchemy import func, select

    assert db.session.scalar(select(func.count()).select_from(QualProduct).where(
        QualProduct.unit_id == a.id, *f.conditions)) == 2


@pytest.mark.skipif(not CODE_FLAGS, reason="停用 / 转码 arrive with the national releases")
def test_products_flagged_by_deactivated_and_transferred_national_codes():
    from app.models.national import NationalSpec

    transfer = overview._national_model("NationalTransfer")
    a = unit("甲")
    cert = _national("粤械注准20152660005", TODAY + dt.timedelta(days=400))
    nat = NationalItem(code="C0901010100000000005", name="导管", certificate_id=cert.id)
    db.session.add(nat)
    db.session.flush()
    codes = [f"C0901010100000000005{n:07d}" for n in range(1, 4)]
    db.session.add_all([NationalSpec(code=codes[0], item_id=nat.id, status="deactivated"),
                        NationalSpec(code=codes[1], item_id=nat.id),
                        NationalSpec(code=codes[2], item_id=nat.id)])
    db.session.add(transfer(old_code=codes[1], new_code=codes[2], kind="变更"))
    it = item(a, "C0901010100000000005")
    for n in (1, 2, 3):
        product(a, it, "effective", n=n)
    db.session.commit()
    chart = overview.product_flags_chart(a.id, TODAY)
    assert chart.value("产品数", "国家编码已停用") == 1
    assert chart.value("产品数", "国家编码已转码（待变更）") == 1


@pytest.mark.skipif(not RELEASES, reason="national releases arrive with issue 14")
def test_national_imports_grouped_by_release():
    release = overview._national_model("NationalRelease")
    r1 = release(version="2026.10", added=100, changed=5, deactivated=2, transferred=1,
                 created_at=NOW - dt.timedelta(days=30))
    r2 = release(version="2026.11", added=7, changed=50, deactivated=0, transferred=3, created_at=NOW)
    db.session.add_all([r1, r2])
    db.session.flush()
    for i, (rel, rejected, status) in enumerate(((r1, 4, "done"), (r1, 1, "done"), (r2, 9, "refused"))):
        db.session.add(NationalImport(token=f"r{i}", source="cli", filename="f.xlsx", status=status, inserted=0,
                                      updated=0, unchanged=0, rejected=rejected, release_id=rel.id))
    db.session.commit()
    chart = overview.national_imports_chart()
    assert chart.categories == ["2026.10", "2026.11"]
    assert chart.value("新增", "2026.10") == 100 and chart.value("转码", "2026.11") == 3
    assert chart.value("拒绝", "2026.10") == 5 and chart.value("拒绝", "2026.11") == 0


def test_list_filters_select_exactly_the_rows_behind_each_number():
    from sqlalchemy import func, select

    a = unit()
    for d in (5, 40, 200):
        entrustment(a, "effective", valid_to=TODAY + dt.timedelta(days=d))
    entrustment(a, "pending_initial")
    db.session.commit()
    chart = overview.expiry_chart(a.id, TODAY, ["entrustment"])
    for i, (bucket, *_rest) in enumerate(overview.EXPIRY_BUCKETS):
        f = overview.list_filter("entrustment", {"expires": bucket}, TODAY)
        n = db.session.scalar(select(func.count()).select_from(Entrustment).where(Entrustment.unit_id == a.id,
                                                                                  *f.conditions))
        assert n == chart.series[0].values[i]
    f = overview.list_filter("entrustment", {"state": "pending_initial"}, TODAY)
    assert f.labels == ["待初审"]
    assert db.session.scalar(select(func.count()).select_from(Entrustment).where(*f.conditions)) == 1
    assert not overview.list_filter("entrustment", {"state": "bogus", "flag": "cert_expired"}, TODAY).active


# -- the chart object -----------------------------------------------------------------------------------
def test_table_and_translation_keep_the_numbers():
    chart = overview.Chart("k", "资质记录状态分布", "stack", ["委托授权", "注册证"],
                           [overview.Series("待提交", [1, 2]), overview.Series("已生效", [3, None])],
                           category_title="记录类型")
    headers, rows = chart.table()
    assert headers == ["记录类型", "待提交", "已生效"]
    assert rows == [["委托授权", 1, 3], ["注册证", 2, None]]
    upper = chart.translated(lambda s: f"<{s}>")
    assert upper.title == "<资质记录状态分布>" and upper.categories == ["<委托授权>", "<注册证>"]
    assert upper.as_json()["series"][0] == {"name": "<待提交>", "values": [1, 2], "links": None}
    chart.category_parts = [("委托授权", "待初审"), ("注册证", "待复审")]
    assert chart.translated(lambda s: s.upper() + "!").categories == ["委托授权!·待初审!", "注册证!·待复审!"]
