"""Searching the national code data: lookups, picker searches, keyset pages.

Every list over national data pages by *keyset* on its natural key (注册备案号
or code): a page is ``WHERE key > :after ORDER BY key LIMIT n+1``, so the
millionth row costs what the first does, and no page ever runs ``COUNT(*)``
(FAB's OFFSET paging reads and counts every row before the page).  The extra
row tells whether a next page exists.  Filters are chosen to be served by the
indexes declared on the models: code prefixes become index range scans
(``code >= 'C0101' AND code < 'C0102'``, correct under any collation), the
reference columns are indexed foreign keys, and the free-text filters (名称,
注册人) scan at most the 100,000-row certificate or single-item tables — on PostgreSQL the
注册证 ones use trigram indexes (see ``_matches_first``).
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import aliased, joinedload

from app.extensions import db
from app.services.paging import MAX_PAGE_SIZE, PAGE_SIZE, Page, keyset_page  # noqa: F401  (national.Page …)
from app.i18n import N_
from app.models.national import (ORIGIN_DOMESTIC, ORIGIN_IMPORTED, STATUS_ACTIVE, STATUS_DEACTIVATED,
                                 NationalCertificate, NationalItem, NationalSpec, NationalTransfer, fold)

CODE_PREFIX = re.compile(r"^C\d{0,26}$")

CERTIFICATE_FILTERS = ("number", "product_name", "registrant", "origin", "validity")
ITEM_FILTERS = ("code", "name", "enterprise", "certificate")
SPEC_FILTERS = ("code", "item", "name", "text", "certificate")
VALIDITY_CHOICES = {"valid": N_("有效期内"), "expired": N_("已过期")}


# -- lookups ------------------------------------------------------------------
def certificate(number: str) -> NationalCertificate | None:
    number = (number or "").strip()
    if not number:
        return None
    return db.session.scalar(select(NationalCertificate).where(NationalCertificate.number == number))


def certificates(numbers: Sequence[str]) -> dict[str, NationalCertificate]:
    wanted = sorted({n.strip() for n in numbers if n and n.strip()})
    if not wanted:
        return {}
    rows = db.session.scalars(select(NationalCertificate).where(NationalCertificate.number.in_(wanted)))
    return {c.number: c for c in rows}


def is_imported(cert: NationalCertificate) -> bool:
    return cert.origin == ORIGIN_IMPORTED


def numbers_registered_to(registrant: str) -> list[str]:
    """Certificates whose 注册人名称 is exactly this name (the unit-name match of SPEC §1.1)."""
    name = (registrant or "").strip()
    if not name:
        return []
    return list(db.session.scalars(select(NationalCertificate.number)
                                   .where(NationalCertificate.registrant == name)
                                   .order_by(NationalCertificate.number)))


def item(code: str) -> NationalItem | None:
    code = (code or "").strip().upper()
    return db.session.scalar(select(NationalItem).options(joinedload(NationalItem.certificate))
                             .where(NationalItem.code == code)) if code else None


def spec(code: str) -> NationalSpec | None:
    code = (code or "").strip().upper()
    return db.session.scalar(select(NationalSpec).where(NationalSpec.code == code)) if code else None


# -- filters --------------------------------------------------------------------
def clean_filters(args: Mapping[str, Any], names: Sequence[str]) -> dict[str, str]:
    """The non-empty, stripped filters of ``names`` from request args (``valid_only`` = validity=valid)."""
    out = {}
    for name in names:
        value = args.get(name)
        value = (value or "").strip() if isinstance(value, str) else ""
        if value:
            out[name] = value[:100]
    if "validity" in names and "validity" not in out and (args.get("valid_only") or "").strip():
        out["validity"] = "valid"
    if out.get("origin") not in (None, ORIGIN_DOMESTIC, ORIGIN_IMPORTED):
        out.pop("origin")
    if out.get("validity") not in (None, *VALIDITY_CHOICES):
        out.pop("validity")
    for key in ("code", "item"):
        if key in out:
            out[key] = out[key].upper()
    return out


def code_range(column, prefix: str):
    """``column`` starts with ``prefix`` (C + digits) as an index range.

    The upper bound increments the last digit that is not 9 (C0109 → C011,
    C099 → C1, C → D), using only characters that every collation orders the
    same way, unlike ``LIKE 'C0109%'`` which PostgreSQL serves from a b-tree
    only under the C collation.
    """
    digits = prefix[1:].rstrip("9")
    if not digits:
        upper = "D"
    else:
        upper = "C" + digits[:-1] + str(int(digits[-1]) + 1)
    return and_(column >= prefix, column < upper)


def icontains(column, term: str):
    """Case-insensitive substring match, as cheap as the term allows.

    A term without letters that have case (Chinese names, numbers) is a plain
    LIKE: PostgreSQL's ILIKE case-folds every row it scans, which costs several
    times a LIKE over 100,000 Chinese names.  SQLite's LIKE already ignores
    ASCII case, so it is a plain LIKE there too.
    """
    if term.lower() == term.upper() or db.engine.dialect.name == "sqlite":
        return column.contains(term, autoescape=True)
    return column.icontains(term, autoescape=True)


def _today() -> dt.date:
    return dt.date.today()


def certificate_conditions(filters: Mapping[str, str]) -> list:
    c = NationalCertificate
    conds = []
    if filters.get("number"):
        conds.append(c.number.contains(filters["number"], autoescape=True))
    if filters.get("product_name"):
        conds.append(c.product_name_fold.contains(fold(filters["product_name"]), autoescape=True))
    if filters.get("registrant"):
        conds.append(c.registrant_fold.contains(fold(filters["registrant"]), autoescape=True))
    if filters.get("origin") in (ORIGIN_DOMESTIC, ORIGIN_IMPORTED):
        conds.append(c.origin == filters["origin"])
    today = _today()
    if filters.get("validity") == "valid":
        conds.append(or_(c.valid_to.is_(None), c.valid_to >= today))
        conds.append(or_(c.valid_from.is_(None), c.valid_from <= today))
    elif filters.get("validity") == "expired":
        conds.append(c.valid_to < today)
    return conds


def item_conditions(filters: Mapping[str, str]) -> list:
    i = NationalItem
    conds = []
    code = filters.get("code", "")
    if code:
        conds.append(code_range(i.code, code) if CODE_PREFIX.match(code) else i.code == code)
    if filters.get("name"):
        conds.append(icontains(i.name, filters["name"]))
    if filters.get("enterprise"):
        conds.append(icontains(i.enterprise, filters["enterprise"]))
    if filters.get("certificate"):
        conds.append(i.certificate_id.in_(
            select(NationalCertificate.id).where(NationalCertificate.number == filters["certificate"])))
    return conds


SPEC_TEXT_MIN_PREFIX = 5  # "C" + 一级 + 二级分类
SPEC_TEXT_NOTICE = N_("按规格或型号查询时，请同时输入27位码的前5位以上、20位码、单件名称或注册备案号")


def narrows_specs(filters: Mapping[str, str]) -> bool:
    """Whether the spec/model text filter has a narrowing filter beside it.

    A substring of 规格/型号 cannot use a b-tree index, so alone it would scan
    every one of a million rows; with a code prefix (at least C + 一级 + 二级),
    a single item, a name or a certificate it scans only their spec/models.
    """
    return (len(filters.get("code", "")) >= SPEC_TEXT_MIN_PREFIX or bool(filters.get("item"))
            or bool(filters.get("name")) or bool(filters.get("certificate")))


def spec_conditions(filters: Mapping[str, str]) -> list:
    s = NationalSpec
    conds = []
    code = filters.get("code", "")
    if code:
        conds.append(code_range(s.code, code) if CODE_PREFIX.match(code) else s.code == code)
    if filters.get("item"):
        # the 20-character prefix is the item: an index range on the spec's own code
        item_code = filters["item"]
        conds.append(code_range(s.code, item_code) if CODE_PREFIX.match(item_code) else s.code == item_code)
    if filters.get("text"):
        term = filters["text"]
        conds.append(or_(icontains(s.spec, term), icontains(s.model, term)))
    if filters.get("name"):
        conds.append(s.item_id.in_(select(NationalItem.id).where(
            icontains(NationalItem.name, filters["name"]))))
    if filters.get("certificate"):
        conds.append(s.item_id.in_(select(NationalItem.id).join(NationalCertificate).where(
            NationalCertificate.number == filters["certificate"])))
    return conds


# -- keyset pages: the one pager of every list (app/services/paging.py) ------------------

def _active(model, active_only: bool) -> list:
    """Pickers offer only rows the national platform has not deactivated (停用)."""
    return [model.status == STATUS_ACTIVE] if active_only else []


def search_certificates(filters: Mapping[str, str], after: str | None = None, before: str | None = None,
                        limit: int = PAGE_SIZE, restrict: Sequence | None = None,
                        extra: dict | None = None, active_only: bool = False) -> Page:
    """注册证 picker / 注册证查询 / admin list.  ``restrict``: the calling page's own scope
    (SQL conditions, e.g. only imported certificates for 境外代理)."""
    filters = clean_filters(filters, CERTIFICATE_FILTERS)
    conds = [*certificate_conditions(filters), *(restrict or ()), *_active(NationalCertificate, active_only)]
    stmt, key = select(NationalCertificate).where(*conds), NationalCertificate.number
    if _matches_first(filters, conds):
        matches = aliased(NationalCertificate, select(NationalCertificate).where(*conds).offset(0).subquery())
        stmt, key = select(matches), matches.number
    return keyset_page(stmt, key, filters=filters, after=after, before=before, limit=limit, extra=extra)


TRIGRAM_MIN = 3  # pg_trgm finds a LIKE '%term%' in its index from three characters on
FEW_MATCHES = 20_000  # sorting this many matches costs ~50 ms on PostgreSQL; walking past them, up to 10×


def _matches_first(filters: Mapping[str, str], conds: list) -> bool:
    """Whether a 注册证 contains search should find its matches first, then sort them.

    PostgreSQL, left alone, walks the 注册备案号 index in page order and tests each row, which
    stops early only if matches are spread evenly; a registrant's certificates are not (a
    foreign company's are all 国械注进…, one block of the order), and the walk reads hundreds of
    thousands of rows for 21.  When the planner expects at most ``FEW_MATCHES`` rows (EXPLAIN,
    not run: a millisecond), the trigram index finds them all and a top-N sort pages them,
    behind an OFFSET 0 fence the planner cannot see through.  Past that, the walk is kept: with
    that many matches it usually meets 21 soon (more than ``FEW_MATCHES`` matches all sorted
    after the rest would still be walked to).  Terms under three characters have no trigrams;
    they keep the walk (or a scan).
    """
    if db.engine.dialect.name != "postgresql" or not any(
            len(fold(filters.get(name, ""))) >= TRIGRAM_MIN for name in ("number", "product_name", "registrant")):
        return False
    return expected_rows(select(NationalCertificate.id).where(*conds)) <= FEW_MATCHES


def expected_rows(stmt) -> float:
    """PostgreSQL's estimate of the rows ``stmt`` returns (its plan, not a run)."""
    conn = db.session.connection()
    compiled = stmt.compile(dialect=conn.dialect)
    plan = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + compiled.string, compiled.params).scalar_one()
    if isinstance(plan, str):
        plan = json.loads(plan)
    return float(plan[0]["Plan"]["Plan Rows"])


def search_items(filters: Mapping[str, str], after: str | None = None, before: str | None = None,
                 limit: int = PAGE_SIZE, restrict: Sequence | None = None, extra: dict | None = None, active_only: bool = False) -> Page:
    filters = clean_filters(filters, ITEM_FILTERS)
    stmt = (select(NationalItem).options(joinedload(NationalItem.certificate))
            .where(*item_conditions(filters), *(restrict or ()), *_active(NationalItem, active_only)))
    return keyset_page(stmt, NationalItem.code, filters=filters, after=after, before=before, limit=limit,
                       extra=extra)


def search_specs(filters: Mapping[str, str], after: str | None = None, before: str | None = None,
                 limit: int = PAGE_SIZE, restrict: Sequence | None = None, extra: dict | None = None, active_only: bool = False) -> Page:
    filters = clean_filters(filters, SPEC_FILTERS)
    if filters.get("text") and not restrict and not narrows_specs(filters):
        return Page(rows=[], filters=filters, limit=limit, extra=extra or {}, notice=SPEC_TEXT_NOTICE)
    stmt = (select(NationalSpec).options(joinedload(NationalSpec.item).joinedload(NationalItem.certificate))
            .where(*spec_conditions(filters), *(restrict or ()), *_active(NationalSpec, active_only)))
    return keyset_page(stmt, NationalSpec.code, filters=filters, after=after, before=before, limit=limit,
                       extra=extra)


SEARCHES = {"certificates": search_certificates, "items": search_items, "specs": search_specs}


# -- 停用 and 转码 (issue 14) ------------------------------------------------------
def transfers_for(codes: Iterable[str]) -> dict[str, list[NationalTransfer]]:
    """The 转码 of each old 27-character code among ``codes``: old code → [transfers]."""
    codes = list(set(codes))
    out: dict[str, list[NationalTransfer]] = {}
    if not codes:
        return out
    for move in db.session.scalars(select(NationalTransfer).where(NationalTransfer.old_code.in_(codes))
                                   .order_by(NationalTransfer.old_code, NationalTransfer.new_code)):
        out.setdefault(move.old_code, []).append(move)
    return out


def deactivated_numbers(numbers: Iterable[str]) -> set[str]:
    numbers = list(set(numbers))
    return set(db.session.scalars(select(NationalCertificate.number).where(
        NationalCertificate.number.in_(numbers), NationalCertificate.status == STATUS_DEACTIVATED))) if numbers else set()


def deactivated_item_codes(codes: Iterable[str]) -> set[str]:
    codes = list(set(codes))
    return set(db.session.scalars(select(NationalItem.code).where(
        NationalItem.code.in_(codes), NationalItem.status == STATUS_DEACTIVATED))) if codes else set()


# -- 停用提醒 on the unit's own lists (注册证, 单件) ------------------------------------
@dataclass
class Reminder:
    """Why one of the unit's 注册证 / 单件 rows is flagged: its national code stopped or moved."""

    deactivated: bool = False  # the row's own national code (注册备案号 / 20位码) is 已停用
    deactivated_on: dt.date | None = None
    certificate_deactivated: bool = False  # a 单件 whose 注册证 is 已停用
    specs_deactivated: int = 0  # the unit's 规格型号 under the 单件 whose 27位码 is 已停用
    specs_transferred: int = 0  # … and those a release transferred (转码 awaits on 维护产品信息)

    @property
    def stopped(self) -> bool:
        return self.deactivated or self.certificate_deactivated or bool(self.specs_deactivated)


def certificate_reminders(numbers: Iterable[str]) -> dict[str, Reminder]:
    """{注册备案号: Reminder} for the numbers whose national certificate is 已停用."""
    numbers = sorted(set(numbers))
    if not numbers:
        return {}
    rows = db.session.execute(select(NationalCertificate.number, NationalCertificate.deactivated_on).where(
        NationalCertificate.number.in_(numbers), NationalCertificate.status == STATUS_DEACTIVATED)).all()
    return {number: Reminder(deactivated=True, deactivated_on=day) for number, day in rows}


def item_reminders(unit_id: int, codes: Iterable[str]) -> dict[str, Reminder]:
    """{20位码: Reminder} for the unit's single items: the code or its certificate 已停用, or some
    of the unit's spec/models under it 已停用 or 转码 (a handful of queries for the whole page)."""
    from app.models import QualItem, QualProduct

    codes = sorted(set(codes))
    if not codes:
        return {}
    out: dict[str, Reminder] = {}
    for code, status, day, cert_status in db.session.execute(
            select(NationalItem.code, NationalItem.status, NationalItem.deactivated_on, NationalCertificate.status)
            .join(NationalCertificate, NationalItem.certificate_id == NationalCertificate.id)
            .where(NationalItem.code.in_(codes),
                   (NationalItem.status == STATUS_DEACTIVATED) | (NationalCertificate.status == STATUS_DEACTIVATED))):
        out[code] = Reminder(deactivated=status == STATUS_DEACTIVATED, deactivated_on=day,
                             certificate_deactivated=cert_status == STATUS_DEACTIVATED)
    products = sorted(set(db.session.scalars(
        select(QualProduct.code).join(QualItem, QualProduct.item_id == QualItem.id)
        .where(QualItem.unit_id == unit_id, QualItem.code.in_(codes)))))
    if products:
        for code in db.session.scalars(select(NationalSpec.code).where(
                NationalSpec.code.in_(products), NationalSpec.status == STATUS_DEACTIVATED)):
            out.setdefault(code[:20], Reminder()).specs_deactivated += 1
        for code in db.session.scalars(select(NationalTransfer.old_code).where(
                NationalTransfer.old_code.in_(products)).distinct()):
            out.setdefault(code[:20], Reminder()).specs_transferred += 1
    return out
