"""What an import did: counts per kind and the rejected rows (sheet, row, key, reason, values)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.excel import cell_text
from app.services.import_log import RejectedRow
from app.services.national_import.schema import KINDS, Kind

REPORT_LIMIT = 1000  # rejected rows kept for the screen and the downloadable report


@dataclass
class Counts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0

    def add(self, other: "Counts") -> None:
        for name in ("inserted", "updated", "unchanged", "rejected"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def row_cells(kind: "Kind", values: dict) -> list[str]:
    """A row's values in the order of the kind's template columns (text, as the report shows them)."""
    return [cell_text(values.get(f.name)) for f in kind.fields]


@dataclass
class ImportResult:
    filename: str
    counts: dict[str, Counts] = field(default_factory=lambda: {k.key: Counts() for k in KINDS})
    errors: list[RejectedRow] = field(default_factory=list)
    sheets: list[tuple[str, str]] = field(default_factory=list)  # (sheet, kind label)
    ignored_columns: list[str] = field(default_factory=list)
    encoding: str | None = None
    token: str | None = None
    release: Any = None  # the NationalRelease it belongs to

    @property
    def total(self) -> Counts:
        out = Counts()
        for c in self.counts.values():
            out.add(c)
        return out

    def reject(self, sheet: str, row: int, key: str, reason: str, kind: Kind, values: dict | None = None) -> None:
        self.counts[kind.key].rejected += 1
        if len(self.errors) < REPORT_LIMIT:
            self.errors.append(RejectedRow(sheet, row, key, reason, kind.key, row_cells(kind, values or {})))

    @property
    def errors_truncated(self) -> bool:
        return self.total.rejected > len(self.errors)

    def summary(self) -> str:
        t = self.total
        text = f"新增 {t.inserted} 条，更新 {t.updated} 条，未变化 {t.unchanged} 条，拒绝 {t.rejected} 条"
        if self.counts["deactivation"].updated:
            text += f"（其中停用 {self.counts['deactivation'].updated} 条）"
        if self.counts["transfer"].inserted:
            text += f"（其中新增转码 {self.counts['transfer'].inserted} 条）"
        if self.release is not None:
            text = f"版本 {self.release.version}：{text}"
        return text

