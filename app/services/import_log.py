"""The one shape of an import's log, for the packaging and the national imports alike.

Every import keeps its rejected rows the same way: a :class:`RejectedRow` each (sheet, row
number as Excel shows it, key, reason, the record kind and the row's cells in its template's
column order), every one counted and the first few kept (:class:`Rejections`), stored as a JSON
list of objects in the log's ``errors_json`` (:func:`dumps` / :func:`loads`).  The log rows
themselves share their columns through :class:`app.models.mixins.ImportLogColumns`.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Iterable


@dataclass
class RejectedRow:
    sheet: str
    row: int
    key: str
    reason: str
    kind: str = ""  # the record kind's key: a report puts each kind's rows under its template's headers
    values: list = field(default_factory=list)  # the row's cells in the template's column order


class Rejections:
    """The rejected rows of one import: all counted, the first ``keep`` kept for the screen and the log."""

    def __init__(self, keep: int):
        self.keep = keep
        self.rows: list[RejectedRow] = []
        self.total = 0

    def add(self, row: RejectedRow) -> None:
        self.total += 1
        if len(self.rows) < self.keep:
            self.rows.append(row)

    @property
    def dropped(self) -> int:
        return self.total - len(self.rows)


def dumps(rows: Iterable[RejectedRow]) -> str | None:
    rows = list(rows)
    return json.dumps([asdict(r) for r in rows], ensure_ascii=False, default=str) if rows else None


def loads(text: str | None) -> list[RejectedRow]:
    out = []
    for item in json.loads(text or "[]"):
        out.append(RejectedRow(sheet=str(item.get("sheet") or ""), row=int(item.get("row") or 0),
                               key=str(item.get("key") or ""), reason=str(item.get("reason") or ""),
                               kind=str(item.get("kind") or ""), values=list(item.get("values") or [])))
    return out

