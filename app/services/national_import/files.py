"""A release's files: expanding folders and archives, reading each sheet's header, its rows."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from app.errors import ImportRefused
from app.excel import cell_text, stated_rows
from app.excel.reader import TableFile
from app.i18n import Msg, N_
from app.services.national_import.results import ImportResult
from app.services.national_import.schema import (KINDS, SKIPPED_SHEETS, Kind, header_map, norm_header,
                                                 detect_kind)

@dataclass
class PlannedSheet:
    sheet: Any
    kind: Kind
    header_row: int
    columns: dict[int, str]  # column index -> field name



def plan_sheets(table: TableFile, result: ImportResult) -> list[PlannedSheet]:
    """Read each sheet's header row; refuse the file on any header problem."""
    plans = []
    problems = []
    for sheet in table.sheets:
        if norm_header(sheet.name) in SKIPPED_SHEETS:
            continue
        header_row, headers = None, None
        for number, row in sheet.iter_rows():
            if any(cell_text(v) for v in row):
                header_row, headers = number, [cell_text(v) for v in row]
                break
            if number >= 20:
                break
        if headers is None:
            continue  # an empty sheet
        kind = detect_kind(headers, sheet.name)
        if kind is None:
            problems.append(Msg("工作表“%(sheet)s”的表头无法识别（第%(row)s行：%(headers)s）；请使用导入模板的表头",
                                sheet=sheet.name, row=header_row, headers="、".join(h for h in headers if h)))
            continue
        mapping = header_map(kind)
        columns: dict[int, str] = {}
        seen: dict[str, str] = {}
        for idx, header in enumerate(headers):
            if not header:
                continue
            name = mapping.get(norm_header(header))
            if name is None:
                result.ignored_columns.append(f"{sheet.name}：{header}")
                continue
            if name in seen:
                problems.append(Msg("工作表“%(sheet)s”的列“%(column)s”与“%(other)s”重复", sheet=sheet.name,
                                    column=header, other=seen[name]))
                continue
            seen[name] = header
            columns[idx] = name
        missing = [f.header for f in kind.fields if f.required and f.name not in seen]
        if missing:
            problems.append(Msg("工作表“%(sheet)s”（%(kind)s）缺少必填列：%(columns)s", sheet=sheet.name,
                                kind=Msg(kind.label), columns="、".join(missing)))
            continue
        plans.append(PlannedSheet(sheet, kind, header_row, columns))
    if problems:
        raise ImportRefused(Msg.join(problems))
    if not plans:
        raise ImportRefused(N_("文件中没有可导入的数据（请使用导入模板，第一行为表头）"))
    order = {k.key: i for i, k in enumerate(KINDS)}
    plans.sort(key=lambda p: order[p.kind.key])  # stable: sheets of one kind keep file order
    return plans


def sheet_rows(plan: PlannedSheet) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, row in plan.sheet.iter_rows():
        if number <= plan.header_row:
            continue
        values = {name: row[idx] for idx, name in plan.columns.items() if idx < len(row)}
        if not _has_text(values.values()):
            continue  # empty row
        yield number, values


def _has_text(values: Iterable[Any]) -> bool:
    """Whether any cell holds something (``cell_text`` of it non-empty); strings checked inline."""
    for value in values:
        if value is None:
            continue
        if value.__class__ is str:
            if value.strip():  # str.strip() removes the ideographic space too
                return True
        elif cell_text(value):
            return True
    return False




# -- files and releases ---------------------------------------------------------
TABLE_EXTENSIONS = (".xlsx", ".xlsm", ".csv")
PROGRESS_EVERY = 10_000

Source = tuple[Any, str]  # (a path or a binary stream, the file name shown to the user)
Progress = Callable[[int, int | None, str], None]


def expand_paths(paths: Iterable[str | os.PathLike], workdir: str) -> list[Source]:
    """Files, folders (their .xlsx / .csv files, sorted) and .zip archives as one list of files.

    Zip members are extracted one by one into ``workdir`` (openpyxl needs a seekable file,
    and a stream inside a zip seeks by decompressing again).  Other files are refused.
    """
    import zipfile

    out: list[Source] = []
    for path in paths:
        path = os.fspath(path)
        if os.path.isdir(path):
            names = sorted(n for n in os.listdir(path) if n.lower().endswith(TABLE_EXTENSIONS)
                           and not n.startswith(("~$", ".")))
            if not names:
                raise ImportRefused(Msg("文件夹“%(name)s”中没有 .xlsx 或 .csv 文件", name=os.path.basename(path)))
            out.extend((os.path.join(path, n), n) for n in names)
        elif path.lower().endswith(".zip"):
            try:
                with zipfile.ZipFile(path) as archive:
                    members = sorted((m for m in archive.infolist() if not m.is_dir()
                                      and m.filename.lower().endswith(TABLE_EXTENSIONS)
                                      and not os.path.basename(m.filename).startswith(("~$", "."))),
                                     key=lambda m: m.filename)
                    if not members:
                        raise ImportRefused(Msg("压缩包“%(name)s”中没有 .xlsx 或 .csv 文件", name=os.path.basename(path)))
                    for n, member in enumerate(members):
                        name = os.path.basename(member.filename)
                        target = os.path.join(workdir, f"{n:04d}_{name}")
                        with archive.open(member) as src, open(target, "wb") as dst:
                            while chunk := src.read(1024 * 1024):
                                dst.write(chunk)
                        out.append((target, name))
            except zipfile.BadZipFile as exc:
                raise ImportRefused(Msg("压缩包“%(name)s”已损坏，无法读取", name=os.path.basename(path))) from exc
        else:
            out.append((path, os.path.basename(path)))
    return out


def estimate_rows(sources: list[Source]) -> int | None:
    """Data rows in the files, for a progress bar's ETA (CSV: lines; .xlsx: the sheets' stated size)."""
    total = 0
    for source, name in sources:
        if not isinstance(source, (str, os.PathLike)):
            return None
        rows = stated_rows(source, skip=lambda title: norm_header(title) in SKIPPED_SHEETS)
        if rows is None:
            return None
        total += rows
    return total or None
