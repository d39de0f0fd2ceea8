"""The qualification side's window on the national code data.

Qualification records refer to national certificates by number (the natural
key of the national data); these functions are the only place that queries
the national tables for them.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Mapping
from urllib.parse import urlencode

from sqlalchemy import select

from app.extensions import db

PAGE_SIZE = 50


def _model():
    from app.models.national import NationalCertificate

    return NationalCertificate


def certificate(number: str):
    model = _model()
    return db.session.scalar(select(model).where(model.number == (number or "").strip()))


def certificate_of_item(item_code: str):
    from app.models.national import NationalCertificate, NationalItem

    return db.session.scalar(select(NationalCertificate).join(
        NationalItem, NationalItem.certificate_id == NationalCertificate.id).where(NationalItem.code == item_code))


def is_imported(cert) -> bool:
    return bool(cert is not None and cert.is_imported)


def numbers_registered_to(unit_name: str) -> list[str]:
    """Certificates whose registrant is the unit (exact name, as on the licence)."""
    model = _model()
    return list(db.session.scalars(select(model.number).where(model.registrant == (unit_name or "").strip())))


FILTER_KEYS = ("number", "product_name", "registrant", "origin", "valid_only")


def picker_filters(args: Mapping[str, Any]) -> dict[str, str]:
    return {k: (args.get(k) or "").strip() for k in FILTER_KEYS if (args.get(k) or "").strip()}


@dataclass
class Page:
    rows: list = field(default_factory=list)
    next_after: str | None = None
    filters: dict = field(default_factory=dict)

    @property
    def next_query(self) -> str:
        return urlencode({**self.filters, "after": self.next_after or ""})


def search_certificates(filters: dict[str, str], after: str | None = None, limit: int = PAGE_SIZE) -> Page:
    """Picker search: prefix on number, substring on names, keyset paging by number."""
    model = _model()
    query = select(model)
    if filters.get("number"):
        query = query.where(model.number.startswith(filters["number"], autoescape=True))
    if filters.get("product_name"):
        query = query.where(model.product_name.contains(filters["product_name"], autoescape=True))
    if filters.get("registrant"):
        query = query.where(model.registrant.contains(filters["registrant"], autoescape=True))
    if filters.get("origin") in ("domestic", "imported"):
        query = query.where(model.origin == filters["origin"])
    if filters.get("valid_only"):
        today = dt.date.today()
        query = query.where((model.valid_to.is_(None)) | (model.valid_to >= today))
    if after:
        query = query.where(model.number > after)
    rows = list(db.session.scalars(query.order_by(model.number).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows=rows, next_after=rows[-1].number if more and rows else None, filters=filters)
