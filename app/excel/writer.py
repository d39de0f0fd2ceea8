"""Writing .xlsx: formula-safe cells, import templates and error logs.

A cell is never written as a formula: every value that looks like one
(``= + - @`` or a leading tab / carriage return) is stored as a text cell with
Excel's quote-prefix flag, so Excel and LibreOffice show it as typed and never
evaluate it, and the value itself is unchanged (an error log can be fixed and
imported again).  Workbooks are written in openpyxl's write-only mode, so a
large error log streams to disk instead of building a cell tree in memory.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")
TEXT_FORMAT = "@"
HEADER_FONT = Font(bold=True)
REQUIRED_FILL = PatternFill("solid", fgColor="FFF2CC")
OPTIONAL_FILL = PatternFill("solid", fgColor="E7E6E6")
TEMPLATE_ROWS = 5000  # rows that carry the dropdowns and the text format


def is_formula_like(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_PREFIXES)


def safe_cell(ws, value: Any, *, text: bool = False, bold: bool = False) -> WriteOnlyCell:
    """A write-only cell holding ``value`` that Excel will never evaluate.

    ``text`` stores the value as text with the text number format (codes keep
    their leading zeros).
    """
    if value is not None and text and not isinstance(value, str):
        value = str(value)
    cell = WriteOnlyCell(ws, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # openpyxl would otherwise store "=..." as a formula
        if is_formula_like(value):
            cell.quotePrefix = True
    if text:
        cell.number_format = TEXT_FORMAT
    if bold:
        cell.font = HEADER_FONT
    return cell


@dataclass(frozen=True)
class Column:
    header: str
    required: bool = False
    text: bool = True
    width: int = 18
    choices: tuple[str, ...] = ()
    note: str = ""
    example: str = ""


@dataclass
class TemplateSheet:
    title: str
    columns: Sequence[Column]
    examples: Sequence[Sequence[Any]] = field(default_factory=list)


def _save(wb: Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def build_template(sheets: Sequence[TemplateSheet], notes: Sequence[str] = (),
                   instructions_title: str = "填写说明") -> bytes:
    """An import template: one sheet per record kind (header row, optional example
    rows, text-formatted code columns, dropdowns for enumerations) and an
    instructions sheet describing every column."""
    wb = Workbook()
    wb.remove(wb.active)
    options = None
    option_col = 0
    for spec in sheets:
        ws = wb.create_sheet(spec.title)
        ws.freeze_panes = "A2"
        for idx, col in enumerate(spec.columns, start=1):
            letter = get_column_letter(idx)
            ws.column_dimensions[letter].width = col.width
            cell = ws.cell(row=1, column=idx, value=col.header)
            cell.data_type = "s"
            cell.font = HEADER_FONT
            cell.fill = REQUIRED_FILL if col.required else OPTIONAL_FILL
            cell.alignment = Alignment(horizontal="center")
            if col.text:  # the column's style: cells typed later are text
                ws.column_dimensions[letter].number_format = TEXT_FORMAT
            if col.choices:
                joined = ",".join(col.choices)
                if len(joined) <= 250:
                    formula = '"%s"' % joined
                else:  # long lists live on a hidden sheet
                    if options is None:
                        options = wb.create_sheet("选项")
                        options.sheet_state = "hidden"
                    option_col += 1
                    for r, choice in enumerate(col.choices, start=1):
                        options.cell(row=r, column=option_col, value=choice).data_type = "s"
                    ol = get_column_letter(option_col)
                    formula = "%s!$%s$1:$%s$%d" % (quote_sheetname(options.title), ol, ol, len(col.choices))
                dv = DataValidation(type="list", formula1=formula, allow_blank=not col.required,
                                    showErrorMessage=True, errorTitle="输入无效",
                                    error="请从下拉列表中选择：%s" % "、".join(col.choices[:20]))
                dv.add("%s2:%s%d" % (letter, letter, TEMPLATE_ROWS + 1))
                ws.add_data_validation(dv)
        for r, values in enumerate(spec.examples, start=2):
            for c, value in enumerate(values, start=1):
                cell = ws.cell(row=r, column=c, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"
                    if is_formula_like(value):
                        cell.quotePrefix = True

    info = wb.create_sheet(instructions_title)
    info.column_dimensions["A"].width = 16
    info.column_dimensions["B"].width = 22
    info.column_dimensions["C"].width = 10
    info.column_dimensions["D"].width = 70
    row = 1
    for note in notes:
        info.cell(row=row, column=1, value=note).data_type = "s"
        row += 1
    row += 1 if notes else 0
    for spec in sheets:
        info.cell(row=row, column=1, value=spec.title).font = HEADER_FONT
        row += 1
        for c, header in enumerate(("", "列名", "是否必填", "填写要求"), start=1):
            if header:
                info.cell(row=row, column=c, value=header).font = HEADER_FONT
        row += 1
        for col in spec.columns:
            info.cell(row=row, column=2, value=col.header).data_type = "s"
            info.cell(row=row, column=3, value="必填" if col.required else "选填")
            note = col.note
            if col.choices:
                note = (note + "；" if note else "") + "可选值：" + "、".join(col.choices)
            if col.example:
                note = (note + "；" if note else "") + "示例：" + col.example
            cell = info.cell(row=row, column=4, value=note)
            cell.data_type = "s"
            cell.alignment = Alignment(wrap_text=True)
            row += 1
        row += 1
    return _save(wb)


@dataclass
class ErrorSheet:
    """One sheet of an error log: its title, header row and rejected rows."""

    title: str
    headers: Sequence[str]
    rows: Iterable[Sequence[Any]]
    text_columns: Iterable[int] = ()


def build_error_logs(sheets: Sequence[ErrorSheet]) -> bytes:
    """A streamed workbook of one or more sheets: a header row, then one row per rejected record.

    Callers pass the template's headers with 行号 first and 错误原因 last, so a
    user can fix the rows and import them again.
    """
    wb = Workbook(write_only=True)
    for sheet in sheets:
        ws = wb.create_sheet(sheet.title[:31])
        text_columns = set(sheet.text_columns)
        ws.append([safe_cell(ws, h, bold=True) for h in sheet.headers])
        for values in sheet.rows:
            ws.append([safe_cell(ws, v, text=i in text_columns) for i, v in enumerate(values)])
    return _save(wb)


def build_error_log(headers: Sequence[str], rows: Iterable[Sequence[Any]], title: str = "错误日志",
                    text_columns: Iterable[int] = ()) -> bytes:
    """An error log of one sheet (see :func:`build_error_logs`)."""
    return build_error_logs([ErrorSheet(title, headers, rows, text_columns)])
