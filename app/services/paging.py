"""Keyset pages, the one way every list pages (national data, the units' own lists).

A page is the rows after (or before) one key of a unique, ordered column: the cost of page
1,000 is the cost of page 1 (no OFFSET, no COUNT).  ``Page`` keeps the filters, so its links
carry them; a key that is not a value of the column (junk in the URL) starts from the top.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from app.extensions import db

PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


@dataclass
class Page:
    rows: list
    filters: dict[str, str]
    after: str | None = None
    before: str | None = None
    next_after: str | None = None
    prev_before: str | None = None
    limit: int = PAGE_SIZE
    extra: dict[str, Any] = field(default_factory=dict)
    notice: str | None = None  # why the page is empty although rows may exist
    extra_total: int | None = None  # how many rows the filter holds, where a page shows it

    def query(self, **params) -> str:
        """Query string of these filters (and the caller's extra args) plus ``params``."""
        data = {**self.extra, **{k: v for k, v in self.filters.items() if v},
                **{k: v for k, v in params.items() if v is not None}}
        return urlencode(data, doseq=True)

    @property
    def next_query(self) -> str:
        return self.query(after=self.next_after)

    @property
    def prev_query(self) -> str:
        return self.query(before=self.prev_before)

    @property
    def first_query(self) -> str:
        return self.query()

    @property
    def is_first(self) -> bool:
        return not self.after and not self.before


def _coerce(column, value: str | None):
    """A key from the URL as a value of ``column`` (None when it cannot be one)."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        return value
    if python_type is int:
        return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None
    return value


def keyset_page(stmt, key_column, *, filters: dict[str, str], after: str | None = None,
                before: str | None = None, limit: int = PAGE_SIZE, extra: dict | None = None,
                descending: bool = False) -> Page:
    """One page of ``stmt`` ordered by the unique ``key_column`` (newest first when
    ``descending``), after / before a key."""
    limit = max(1, min(int(limit or PAGE_SIZE), MAX_PAGE_SIZE))
    after, before = _coerce(key_column, after), _coerce(key_column, before)
    page = Page(rows=[], filters=dict(filters), after=None if after is None else str(after),
                before=None if before is None else str(before), limit=limit, extra=extra or {})
    onward = key_column.desc() if descending else key_column
    backward = key_column if descending else key_column.desc()

    def beyond(key):
        return key_column < key if descending else key_column > key

    def short_of(key):
        return key_column > key if descending else key_column < key

    if before is not None and after is None:
        rows = list(db.session.scalars(stmt.where(short_of(before)).order_by(backward).limit(limit + 1)).unique())
        more = len(rows) > limit
        rows = list(reversed(rows[:limit]))
        page.rows = rows
        page.next_after = _key(rows[-1], key_column) if rows else None
        page.prev_before = _key(rows[0], key_column) if more and rows else None
        return page
    if after is not None:
        stmt = stmt.where(beyond(after))
    rows = list(db.session.scalars(stmt.order_by(onward).limit(limit + 1)).unique())
    page.rows = rows[:limit]
    if len(rows) > limit:
        page.next_after = _key(page.rows[-1], key_column)
    if after is not None and page.rows:
        page.prev_before = _key(page.rows[0], key_column)
    return page


def _key(row, column) -> str:
    return str(getattr(row, column.key))
