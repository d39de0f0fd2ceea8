"""耗材产品查询 (SPEC §3.7): effective products of every manufacturer, read-only.

Keyset paging on the product id (no COUNT, no OFFSET); code-prefix search is an
index range scan on ``qual_product(state, code)``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping
from urllib.parse import urlencode

from sqlalchemy import select

from app.excel import build_error_log
from app.extensions import db
from app.models import QualItem, QualProduct, Unit
from app.models.national import NationalCertificate, NationalItem, NationalSpec
from app.services.national import CODE_PREFIX, code_range

FILTERS = ("code", "name", "enterprise", "certificate")
PAGE_SIZE = 50
EXPORT_LIMIT = 50_000
HEADERS = ("27位耗材医保编码", "单件名称", "规格", "型号", "生产企业", "注册备案号", "最小计量单位", "最小包装单位",
           "最小包装转换比", "最小包装规格", "中包装单位", "中包装转换比", "中包装规格")


def clean_filters(args: Mapping[str, Any]) -> dict[str, str]:
    return {k: str(args.get(k) or "").strip() for k in FILTERS if str(args.get(k) or "").strip()}


@dataclass
class Page:
    rows: list = field(default_factory=list)
    next_after: int | None = None
    filters: dict = field(default_factory=dict)

    @property
    def next_query(self) -> str:
        return urlencode({**self.filters, "after": self.next_after or ""})


def _query(filters: dict[str, str]):
    # the last column: the code's national status (已停用 shows beside it, issue 14)
    query = (select(QualProduct, Unit.name, NationalItem.name, NationalCertificate.number, NationalSpec.spec,
                    NationalSpec.model, NationalSpec.status)
             .join(Unit, Unit.id == QualProduct.unit_id)
             .join(QualItem, QualItem.id == QualProduct.item_id)
             .outerjoin(NationalItem, NationalItem.code == QualItem.code)
             .outerjoin(NationalCertificate, NationalCertificate.id == NationalItem.certificate_id)
             .outerjoin(NationalSpec, NationalSpec.code == QualProduct.code)
             # only while the certificate (and 委托授权) is in force: app/services/chain.py
             .where(QualProduct.state == "effective", QualProduct.cert_flag.is_(None)))
    if filters.get("code"):
        code = filters["code"].upper()
        query = query.where(code_range(QualProduct.code, code) if CODE_PREFIX.match(code)
                            else QualProduct.code.startswith(code, autoescape=True))
    if filters.get("name"):
        query = query.where(NationalItem.name.contains(filters["name"], autoescape=True))
    if filters.get("enterprise"):
        query = query.where(Unit.name.contains(filters["enterprise"], autoescape=True))
    if filters.get("certificate"):
        query = query.where(NationalCertificate.number.startswith(filters["certificate"], autoescape=True))
    return query


def search(filters: dict[str, str], after: int | None = None, limit: int = PAGE_SIZE) -> Page:
    query = _query(filters)
    if after:
        query = query.where(QualProduct.id > after)
    rows = db.session.execute(query.order_by(QualProduct.id).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows=rows, next_after=rows[-1][0].id if more and rows else None, filters=filters)


def export(filters: dict[str, str]) -> bytes:
    def rows():
        for product, unit_name, item_name, cert_no, spec, model, _status in db.session.execute(
                _query(filters).order_by(QualProduct.id).limit(EXPORT_LIMIT)):
            yield (product.code, item_name, spec, model, unit_name, cert_no, product.min_unit, product.pack_unit,
                   product.pack_ratio, product.pack_spec, product.mid_unit, product.mid_ratio, product.mid_spec)

    return build_error_log(HEADERS, rows(), title="耗材产品查询", text_columns=(0,))
