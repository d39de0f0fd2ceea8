"""Overview pages (平台概览, 我的待办, 资质概览): the numbers behind the charts.

Every figure is an aggregate the database computes on an index (GROUP BY on
``(unit_id, state, revision_of_id)``, ranks on ``(state, submitted_at)`` /
``(state, reviewed_at)``, ``(user_id, created_at)``); Python only reshapes the
few grouped rows into :class:`Chart` objects.  The same objects feed the
ECharts canvas, the table beside it and the CSV / Excel export, so the three
can never disagree.  Labels are Chinese source strings (marked with ``N_``);
views translate them when they render.

Counting rules (where the issue is silent):

* a qualification record counts once, in the state of its root row
  (``revision_of_id IS NULL``); a change revision under review is a backlog
  item (it waits in a queue) but not a second record;
* the waiting time of 待初审 runs from 提交 (``submitted_at``), of 待复审 from the
  初审 decision (``reviewed_at``): the time the item has waited in *that* queue;
  p50 / p90 are nearest-rank percentiles read off the index, not estimates;
* “expiring within 90 days” looks at 已生效 records only (a draft is not in
  force); certificates use the national 有效期结束 of their 注册备案号.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from sqlalchemy import and_, func, select

from app.extensions import db
from app.i18n import N_
from app.models import Entrustment, QualCertificate, QualItem, QualProduct, Unit, WorkflowHistory
from app.models.national import NationalCertificate, NationalImport, NationalItem
from app.models.unit import CATEGORY_LABELS, UNIT_ROLE_LABELS, UnitCategory, UnitRole
from app.security import bundles
from app.workflow import registry
from app.workflow.engine import State

# -- labels (source strings; the catalog translates them) --------------------
STATE_ORDER = (State.DRAFT.value, State.PENDING_INITIAL.value, State.PENDING_FINAL.value,
               State.EFFECTIVE.value, State.REJECTED.value)
STATE_NAMES = {
    State.DRAFT.value: N_("待提交"),
    State.PENDING_INITIAL.value: N_("待初审"),
    State.PENDING_FINAL.value: N_("待复审"),
    State.EFFECTIVE.value: N_("已生效"),
    State.REJECTED.value: N_("审核不通过"),
}
UNCERTIFIED = N_("未认证")
ACTIVE, DISABLED = N_("启用"), N_("停用")
# Marked again so the catalog holds them (app.models.unit keeps the Chinese originals).
_CATEGORY_NAMES = (N_("定点医疗机构/定点药店"), N_("非定点医疗机构/非定点药店"), N_("企业"))
_ROLE_NAMES = (N_("定点医疗机构"), N_("定点药店"), N_("非定点医疗机构"), N_("非定点药店"), N_("生产企业"),
               N_("配送企业"))


@dataclass(frozen=True)
class RecordKind:
    key: str            # the review workflow's record type key
    model: type
    label: str
    list_endpoint: str  # the unit's list page (filtered by ?state=…)
    list_view: str      # FAB view name whose can_list decides whether a user sees the type


def record_kinds() -> tuple[RecordKind, ...]:
    """The workflow's registered record types, with the unit list page each one's numbers link to."""
    out = []
    for rtype in registry.record_types():
        endpoint = bundles.MENUS_BY_KEY[rtype.menu_key].endpoint
        out.append(RecordKind(rtype.key, rtype.model, rtype.review_label, endpoint, endpoint.split(".")[0]))
    return tuple(out)


def kind_by_key(key: str) -> RecordKind | None:
    return next((k for k in record_kinds() if k.key == key), None)

# Review queues: (level, state, column the wait runs from, label).
QUEUE_LEVELS = (
    ("initial", State.PENDING_INITIAL.value, "submitted_at", N_("待初审")),
    ("final", State.PENDING_FINAL.value, "reviewed_at", N_("待复审")),
)

EXPIRY_BUCKETS = (  # (key, label, first day, last day) counted from today; "expired" is before today
    ("expired", N_("已过期"), None, -1),
    ("0-30", N_("30天内"), 0, 30),
    ("31-60", N_("31–60天"), 31, 60),
    ("61-90", N_("61–90天"), 61, 90),
)
WEEKS = 12
DECISION_DAYS = 30
OLDEST_LIMIT = 10


# -- the shape every chart shares --------------------------------------------
@dataclass
class Series:
    name: str
    values: list[float | int | None]
    links: list[str | None] | None = None  # one URL per category (the filtered list), or None


@dataclass
class Chart:
    """A chart, its table (categories × series) and its export, all from the same numbers."""

    key: str
    title: str
    kind: str                  # bar | stack | line | pie | hbar
    categories: list[str]
    series: list[Series]
    category_title: str = ""   # header of the table's first column
    unit: str = ""             # e.g. 天 (shown in the axis name and the table headers)
    note: str | tuple[str, ...] = ""  # one source string, or several shown one after another
    translate_categories: bool = True
    #: categories composed of several source strings (e.g. 委托授权·待初审), translated part by part
    category_parts: list[tuple[str, ...]] | None = None

    def value(self, series: str, category: str):
        s = next(s for s in self.series if s.name == series)
        return s.values[self.categories.index(category)]

    def table(self) -> tuple[list[str], list[list[Any]]]:
        headers = [self.category_title] + [s.name for s in self.series]
        rows = [[c] + [s.values[i] for s in self.series] for i, c in enumerate(self.categories)]
        return headers, rows

    def translated(self, gettext: Callable[[str], str]) -> "Chart":
        return Chart(
            key=self.key, title=gettext(self.title), kind=self.kind,
            categories=(["·".join(gettext(p) for p in parts) for parts in self.category_parts]
                        if self.category_parts else
                        [gettext(c) if self.translate_categories and c else c for c in self.categories]),
            series=[Series(gettext(s.name), s.values, s.links) for s in self.series],
            category_title=gettext(self.category_title) if self.category_title else "",
            unit=gettext(self.unit) if self.unit else "",
            note=" ".join(gettext(n) for n in ((self.note,) if isinstance(self.note, str) else self.note) if n),
            translate_categories=False)

    def as_json(self) -> dict:
        """What overview.js draws (no HTML, no code: plain numbers and labels)."""
        return {"key": self.key, "title": self.title, "kind": self.kind, "categories": self.categories,
                "unit": self.unit,
                "series": [{"name": s.name, "values": s.values, "links": s.links} for s in self.series]}


@dataclass
class Item:
    """One waiting record in an oldest-items table."""

    rtype: str
    queue: str
    record_id: int
    unit_name: str
    since: dt.datetime
    waited_days: float


@dataclass
class Page:
    charts: list[Chart] = field(default_factory=list)
    oldest: list[Item] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def chart(self, key: str) -> Chart | None:
        return next((c for c in self.charts if c.key == key), None)


def _days(delta: dt.timedelta) -> float:
    return round(delta.total_seconds() / 86400, 1)


def _as_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


# -- records by state -----------------------------------------------------------
def state_counts(model, unit_id: int | None = None) -> dict[str, int]:
    """Root records of one type by state (one GROUP BY on the (unit_id, state, revision_of_id) index)."""
    query = select(model.state, func.count()).where(model.revision_of_id.is_(None))
    if unit_id is not None:
        query = query.where(model.unit_id == unit_id)
    counts = dict(db.session.execute(query.group_by(model.state)).all())
    return {s: int(counts.get(s, 0)) for s in STATE_ORDER}


def records_by_state_chart(kinds: Sequence[RecordKind], unit_id: int | None = None,
                           link: Callable[[RecordKind, str], str | None] | None = None) -> Chart:
    counts = {k.key: state_counts(k.model, unit_id) for k in kinds}
    series = []
    for state in STATE_ORDER:
        values = [counts[k.key][state] for k in kinds]
        links = [link(k, state) for k in kinds] if link else None
        series.append(Series(STATE_NAMES[state], values, links))
    return Chart("records_by_state", N_("资质记录状态分布"), "stack", [k.label for k in kinds], series,
                 category_title=N_("记录类型"))


# -- review backlog ---------------------------------------------------------------
@dataclass
class Backlog:
    rtype: str
    level: str
    label: str
    count: int
    p50_days: float | None
    p90_days: float | None
    oldest: Item | None


def _nth_since(model, state: str, column, n: int) -> dt.datetime | None:
    """The n-th (0-based) most recent queue-entry time: an index range scan with OFFSET."""
    return db.session.scalar(select(column).where(model.state == state, column.is_not(None))
                             .order_by(column.desc()).offset(n).limit(1))


def backlog(kind: RecordKind, level: str, now: dt.datetime) -> Backlog:
    _, state, column_name, label = next(q for q in QUEUE_LEVELS if q[0] == level)
    model = kind.model
    column = getattr(model, column_name)
    count, dated = db.session.execute(select(func.count(), func.count(column)).select_from(model)
                                      .where(model.state == state)).one()
    count, dated = int(count or 0), int(dated or 0)
    p50 = p90 = None
    oldest = None
    if dated:
        # waits ascending = entry times descending; nearest rank: the ceil(p·n)-th wait
        p50_at = _nth_since(model, state, column, math.ceil(0.5 * dated) - 1)
        p90_at = _nth_since(model, state, column, math.ceil(0.9 * dated) - 1)
        p50, p90 = _days(now - p50_at), _days(now - p90_at)
        row = db.session.execute(
            select(model.id, column, Unit.name).join(Unit, Unit.id == model.unit_id)
            .where(model.state == state, column.is_not(None)).order_by(column, model.id).limit(1)).first()
        if row:
            oldest = Item(kind.key, level, row[0], row[2], row[1], _days(now - row[1]))
    return Backlog(kind.key, level, label, count, p50, p90, oldest)


def oldest_items(levels: Iterable[str], now: dt.datetime, limit: int = OLDEST_LIMIT) -> list[Item]:
    """The longest-waiting records across the given queues (each queue read in index order)."""
    items: list[Item] = []
    for kind in record_kinds():
        for level, state, column_name, _ in QUEUE_LEVELS:
            if level not in levels:
                continue
            column = getattr(kind.model, column_name)
            rows = db.session.execute(
                select(kind.model.id, column, Unit.name).join(Unit, Unit.id == kind.model.unit_id)
                .where(kind.model.state == state, column.is_not(None))
                .order_by(column, kind.model.id).limit(limit)).all()
            items += [Item(kind.key, level, r[0], r[2], r[1], _days(now - r[1])) for r in rows]
    items.sort(key=lambda i: (i.since, i.rtype, i.record_id))
    return items[:limit]


def backlog_charts(levels: Sequence[str], now: dt.datetime,
                   link: Callable[[RecordKind, str], str | None] | None = None) -> tuple[list[Chart], list[Backlog]]:
    rows = [backlog(kind, level, now) for level in levels for kind in record_kinds()]
    kinds = {k.key: k for k in record_kinds()}
    categories = [f"{kinds[b.rtype].label}·{b.label}" for b in rows]
    links = [link(kinds[b.rtype], b.level) for b in rows] if link else None
    count = Chart("backlog", N_("待审数量（按队列）"), "bar", categories,
                  [Series(N_("待审数量"), [b.count for b in rows], links)], category_title=N_("审核队列"))
    waits = Chart("waits", N_("等待时长（天）"), "bar", categories,
                  [Series(N_("中位数 p50"), [b.p50_days for b in rows]),
                   Series(N_("p90"), [b.p90_days for b in rows]),
                   Series(N_("最久"), [b.oldest.waited_days if b.oldest else None for b in rows])],
                  category_title=N_("审核队列"), unit=N_("天"))
    for chart in (count, waits):
        chart.category_parts = [(kinds[b.rtype].label, b.label) for b in rows]
    return [count, waits], rows


# -- units ------------------------------------------------------------------------
def unit_charts() -> list[Chart]:
    rows = db.session.execute(select(Unit.category, Unit.unit_role, Unit.active, func.count())
                              .group_by(Unit.category, Unit.unit_role, Unit.active)).all()
    categories = [c.value for c in UnitCategory]
    roles = [r.value for r in UnitRole] + [None]
    by_role = {(c, r): 0 for c in categories for r in roles}
    by_status = {(c, a): 0 for c in categories for a in (True, False)}
    for category, role, active, n in rows:
        if category in categories:
            key_role = role if role in roles else None
            by_role[(category, key_role)] += n
            by_status[(category, bool(active))] += n
    role_series = []
    for role in roles:
        values = [by_role[(c, role)] for c in categories]
        if role is not None and not any(values):
            continue  # a role no category allows (e.g. 生产企业 under 定点) adds only empty columns
        role_series.append(Series(UNIT_ROLE_LABELS[UnitRole(role)] if role else UNCERTIFIED, values))
    labels = [CATEGORY_LABELS[UnitCategory(c)] for c in categories]
    return [
        Chart("units_by_role", N_("单位：类别与认证角色"), "stack", labels, role_series or
              [Series(UNCERTIFIED, [0] * len(categories))], category_title=N_("注册类别")),
        Chart("units_by_status", N_("单位：类别与状态"), "stack", labels,
              [Series(ACTIVE, [by_status[(c, True)] for c in categories]),
               Series(DISABLED, [by_status[(c, False)] for c in categories])], category_title=N_("注册类别")),
    ]


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def registrations_chart(today: dt.date, weeks: int = WEEKS) -> Chart:
    """Units registered per ISO week (Monday first), the last ``weeks`` weeks including this one.

    Grouped by day in SQL (portable ``date()``), rolled up to weeks here."""
    first = week_start(today) - dt.timedelta(weeks=weeks - 1)
    start = dt.datetime.combine(first, dt.time())
    day = func.date(Unit.created_at)
    rows = db.session.execute(select(day, func.count()).where(Unit.created_at >= start).group_by(day)).all()
    counts = {first + dt.timedelta(weeks=w): 0 for w in range(weeks)}
    for d, n in rows:
        monday = week_start(_as_date(d))
        if monday in counts:
            counts[monday] += n
    categories = [f"{m:%m-%d}" for m in counts]
    return Chart("registrations", N_("每周注册单位数"), "line", categories,
                 [Series(N_("注册单位数"), list(counts.values()))], category_title=N_("周（周一）"),
                 translate_categories=False)


# -- national imports ----------------------------------------------------------------
IMPORT_RUNS = 12


def national_imports_chart(limit: int = IMPORT_RUNS) -> Chart:
    """新增 / 变更 / 拒绝 per national release, or per finished import run before releases exist.

    With releases (``NationalRelease``, issue 14) each bar group is one release: what it added,
    changed, deactivated (停用) and transferred (转码) as the release counts them, and the rows its
    imports rejected.  Without them, one group per finished run from the import log (a refused file
    changed nothing and is left out)."""
    release = _national_model("NationalRelease")
    if release is not None and hasattr(NationalImport, "release_id"):
        rejected = (select(func.coalesce(func.sum(NationalImport.rejected), 0))
                    .where(NationalImport.release_id == release.id, NationalImport.status == "done")
                    .scalar_subquery())
        rows = db.session.execute(
            select(release.version, release.added, release.changed, release.deactivated, release.transferred,
                   rejected).order_by(release.created_at.desc(), release.id.desc()).limit(limit)).all()
        if rows:
            rows = list(reversed(rows))  # oldest first, left to right
            names = (N_("新增"), N_("变更"), N_("停用"), N_("转码"), N_("拒绝"))
            return Chart("national_imports", N_("国家数据版本：新增 / 变更 / 停用 / 转码 / 拒绝"), "bar",
                         [str(r[0]) for r in rows],
                         [Series(name, [int(r[i + 1] or 0) for r in rows]) for i, name in enumerate(names)],
                         category_title=N_("版本"), translate_categories=False)
    query = (select(NationalImport.created_at, NationalImport.filename, NationalImport.inserted,
                    NationalImport.updated, NationalImport.rejected)
             .where(NationalImport.status == "done")
             .order_by(NationalImport.created_at.desc(), NationalImport.id.desc()).limit(limit))
    rows = [(f"{r[0]:%Y-%m-%d %H:%M} {r[1]}", r[2], r[3], r[4]) for r in db.session.execute(query).all()]
    rows.reverse()  # oldest first, left to right
    return Chart("national_imports", N_("国家数据导入：新增 / 变更 / 拒绝"), "bar", [r[0] for r in rows],
                 [Series(N_("新增"), [int(r[1] or 0) for r in rows]),
                  Series(N_("变更"), [int(r[2] or 0) for r in rows]),
                  Series(N_("拒绝"), [int(r[3] or 0) for r in rows])],
                 category_title=N_("导入（时间 文件）"), translate_categories=False)


# -- decisions ---------------------------------------------------------------------------
def decisions_chart(user_id: int, today: dt.date, days: int = DECISION_DAYS) -> Chart:
    """审核通过 / 审核不通过 of one reviewer per day, the last ``days`` days including today."""
    first = today - dt.timedelta(days=days - 1)
    day = func.date(WorkflowHistory.created_at)
    rows = db.session.execute(
        select(day, WorkflowHistory.action, func.count())
        .where(WorkflowHistory.user_id == user_id, WorkflowHistory.created_at >= dt.datetime.combine(first, dt.time()),
               WorkflowHistory.action.in_(("approve", "reject")))
        .group_by(day, WorkflowHistory.action)).all()
    dates = [first + dt.timedelta(days=i) for i in range(days)]
    approve = {d: 0 for d in dates}
    reject = {d: 0 for d in dates}
    for d, action, n in rows:
        target = approve if action == "approve" else reject
        d = _as_date(d)
        if d in target:
            target[d] += n
    return Chart("decisions", N_("近30天每日审核量"), "stack", [f"{d:%m-%d}" for d in dates],
                 [Series(N_("审核通过"), list(approve.values())), Series(N_("审核不通过"), list(reject.values()))],
                 category_title=N_("日期"), translate_categories=False)


# -- expiries and flags (资质概览) -----------------------------------------------------------
def _bucket_bounds(key: str, today: dt.date) -> tuple[dt.date | None, dt.date]:
    _, _, first, last = next(b for b in EXPIRY_BUCKETS if b[0] == key)
    return (today + dt.timedelta(days=first) if first is not None else None), today + dt.timedelta(days=last)


def expiry_condition(kind_key: str, bucket: str, today: dt.date):
    """SQL condition on the root rows of ``kind_key`` (entrustment | certificate) in one expiry bucket;
    the same condition counts the chart and filters the list its number links to."""
    low, high = _bucket_bounds(bucket, today)
    if kind_key == "entrustment":
        column = Entrustment.valid_to
        model = Entrustment
    else:
        column = NationalCertificate.valid_to
        model = QualCertificate
    between = column <= high if low is None else and_(column >= low, column <= high)
    if kind_key == "entrustment":
        cond = between
    else:
        cond = QualCertificate.cert_no.in_(select(NationalCertificate.number).where(between))
    return and_(model.state == State.EFFECTIVE.value, model.revision_of_id.is_(None), cond)


def expiry_chart(unit_id: int, today: dt.date, kinds: Sequence[str],
                 link: Callable[[str, str], str | None] | None = None) -> Chart:
    labels = {"entrustment": N_("委托授权"), "certificate": N_("注册证")}
    models = {"entrustment": Entrustment, "certificate": QualCertificate}
    series = []
    for key in kinds:
        model = models[key]
        values = [int(db.session.scalar(select(func.count()).select_from(model).where(
            model.unit_id == unit_id, expiry_condition(key, bucket, today))) or 0) for bucket, *_ in EXPIRY_BUCKETS]
        links = [link(key, bucket) for bucket, *_ in EXPIRY_BUCKETS] if link else None
        series.append(Series(labels[key], values, links))
    return Chart("expiring", N_("90天内到期的已生效资质"), "bar", [b[1] for b in EXPIRY_BUCKETS], series,
                 category_title=N_("有效期结束"))


# Product flags.  Each flag is used as soon as the data carries it: the qualification chain's
# ``QualProduct.cert_flag`` (证书失效 / 证书过期) and the national releases' 停用 status and 转码 table.
# Before those exist, 证书过期 is computed from the national certificate's 有效期结束 and the page says
# which flags are not available yet.
FLAG_LABELS = {
    "cert_invalid": N_("证书失效"),
    "cert_expired": N_("注册证已过有效期"),
    "code_deactivated": N_("国家编码已停用"),
    "code_transferred": N_("国家编码已转码（待变更）"),
}
NOTE_NO_CERT_FLAG = N_("证书失效标记尚未上线：暂按国家注册证有效期判断是否过期。")
NOTE_NO_CODE_FLAGS = N_("国家编码停用 / 转码标记尚未上线。")


def _national_model(name: str):
    from app.models import national

    return getattr(national, name, None)


def product_flags() -> list[tuple[str, str]]:
    keys = []
    if hasattr(QualProduct, "cert_flag"):
        keys.append("cert_invalid")
    keys.append("cert_expired")
    if hasattr(_national_model("NationalSpec"), "status"):
        keys.append("code_deactivated")
    if _national_model("NationalTransfer") is not None:
        keys.append("code_transferred")
    return [(k, FLAG_LABELS[k]) for k in keys]


def product_flag_condition(flag: str, today: dt.date):
    """SQL condition on a unit's root products carrying ``flag`` (counts the chart, filters the list)."""
    live = and_(QualProduct.revision_of_id.is_(None), QualProduct.state != State.MERGED.value)
    chain = hasattr(QualProduct, "cert_flag")
    if flag == "cert_invalid" and chain:
        return and_(live, QualProduct.cert_flag == "invalid")
    if flag == "cert_expired" and chain:
        return and_(live, QualProduct.cert_flag == "expired")
    if flag == "cert_expired":
        expired_items = (select(NationalItem.code).join(NationalCertificate,
                                                        NationalCertificate.id == NationalItem.certificate_id)
                         .where(NationalCertificate.valid_to < today))
        return and_(live, QualProduct.item_id.in_(select(QualItem.id).where(QualItem.code.in_(expired_items))))
    spec = _national_model("NationalSpec")
    if flag == "code_deactivated" and hasattr(spec, "status"):
        return and_(live, QualProduct.code.in_(select(spec.code).where(spec.status == "deactivated")))
    transfer = _national_model("NationalTransfer")
    if flag == "code_transferred" and transfer is not None:
        return and_(live, QualProduct.code.in_(select(transfer.old_code)))
    raise KeyError(flag)


def product_flags_chart(unit_id: int, today: dt.date, link: Callable[[str], str | None] | None = None) -> Chart:
    flags = product_flags()
    values = [int(db.session.scalar(select(func.count()).select_from(QualProduct).where(
        QualProduct.unit_id == unit_id, product_flag_condition(flag, today))) or 0) for flag, _ in flags]
    keys = {k for k, _ in flags}
    notes = tuple(n for n, missing in ((NOTE_NO_CERT_FLAG, "cert_invalid" not in keys),
                                       (NOTE_NO_CODE_FLAGS, not keys & {"code_deactivated", "code_transferred"}))
                  if missing)
    return Chart("product_flags", N_("需关注的产品"), "hbar", [label for _, label in flags],
                 [Series(N_("产品数"), values, [link(f) for f, _ in flags] if link else None)],
                 category_title=N_("标记"), note=notes)


# -- the three pages ---------------------------------------------------------------------------
def platform_page(now: dt.datetime, link_queue=None, link_state=None) -> Page:
    page = Page()
    page.charts += unit_charts()
    page.charts.append(registrations_chart(now.date()))
    page.charts.append(records_by_state_chart(record_kinds(), None, link_state))
    charts, rows = backlog_charts(("initial", "final"), now, link_queue)
    page.charts += charts
    page.oldest = [b.oldest for b in rows if b.oldest is not None]
    page.charts.append(national_imports_chart())
    return page


def reviewer_page(user_id: int, levels: Sequence[str], now: dt.datetime, link_queue=None) -> Page:
    page = Page()
    charts, _ = backlog_charts(levels, now, link_queue)
    page.charts += charts
    page.charts.append(decisions_chart(user_id, now.date()))
    page.oldest = oldest_items(levels, now)
    return page


def qualification_page(unit_id: int, today: dt.date, kinds: Sequence[str], link_state=None, link_expiry=None,
                       link_flag=None) -> Page:
    """资质概览 of one unit: only the record types the user holds (``kinds``)."""
    page = Page()
    held = [k for k in record_kinds() if k.key in kinds]
    if held:
        page.charts.append(records_by_state_chart(held, unit_id, link_state))
    expiring = [k for k in ("entrustment", "certificate") if k in kinds]
    if expiring:
        page.charts.append(expiry_chart(unit_id, today, expiring, link_expiry))
    if "product" in kinds:
        page.charts.append(product_flags_chart(unit_id, today, link_flag))
    return page


# -- the filtered lists the numbers link to ----------------------------------------------------
@dataclass
class ListFilter:
    conditions: list
    labels: list[str]  # source strings, for the "筛选：…" banner

    @property
    def active(self) -> bool:
        return bool(self.conditions)


def list_filter(kind_key: str, args, today: dt.date) -> ListFilter:
    """``?state=`` / ``?expires=`` / ``?flag=`` of a unit list, as SQL conditions on its root rows.

    The same conditions count the overview's numbers, so a number and the rows behind its link agree.
    Unknown values are ignored (the unfiltered list)."""
    kind = kind_by_key(kind_key)
    conditions, labels = [], []
    state = args.get("state")
    if state in STATE_NAMES:
        conditions.append(kind.model.state == state)
        labels.append(STATE_NAMES[state])
    bucket = args.get("expires")
    if kind_key in ("entrustment", "certificate") and bucket in {b[0] for b in EXPIRY_BUCKETS}:
        conditions.append(expiry_condition(kind_key, bucket, today))
        labels.append(next(b[1] for b in EXPIRY_BUCKETS if b[0] == bucket))
    flag = args.get("flag")
    flags = dict(product_flags()) if kind_key == "product" else {}
    if flag in flags:
        conditions.append(product_flag_condition(flag, today))
        labels.append(flags[flag])
    return ListFilter(conditions, labels)
