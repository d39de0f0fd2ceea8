"""导入 of product packaging from the template workbook, with the 错误日志导出.

Streams the workbook (``app.excel``), validates each row with the same rule
as the 新增包装 form (``products.packaging_errors``, fed with preloaded sets so
a 10,000-row file costs a few queries per chunk), saves valid rows as 待提交,
and keeps the rejected rows — row number, original values, 错误原因 — for the
screen and the error log.  A file-level problem (not Excel, wrong template,
empty, too big, broken) refuses the whole file and changes nothing.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import IO, Any

from flask import current_app
from sqlalchemy import select

from app.i18n import Msg, N_
from app.excel import (Column, ExcelError, TemplateSheet, build_error_log, build_template, cell_text, check_size,
                        open_table)
from app.extensions import db
from app.models import AppUser, ProductImport, QualItem, QualProduct
from app.models.dictionary import MEASURE_UNIT, PACKAGE_UNIT
from app.models.national import STATUS_DEACTIVATED, NationalSpec
from app.ops import metrics
from app.services import audit, import_log
from app.services.import_log import RejectedRow, Rejections
from app.errors import ImportRefused  # the imports' one refusal, also product_import.ImportRefused
from app.services.errors import DomainError
from app.services.text import scrub
from app.services.products import (dictionary_units, duplicate_message, existing_packaging_keys, packaging_errors,
                                  packaging_key, parse_ratio)
from app.workflow import engine
from app.workflow.engine import State

SHEET_TITLE = "耗材产品包装"
HEADERS = ("27位耗材医保编码", "最小计量单位", "最小包装单位", "最小包装转换比", "中包装单位", "中包装转换比")
REQUIRED = HEADERS[:4]
KIND = "packaging"  # the record kind on each rejected row of the log
FIELDS = ("code", "min_unit", "pack_unit", "pack_ratio", "mid_unit", "mid_ratio")
CHUNK = 500


@dataclass
class ImportResult:
    token: str = ""
    saved: int = 0
    # every rejected row counted, the first IMPORT_MAX_REJECTED_KEPT kept (the shape of every import log)
    rejections: Rejections = field(default_factory=lambda: Rejections(1000))

    def reject(self, number: int, values: list[Any], reason: str) -> None:
        code = values[0] if values else ""
        self.rejections.add(RejectedRow(SHEET_TITLE, number, code, reason, KIND, values))

    @property
    def rejected(self) -> list[RejectedRow]:
        return self.rejections.rows

    @property
    def rejected_total(self) -> int:
        return self.rejections.total

    @property
    def rejected_dropped(self) -> int:
        return self.rejections.dropped


def max_rows() -> int:
    return int(current_app.config.get("PRODUCT_IMPORT_MAX_ROWS", 20_000))


def max_bytes() -> int:
    return int(current_app.config.get("PRODUCT_IMPORT_MAX_BYTES", 5 * 1024 * 1024))


def template() -> bytes:
    """下载模板: header row, an instructions sheet, dictionary dropdowns, text code column."""
    measure = tuple(dictionary_units(MEASURE_UNIT))
    package = tuple(dictionary_units(PACKAGE_UNIT))
    columns = [
        Column("27位耗材医保编码", required=True, width=32, note="本单位耗材单件下的27位编码（前20位为单件编码）",
               example="C09010101000000066260000001"),
        Column("最小计量单位", required=True, choices=measure, note="数据字典中的计量单位"),
        Column("最小包装单位", required=True, choices=package, note="数据字典中的包装单位"),
        Column("最小包装转换比", required=True, text=False, note="大于等于1的整数，如10表示10支/盒"),
        Column("中包装单位", choices=package, note="选填；与中包装转换比须同时填写或同时不填"),
        Column("中包装转换比", text=False, note="选填；大于等于1的整数，如20表示20盒/箱"),
    ]
    notes = ("耗材产品包装导入模板：第一行为表头，请勿修改列名；从第二行开始每行填写一个包装。",
             "最小包装规格、中包装规格由系统自动生成，无需填写。",
             "导入后包装信息为“待提交”状态，请在耗材产品列表中核对后提交审核。")
    return build_template([TemplateSheet(SHEET_TITLE, columns)], notes=notes)


def _cell(value: Any) -> Any:
    """A cell as the row check takes it: text trimmed (``cell_text``), numbers as they are
    (the ratio check reads 10.0 and "10" alike)."""
    if isinstance(value, str):
        return cell_text(value)
    return value


def _header_index(header_row) -> dict[str, int]:
    names = [cell_text(h) for h in header_row]
    index = {name: i for i, name in enumerate(names) if name}
    missing = [h for h in HEADERS if h not in index]
    if missing:
        raise ImportRefused(Msg("模板错误：缺少列“%(columns)s”，请下载最新模板后按模板填写（列名不可修改）", columns="”“".join(missing)))
    return index


def import_packaging(actor: AppUser, stream: IO[bytes], filename: str, item: QualItem | None = None) -> ImportResult:
    if actor.unit_id is None:
        raise DomainError(N_("只有单位用户可以导入"))
    try:
        check_size(stream, max_bytes())
    except ExcelError as exc:
        raise ImportRefused(exc.message) from None
    stream.seek(0)
    result = ImportResult(token=secrets.token_hex(16),
                          rejections=Rejections(int(current_app.config.get("IMPORT_MAX_REJECTED_KEPT", 1000))))
    try:
        with open_table(stream, filename) as table:
            sheet = next((s for s in table.sheets if s.name == SHEET_TITLE), table.sheets[0] if table.sheets else None)
            if sheet is None:
                raise ImportRefused(N_("工作簿中没有工作表"))
            _load(actor, sheet.iter_rows(), item, result)
    except ExcelError as exc:
        db.session.rollback()
        raise ImportRefused(exc.message) from None
    except ImportRefused:
        db.session.rollback()
        raise
    db.session.add(ProductImport(
        token=result.token, unit_id=actor.unit_id, item_id=item.id if item else None, username=actor.username,
        filename=scrub(filename or "", 255), saved=result.saved, rejected=result.rejected_total,
        rejected_kept=len(result.rejected),
        errors_json=import_log.dumps(result.rejected),
        error_log=_build_error_log(result.rejected) if result.rejected else None))
    audit.record("product_import", user=actor,
                 detail=f"{filename}: 导入成功{result.saved}条，失败{result.rejected_total}条")
    db.session.commit()
    metrics.import_done("product", saved=result.saved, rejected=result.rejected_total)
    return result


def _load(actor: AppUser, rows, item: QualItem | None, result: ImportResult) -> None:
    header = None
    index: dict[str, int] = {}
    measure = set(dictionary_units(MEASURE_UNIT))
    package = set(dictionary_units(PACKAGE_UNIT))
    unit_items = {i.code: i for i in db.session.scalars(select(QualItem).where(QualItem.unit_id == actor.unit_id))}
    seen: dict[tuple, int] = {}
    existing = existing_packaging_keys(actor.unit_id)
    chunk: list[tuple[int, list[Any], dict[str, Any]]] = []
    data_rows = 0
    for number, row in rows:
        if header is None:
            if not any(cell_text(v) for v in row):
                continue
            header = row
            index = _header_index(header)
            continue
        values = [_cell(row[index[h]]) if index[h] < len(row) else None for h in HEADERS]
        if not any(cell_text(v) for v in values):
            continue  # empty rows are skipped
        data_rows += 1
        if data_rows > max_rows():
            raise ImportRefused(Msg("文件超过%(n)s行，请分批导入", n=max_rows()))
        chunk.append((number, values, dict(zip(FIELDS, values))))
        if len(chunk) >= CHUNK:
            _flush(actor, chunk, item, result, measure, package, unit_items, seen, existing)
            chunk = []
    if header is None:
        raise ImportRefused(N_("文件中没有数据：请使用导入模板，第一行为表头"))
    if chunk:
        _flush(actor, chunk, item, result, measure, package, unit_items, seen, existing)
    if data_rows == 0:
        raise ImportRefused(N_("文件中没有数据行，请在表头下方逐行填写包装信息"))


def _flush(actor, chunk, item, result, measure, package, unit_items, seen, existing) -> None:
    codes = {cell_text(v["code"]) for _, _, v in chunk}
    known, stopped = set(), set()
    for code, status in db.session.execute(select(NationalSpec.code, NationalSpec.status)
                                           .where(NationalSpec.code.in_(codes))):
        (stopped if status == STATUS_DEACTIVATED else known).add(code)
    new_rows: list[dict[str, Any]] = []
    for number, values, v in chunk:
        code = cell_text(v["code"])
        reasons = _row_errors(actor, v, code, item, measure, package, unit_items, known, stopped)
        if not reasons:
            ratio = parse_ratio(v["pack_ratio"], "", True)[0]
            mid_unit = cell_text(v["mid_unit"])
            mid = parse_ratio(v["mid_ratio"], "", False)[0] if mid_unit else None
            key = packaging_key(code, cell_text(v["min_unit"]), cell_text(v["pack_unit"]), ratio, mid_unit, mid)
            if key in seen:
                reasons = [Msg("与第%(row)s行重复", row=seen[key])]
            elif key in existing:
                reasons = [duplicate_message(code)]
            else:
                seen[key] = number
                new_rows.append(dict(unit_id=actor.unit_id, item_id=unit_items[code[:20]].id, code=code,
                                     min_unit=key[1], pack_unit=key[2], pack_ratio=ratio,
                                     mid_unit=mid_unit or None, mid_ratio=mid, state=State.DRAFT.value,
                                     source="import", revision_of_id=None))
        if reasons:
            result.reject(number, [scrub(cell_text(x)) for x in values], scrub("；".join(reasons)))
    if new_rows:
        engine.insert_records(QualProduct, new_rows, actor, action="import")
        result.saved += len(new_rows)


def _row_errors(actor, v, code, item, measure, package, unit_items, known, stopped) -> list[str]:
    errors = packaging_errors(
        actor.unit_id, code, cell_text(v["min_unit"]), cell_text(v["pack_unit"]), v["pack_ratio"], cell_text(v["mid_unit"]),
        v["mid_ratio"], item=item, measure_units=measure, package_units=package, unit_items=unit_items,
        known_specs=known, stopped_specs=stopped, check_duplicates=False)
    return list(errors.values())


def find(actor: AppUser, token: str) -> ProductImport | None:
    return db.session.scalar(select(ProductImport).where(ProductImport.token == token,
                                                         ProductImport.unit_id == actor.unit_id))


def rejected_rows(log: ProductImport) -> list[RejectedRow]:
    return import_log.loads(log.errors_json)


def _build_error_log(rejected) -> bytes:
    """错误日志导出: the template's columns plus 行号 and 错误原因, formula-safe."""
    rows = ([r.row, *r.values, r.reason] for r in rejected)
    return build_error_log(("行号", *HEADERS, "错误原因"), rows, title="错误日志", text_columns=(1,))


def error_log(log: ProductImport) -> bytes:
    """The workbook stored when the import ran (imports older than that are built here)."""
    return log.error_log or _build_error_log(rejected_rows(log))
