"""Import of the national code data from .xlsx / .csv (SPEC §2).

Rules, in the order a file meets them:

1. A release is one file or several (a folder, a list, a .zip: see
   :func:`expand_paths`).  Each file must be under the size limit
   (``NATIONAL_IMPORT_MAX_BYTES`` for uploads; the CLI has none), be a real .xlsx
   (opened in openpyxl's read-only mode) or a .csv in UTF-8 or GBK.
2. Every sheet's first non-empty row is its header.  The headers say which kind
   the sheet holds (注册证 / 单件 / 规格型号); a sheet named 填写说明 is skipped.
   Unknown headers, missing required columns or a duplicated column refuse the
   whole file before any row is read.
3. Rows stream; each row is checked on its own in Python (formats, lengths,
   code parts) and valid rows go to a staging table (COPY on PostgreSQL).  The
   checks that need the database run set-based on the staging table: a key
   repeated in the release (the first row wins), the 27-character code's single
   item, the single item's certificate.  Every row is loaded completely or
   rejected with its sheet, row number and reason.  Empty rows are skipped.
4. Loading is an upsert on the natural key (注册备案号 / 20位码 / 27位码):
   new keys are inserted, changed rows updated, identical rows left alone, so
   importing a file twice changes nothing the second time.
5. The whole release is one transaction: a file that turns out broken half-way
   (truncated zip, bad XML), a killed process or a failed job changes nothing.

Kinds load in dependency order (certificates, then single items, then
spec/models) whatever the sheet order, so one workbook can carry all three.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import uuid
from dataclasses import dataclass, field
from functools import cached_property
from typing import IO, Any, Callable, Iterable, Iterator

from flask import current_app
from sqlalchemy import Date, DateTime, Integer, bindparam, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.excel import Column, ErrorSheet, TemplateSheet, build_error_logs, build_template, open_table
from app.excel.reader import ExcelError, TableFile
from app.extensions import db
from app.errors import ImportRefused  # noqa: F401  (the imports' one refusal; also national_import.ImportRefused)
from app.i18n import Msg, N_
from app.models.mixins import utcnow
from app.models.national import (MANAGEMENT_CLASSES, ORIGIN_DOMESTIC, ORIGIN_IMPORTED, TRANSFER_KINDS,
                                 NationalCertificate, NationalImport, NationalItem, NationalRelease, NationalSpec,
                                 NationalTransfer, NationalUpload, fold)
from app.ops import metrics
from app.services import audit
from app.services.errors import DomainError
from app.services.text import scrub

DEFAULT_MAX_BYTES = 100 * 1024 * 1024
BATCH_SIZE = 5000  # rows per COPY / executemany into the staging table
REPORT_LIMIT = 1000  # rejected rows kept for the screen and the downloadable report
SKIPPED_SHEETS = {"填写说明", "说明", "选项"}

# ASCII digits only (``\d`` would take full-width ones too); the PostgreSQL checks use the same patterns
ITEM_CODE = re.compile(r"^C[0-9]{19}$")
SPEC_CODE = re.compile(r"^C[0-9]{26}$")
CODED_VALUE = re.compile(r"^([0-9]+)\s*[-－—]")


class RowRejected(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def max_bytes() -> int:
    return int(current_app.config.get("NATIONAL_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))


# -- cell parsing ---------------------------------------------------------------
def cell_text(value: Any) -> str:
    """A cell as trimmed text: integers stay integers (no ``.0``), dates are ISO."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.replace("\u3000", " ").strip()
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")
_NO_END = {"长期", "长期有效", "无", "无期限", "-", "—", "/"}


def parse_date(value: Any, label: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)) and 20000 < value < 80000:  # an Excel serial date
        from openpyxl.utils.datetime import from_excel

        return from_excel(value).date()
    text = cell_text(value)
    if text in _NO_END:
        return None
    text = text.split(" ")[0].split("T")[0]
    if len(text) == 10 and text[4] == "-" and text[7] == "-":  # ISO, the common case: no strptime
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise RowRejected(f"{label}“{text}”不是有效日期（格式如 2024-01-31）")


_CLASSES = {
    "I": "I", "Ⅰ": "I", "1": "I", "一": "I", "一类": "I", "第一类": "I", "I类": "I", "Ⅰ类": "I",
    "II": "II", "Ⅱ": "II", "2": "II", "二": "II", "二类": "II", "第二类": "II", "II类": "II", "Ⅱ类": "II",
    "III": "III", "Ⅲ": "III", "3": "III", "三": "III", "三类": "III", "第三类": "III", "III类": "III",
    "Ⅲ类": "III",
}
_ORIGINS = {"境内": ORIGIN_DOMESTIC, "国产": ORIGIN_DOMESTIC, "进口": ORIGIN_IMPORTED,
            "境外": ORIGIN_IMPORTED, "港澳台": ORIGIN_IMPORTED}


# -- the three kinds ------------------------------------------------------------
@dataclass(frozen=True)
class Field:
    name: str
    header: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    max_len: int | None = None
    note: str = ""
    example: str = ""
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    model: type
    key_field: str
    fields: tuple[Field, ...]
    sheet_names: tuple[str, ...]

    @property
    def table(self):
        return self.model.__table__

    def field(self, name: str) -> Field:
        return self.fields_by_name[name]

    @cached_property
    def fields_by_name(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}

    @cached_property
    def required_fields(self) -> tuple[tuple[str, str], ...]:
        return tuple((f.name, f.header) for f in self.fields if f.required)


CERTIFICATE = Kind("certificate", "注册证", NationalCertificate, "number", (
    Field("number", "注册备案号", ("注册证编号", "注册证号", "备案号", "注册证/备案凭证编号", "注册备案凭证号"),
          True, 60, "注册证编号或备案凭证编号", "国械注准20153100011"),
    Field("product_name", "注册备案产品名称", ("产品名称", "注册证产品名称"), True, 255,
          example="一次性使用动脉插管"),
    Field("registrant", "注册人名称", ("注册人", "备案人名称", "注册人/备案人名称", "注册人(备案人)名称"),
          True, 255, "与单位注册时的单位名称一致，企业据此维护本企业注册证", "广东示范医疗器械有限公司"),
    Field("address", "生产地址", (), False, 500),
    Field("management_class", "管理类别", ("类别", "管理类别(I/II/III)"), True, 8,
          "I、II 或 III", "III", MANAGEMENT_CLASSES),
    Field("valid_from", "有效期开始", ("有效期起", "有效期开始日期", "批准日期"), False, None,
          "日期，如 2020-05-08；备案凭证可不填"),
    Field("valid_to", "有效期结束", ("有效期至", "有效期结束日期", "有效期截止"), False, None,
          "日期，不早于有效期开始；备案凭证可不填或填“长期”"),
    Field("structure", "结构及组成", ("结构组成", "结构及组成/主要组成成分"), False, 4000),
    Field("scope", "适用范围", ("适用范围/预期用途", "预期用途"), False, 4000),
    Field("origin", "境内/进口", ("境内进口", "境内/境外", "产地"), True, 10,
          "国械注进、国械注许为进口，械注准为境内", "境内", ("境内", "进口")),
), ("注册证", "注册证数据", "注册证/备案凭证", "注册备案"))

ITEM = Kind("item", "单件", NationalItem, "code", (
    Field("code", "20位码", ("单件编码", "医保耗材20位码", "20位编码", "耗材20位码", "医保耗材分类编码"),
          True, 20, "C 加 19 位数字", "C0901010100000006626"),
    Field("name", "单件名称", ("单件产品名称", "产品名称"), True, 255, example="动脉插管"),
    Field("level1", "一级分类", (), False, 100, "如 09-体外循环材料，编号须与20位码一致"),
    Field("level2", "二级分类", (), False, 100, "如 01-插管"),
    Field("level3", "三级分类", (), False, 100, "如 01-动脉灌注管"),
    Field("generic_name", "通用名", ("医保通用名",), False, 100, "如 001-支架"),
    Field("material", "材质", (), False, 100, "如 01-镍钛合金"),
    Field("feature", "特征", ("规格特征",), False, 200, "如 001-全覆膜"),
    Field("enterprise", "企业名称", ("耗材企业", "生产企业", "企业"), False, 255),
    Field("certificate", "注册备案号", ("注册证编号", "注册证号"), True, 60,
          "须为已导入的注册证/备案凭证编号", "国械注准20153100011"),
), ("单件", "单件数据", "20位码"))

SPEC = Kind("spec", "规格型号", NationalSpec, "code", (
    Field("code", "27位码", ("规格型号编码", "医保耗材27位码", "27位编码", "耗材27位码", "医保耗材编码"),
          True, 27, "C 加 26 位数字，前20位为已导入单件的20位码", "C09010101000000066260000001"),
    Field("item_code", "20位码", ("单件编码",), False, 20, "可不填；填写时须等于27位码的前20位"),
    Field("spec", "规格", (), False, 255, "规格与型号至少填写一项"),
    Field("model", "型号", (), False, 255),
), ("规格型号", "规格型号数据", "27位码", "产品"))

# The release's 停用表 and 转码表 (SPEC §7): they refer to data already loaded, so they load last.
DEACTIVATION = Kind("deactivation", "停用", NationalSpec, "code", (
    Field("code", "停用编码", ("27位码", "20位码", "注册备案号", "编码", "医保耗材编码", "原27位码"), True, 60,
          "27位码、20位码或注册备案号：停用该规格型号、单件或注册证", "C09010101000000066260000001"),
    Field("state", "原码状态", ("状态", "编码状态"), False, 10, "可不填；填写时须为“停用”", "停用"),
    Field("deactivated_on", "停用日期", (), False, None, "日期，如 2026-03-20；不填为本版本的发布日期"),
), ("停用", "停用表", "停用数据"))

TRANSFER = Kind("transfer", "转码", NationalTransfer, "old_code", (
    Field("old_code", "原27位码", ("原编码", "原医保编码", "原27位编码", "旧27位码"), True, 27,
          "转码前的27位码", "C09010101000000066260000001"),
    Field("new_code", "27位码", ("新27位码", "新编码", "现27位码", "转码后27位码"), True, 27,
          "转码后的27位码，须为已导入的规格型号", "C09010101000000066260000002"),
    Field("kind", "类型", ("转码类型",), False, 10, "变更 或 映射；不填为变更", "变更", TRANSFER_KINDS),
), ("转码", "转码表", "转码数据"))

KINDS = (CERTIFICATE, ITEM, SPEC, DEACTIVATION, TRANSFER)
KINDS_BY_KEY = {k.key: k for k in KINDS}
DATA_KINDS = ("certificate", "item", "spec")  # what a release adds and changes


def _norm_header(text: str) -> str:
    text = cell_text(text).lstrip("*＊").rstrip("*＊")
    return re.sub(r"\s+", "", text).replace("（", "(").replace("）", ")").replace("／", "/")


def _header_map(kind: Kind) -> dict[str, str]:
    out = {}
    for f in kind.fields:
        for name in (f.header, *f.aliases):
            out.setdefault(_norm_header(name), f.name)
    return out


_DATA_HEADERS = {"规格", "型号", "单件名称", "单件产品名称", "注册备案产品名称", "产品名称"}


def detect_kind(headers: Iterable[str], sheet_name: str = "") -> Kind | None:
    names = {_norm_header(h) for h in headers if cell_text(h)}
    if not names & _DATA_HEADERS:  # a 转码表 or 停用表 carries codes, not product data
        old = {n for n, f in _header_map(TRANSFER).items() if f == "old_code"}
        new = {n for n, f in _header_map(TRANSFER).items() if f == "new_code"}
        if names & old and names & new:
            return TRANSFER
        if names & {"原码状态", "停用日期", "停用编码", "编码状态"} or "停用" in _norm_header(sheet_name):
            return DEACTIVATION
    spec_keys = {n for n, f in _header_map(SPEC).items() if f == "code"}
    item_keys = {n for n, f in _header_map(ITEM).items() if f == "code"}
    cert_keys = {n for n, f in _header_map(CERTIFICATE).items() if f in ("product_name", "registrant")}
    if names & spec_keys and not names & {"单件名称", "单件产品名称"}:
        return SPEC
    if names & item_keys and not names & spec_keys:
        return ITEM
    if names & cert_keys and not names & (spec_keys | item_keys):
        return CERTIFICATE
    sheet = _norm_header(sheet_name)
    for kind in KINDS:
        if sheet in {_norm_header(n) for n in kind.sheet_names}:
            return kind
    return None


# -- results ----------------------------------------------------------------------
@dataclass
class Counts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0

    def add(self, other: "Counts") -> None:
        for name in ("inserted", "updated", "unchanged", "rejected"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class RowError:
    sheet: str
    row: int
    key: str
    reason: str
    kind: str = ""  # the kind's key: the report puts each kind's rows under its template headers
    values: list = field(default_factory=list)  # the row's cells in the template's column order


def _cells(kind: "Kind", values: dict) -> list[str]:
    """A row's values in the order of the kind's template columns (text, as the report shows them)."""
    return [cell_text(values.get(f.name)) for f in kind.fields]


@dataclass
class ImportResult:
    filename: str
    counts: dict[str, Counts] = field(default_factory=lambda: {k.key: Counts() for k in KINDS})
    errors: list[RowError] = field(default_factory=list)
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
            self.errors.append(RowError(sheet, row, key, reason, kind.key, _cells(kind, values or {})))

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


# -- row checks -------------------------------------------------------------------
def _required(values: dict[str, Any], kind: Kind) -> None:
    missing = [header for name, header in kind.required_fields if not cell_text(values.get(name))]
    if missing:
        raise RowRejected("、".join(missing) + "不能为空")


def _texts(values: dict[str, Any], kind: Kind, names: Iterable[str]) -> dict[str, str | None]:
    out = {}
    fields = kind.fields_by_name
    for name in names:
        value = values.get(name)
        # the common case inline (a million rows call this several times each)
        text = value.replace("\u3000", " ").strip() if value.__class__ is str else cell_text(value)
        f = fields[name]
        if f.max_len and len(text) > f.max_len:
            raise RowRejected(f"{f.header}超过{f.max_len}个字符")
        out[name] = text or None
    return out


def check_certificate(values: dict[str, Any]) -> dict[str, Any]:
    _required(values, CERTIFICATE)
    row = _texts(values, CERTIFICATE, ("number", "product_name", "registrant", "address", "structure", "scope"))
    number = row["number"]
    if re.search(r"\s", number) or "械" not in number:
        raise RowRejected(f"注册备案号“{number}”格式不正确")
    cls = cell_text(values.get("management_class")).upper().replace(" ", "")
    if cls not in _CLASSES and cell_text(values.get("management_class")) not in _CLASSES:
        raise RowRejected(f"管理类别“{cell_text(values.get('management_class'))}”应为 I、II 或 III")
    row["management_class"] = _CLASSES.get(cls) or _CLASSES[cell_text(values.get("management_class"))]
    origin = _ORIGINS.get(cell_text(values.get("origin")))
    if origin is None:
        raise RowRejected(f"境内/进口“{cell_text(values.get('origin'))}”应为 境内 或 进口")
    if ("械注进" in number or "械注许" in number) and origin != ORIGIN_IMPORTED:
        raise RowRejected(f"注册备案号“{number}”为进口（含港澳台）注册证，境内/进口应为 进口")
    if "械注准" in number and origin != ORIGIN_DOMESTIC:
        raise RowRejected(f"注册备案号“{number}”为境内注册证，境内/进口应为 境内")
    row["origin"] = origin
    row["registrant_fold"] = fold(row["registrant"])
    row["product_name_fold"] = fold(row["product_name"])
    row["valid_from"] = parse_date(values.get("valid_from"), "有效期开始")
    row["valid_to"] = parse_date(values.get("valid_to"), "有效期结束")
    if row["valid_from"] and row["valid_to"] and row["valid_to"] < row["valid_from"]:
        raise RowRejected("有效期结束不能早于有效期开始")
    return row


# (field, code slice) pairs: "09-体外循环材料" must match code[1:3], and so on.
_CODE_PARTS = (("level1", 1, 3), ("level2", 3, 5), ("level3", 5, 7), ("generic_name", 7, 10),
               ("material", 10, 12), ("feature", 12, 15))


def check_item(values: dict[str, Any]) -> dict[str, Any]:
    _required(values, ITEM)
    code = cell_text(values.get("code")).upper()
    if not ITEM_CODE.match(code):
        raise RowRejected(f"20位码“{cell_text(values.get('code'))}”应为C加19位数字")
    row = _texts(values, ITEM, ("name", "level1", "level2", "level3", "generic_name", "material", "feature",
                                "enterprise", "certificate"))
    row["code"] = code
    for name, start, end in _CODE_PARTS:
        match = CODED_VALUE.match(row[name] or "")
        if match and match.group(1) != code[start:end]:
            raise RowRejected(f"{ITEM.field(name).header}“{row[name]}”与20位码不一致（编码中为{code[start:end]}）")
    return row


def check_spec(values: dict[str, Any]) -> dict[str, Any]:
    _required(values, SPEC)
    code = cell_text(values.get("code")).upper()
    if not SPEC_CODE.match(code):
        raise RowRejected(f"27位码“{cell_text(values.get('code'))}”应为C加26位数字")
    row = _texts(values, SPEC, ("item_code", "spec", "model"))
    item_code = (row.pop("item_code") or "").upper()
    if item_code and item_code != code[:20]:
        raise RowRejected(f"20位码“{item_code}”与27位码的前20位“{code[:20]}”不一致")
    if not row["spec"] and not row["model"]:
        raise RowRejected("规格与型号至少填写一项")
    row["code"] = code
    return row


def check_deactivation(values: dict[str, Any]) -> dict[str, Any]:
    _required(values, DEACTIVATION)
    raw = cell_text(values.get("code"))
    code = raw.upper() if raw[:1] in ("c", "C") else raw
    if SPEC_CODE.match(code):
        target = "spec"
    elif ITEM_CODE.match(code):
        target = "item"
    elif "械" in code and not re.search(r"\s", code) and len(code) <= 60:
        target = "certificate"
    else:
        raise RowRejected(f"停用编码“{raw}”应为27位码、20位码或注册备案号")
    state = cell_text(values.get("state"))
    if state and state != "停用":
        raise RowRejected(f"原码状态“{state}”应为“停用”")
    return {"code": code, "target": target,
            "deactivated_on": parse_date(values.get("deactivated_on"), "停用日期")}


def check_transfer(values: dict[str, Any]) -> dict[str, Any]:
    _required(values, TRANSFER)
    old = cell_text(values.get("old_code")).upper()
    new = cell_text(values.get("new_code")).upper()
    for label, code in (("原27位码", old), ("27位码", new)):
        if not SPEC_CODE.match(code):
            raise RowRejected(f"{label}“{code}”应为C加26位数字")
    if old == new:
        raise RowRejected("原27位码与27位码相同")
    kind = cell_text(values.get("kind")) or TRANSFER_KINDS[0]
    if kind not in TRANSFER_KINDS:
        raise RowRejected(f"类型“{kind}”应为 变更 或 映射")
    return {"old_code": old, "new_code": new, "kind": kind, "pair": f"{old}>{new}"}


CHECKS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "certificate": check_certificate, "item": check_item, "spec": check_spec,
    "deactivation": check_deactivation, "transfer": check_transfer}
COMPARED = {
    "certificate": ("product_name", "registrant", "address", "management_class", "valid_from", "valid_to",
                    "structure", "scope", "origin", "registrant_fold", "product_name_fold"),
    "item": ("name", "level1", "level2", "level3", "generic_name", "material", "feature", "enterprise",
             "certificate_id"),
    "spec": ("item_id", "spec", "model"),
}


# -- the import -------------------------------------------------------------------
@dataclass
class _PlannedSheet:
    sheet: Any
    kind: Kind
    header_row: int
    columns: dict[int, str]  # column index -> field name


def _size_of(source) -> int:
    if isinstance(source, (str, os.PathLike)):
        return os.path.getsize(source)
    pos = source.tell()
    source.seek(0, os.SEEK_END)
    size = source.tell()
    source.seek(pos)
    return size


def _human(n: int) -> str:
    return f"{n / 1024 / 1024:.0f}MB" if n >= 1024 * 1024 else f"{n // 1024}KB"


def _plan(table: TableFile, result: ImportResult) -> list[_PlannedSheet]:
    """Read each sheet's header row; refuse the file on any header problem."""
    plans = []
    problems = []
    for sheet in table.sheets:
        if _norm_header(sheet.name) in SKIPPED_SHEETS:
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
            problems.append(f"工作表“{sheet.name}”的表头无法识别（第{header_row}行：{'、'.join(h for h in headers if h)}）；"
                            f"请使用导入模板的表头")
            continue
        mapping = _header_map(kind)
        columns: dict[int, str] = {}
        seen: dict[str, str] = {}
        for idx, header in enumerate(headers):
            if not header:
                continue
            name = mapping.get(_norm_header(header))
            if name is None:
                result.ignored_columns.append(f"{sheet.name}：{header}")
                continue
            if name in seen:
                problems.append(f"工作表“{sheet.name}”的列“{header}”与“{seen[name]}”重复")
                continue
            seen[name] = header
            columns[idx] = name
        missing = [f.header for f in kind.fields if f.required and f.name not in seen]
        if missing:
            problems.append(f"工作表“{sheet.name}”（{kind.label}）缺少必填列：{'、'.join(missing)}")
            continue
        plans.append(_PlannedSheet(sheet, kind, header_row, columns))
    if problems:
        raise ImportRefused("；".join(problems))
    if not plans:
        raise ImportRefused(N_("文件中没有可导入的数据（请使用导入模板，第一行为表头）"))
    order = {k.key: i for i, k in enumerate(KINDS)}
    plans.sort(key=lambda p: order[p.kind.key])  # stable: sheets of one kind keep file order
    return plans


def _rows(plan: _PlannedSheet) -> Iterator[tuple[int, dict[str, Any]]]:
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


# -- the loader ---------------------------------------------------------------------
# Python reads and checks each row on its own (formats, lengths, code parts) and keeps
# nothing of it but the rejected rows' report.  Valid rows land in a temporary staging
# table per kind (COPY on PostgreSQL, executemany on SQLite); everything that needs the
# database — a key repeated in the release, the parent that must exist, new / changed /
# unchanged — is then decided set-based in a few statements whose plans see real
# statistics (staging and loaded tables are ANALYZEd inside the transaction).  The cost
# is linear in rows and the memory bounded by one batch, whatever the size.

STAGE_COLUMNS = {
    "certificate": ("number", "product_name", "registrant", "address", "management_class", "valid_from",
                    "valid_to", "structure", "scope", "origin", "registrant_fold", "product_name_fold"),
    "item": ("code", "name", "level1", "level2", "level3", "generic_name", "material", "feature", "enterprise",
             "certificate"),
    "spec": ("code", "spec", "model"),
    "deactivation": ("code", "target", "deactivated_on"),
    "transfer": ("old_code", "new_code", "kind", "pair"),
}
DATE_COLUMNS = {"valid_from", "valid_to", "deactivated_on"}


@dataclass(frozen=True)
class _Parent:
    stage_column: str | None  # the stage column holding the parent's key (None: derived from the code)
    expr: str  # the parent key as SQL over the stage row ``s``
    table: str
    key: str
    fk: str  # the foreign key column of the child


PARENTS = {
    "item": _Parent("certificate", "s.certificate", "national_certificate", "number", "certificate_id"),
    "spec": _Parent(None, "substr(s.code, 1, 20)", "national_item", "code", "item_id"),
}


BULK_MIN_ROWS = 10_000  # below this a first load keeps the indexes (rebuilding them costs more)


def _orphan_reason(kind: Kind, parent_key: str) -> str:
    if kind.key == "item":
        return f"注册备案号“{parent_key}”不在注册证数据中，请先导入该注册证"
    return f"27位码的前20位“{parent_key}”没有对应的单件，请先导入该单件"


class _Stage:
    """One kind's staging table inside the import's transaction, then its set-based merge."""

    dup_key: str | None = None  # the column whose repetition is rejected (default: the kind's key)

    def __init__(self, kind: Kind, result: ImportResult, now: dt.datetime, sheet_names: list[str],
                 release: "NationalRelease | None" = None):
        self.kind = kind
        self.result = result
        self.now = now
        self.release = release
        self.sheet_names = sheet_names
        self.conn = db.session.connection()
        self.pg = self.conn.dialect.name == "postgresql"
        self.name = f"national_stage_{kind.key}"
        self.dup = f"national_stage_{kind.key}_dup"
        self.orphan = f"national_stage_{kind.key}_orphan"
        self.columns = STAGE_COLUMNS[kind.key]
        self.counts = result.counts[kind.key]
        self.buffer: list[tuple] = []
        self.ord = 0
        self.staged = 0
        for name in (self.name, self.dup, self.dup + "_keys", self.orphan):
            self.conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
        types = ", ".join(f"{c} {'date' if c in DATE_COLUMNS else 'text'}" for c in self.columns)
        # ``reason``: set by the checks in SQL (PostgreSQL, .csv) on a row they reject
        self._create(self.name, f"(ord bigint NOT NULL, sheet integer NOT NULL, rownum integer NOT NULL, {types}, "
                                f"reason text)")

    def _create(self, name: str, body: str) -> None:
        """A temporary table (gone at commit on PostgreSQL; dropped after the merge on SQLite)."""
        on_commit = " ON COMMIT DROP" if self.pg else ""
        if body.startswith("("):
            self.conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {name} {body}{on_commit}")
        else:
            self.conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {name}{on_commit} AS {body}")

    def add(self, sheet_index: int, number: int, row: dict[str, Any]) -> None:
        self.ord += 1
        values = [row.get(c) for c in self.columns]
        if not self.pg:  # SQLite stores dates as ISO text, as SQLAlchemy's Date does
            values = [v.isoformat() if isinstance(v, dt.date) else v for v in values]
        self.buffer.append((self.ord, sheet_index, number, *values))
        if len(self.buffer) >= BATCH_SIZE:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        raw = self.conn.connection.driver_connection
        names = ", ".join(("ord", "sheet", "rownum", *self.columns))
        if self.pg:
            with raw.cursor() as cur, cur.copy(f"COPY {self.name} ({names}) FROM STDIN") as copy:
                for values in self.buffer:
                    copy.write_row(values)
        else:
            marks = ", ".join("?" * (3 + len(self.columns)))
            raw.cursor().executemany(f"INSERT INTO {self.name} ({names}) VALUES ({marks})", self.buffer)
        self.staged += len(self.buffer)
        self.buffer = []

    def _sheet(self, index: int) -> str:
        return self.sheet_names[index]

    def merge(self) -> None:
        self.flush()
        if not self.staged:
            return
        sql = self.conn.exec_driver_sql
        if self.pg:
            sql("SET LOCAL work_mem = '256MB'")
            # the staging table's plan needs its size and rough distinct counts, not fine histograms
            sql("SET LOCAL default_statistics_target = 10")
            sql(f"ANALYZE {self.name}")
            sql("SET LOCAL default_statistics_target TO DEFAULT")
        # 1. a key repeated in the release: the first valid row wins, the others are rejected
        key = self.dup_key or self.kind.key_field
        shown = self.kind.key_field
        # First the repeated keys alone (one sort, byte order: equality is all it needs), then —
        # only if there are any — their rows; a release rarely repeats a key.
        if self.pg:  # a sort groups a million keys faster than a hash table that big
            sql("SET LOCAL enable_hashagg = off")
        collate = ' COLLATE "C"' if self.pg else ""
        self._create(self.dup + "_keys", f"SELECT {key}{collate} AS k, min(ord) AS first FROM {self.name} "
                                         f"GROUP BY 1 HAVING count(*) > 1")
        if self.pg:
            sql("SET LOCAL enable_hashagg TO DEFAULT")
        self._create(self.dup, f"SELECT s.ord, s.sheet, s.rownum, s.{shown} AS k, f.sheet AS first_sheet, "
                     f"f.rownum AS first_row FROM {self.dup}_keys d JOIN {self.name} s ON s.{key} = d.k "
                     f"AND s.ord > d.first JOIN {self.name} f ON f.ord = d.first"
                     + ("" if sql(f"SELECT EXISTS (SELECT 1 FROM {self.dup}_keys)").scalar() else " WHERE false"))
        header = self.kind.field(shown).header
        dups = self._rejected(f"SELECT sheet, rownum, k, first_sheet, first_row FROM {self.dup}",
                              lambda r: (f"{header}“{r[2]}”与第{r[4]}行重复" if r[0] == r[3] else
                                         f"{header}“{r[2]}”与工作表“{self._sheet(r[3])}”第{r[4]}行重复"))
        not_dup = f"NOT EXISTS (SELECT 1 FROM {self.dup} x WHERE x.ord = s.ord)" if dups else "1 = 1"
        self._merge_rows(not_dup, dups)
        if not self.pg:
            for name in (self.name, self.dup, self.dup + "_keys", self.orphan):
                sql(f"DROP TABLE IF EXISTS {name}")

    def _merge_rows(self, not_dup: str, dups: int) -> None:
        kind, key = self.kind, self.kind.key_field
        sql = self.conn.exec_driver_sql
        # 2. the parent (certificate of a single item, single item of a spec/model) must exist
        parent = PARENTS.get(kind.key)
        orphans = 0
        join = ""
        if parent:
            self._create(self.orphan, f"SELECT s.ord, s.sheet, s.rownum, s.{key} AS k, {parent.expr} AS pk FROM {self.name} s "
                      f"WHERE {not_dup} AND NOT EXISTS (SELECT 1 FROM {parent.table} p "
                      f"WHERE p.{parent.key} = {parent.expr})")
            orphans = self._rejected(f"SELECT sheet, rownum, k, pk FROM {self.orphan}",
                                     lambda r: _orphan_reason(kind, r[3]))
            join = f"JOIN {parent.table} p ON p.{parent.key} = {parent.expr}"
        # 3. changed rows updated, then new keys inserted; identical rows are not written at all
        targets = [c for c in self.columns if not parent or c != parent.stage_column]
        selects = [f"s.{c}" for c in targets]
        if parent:
            targets.append(parent.fk)
            selects.append(f"p.id AS {parent.fk}")
        table = kind.table.name
        differs = "IS DISTINCT FROM" if self.pg else "IS NOT"
        source = f"(SELECT {', '.join(selects)} FROM {self.name} s {join} WHERE {not_dup}) AS src"
        compared = COMPARED[kind.key]
        params = self._params()
        rebuild = self._bulk_start(table) if self.pg and self.staged >= BULK_MIN_ROWS else None
        if parent and parent.stage_column is None:
            # a spec/model's single item is its code's first 20 characters: a known code keeps its item,
            # so the changed rows are found without joining the single items
            compared = tuple(c for c in compared if c != parent.fk)
            changes = f"(SELECT {', '.join(f's.{c}' for c in targets if c != parent.fk)} FROM {self.name} s " \
                      f"WHERE {not_dup}) AS src"
        else:
            changes = source
        updated = 0 if rebuild is not None else self.conn.execute(text(
            f"UPDATE {table} SET {', '.join(f'{c} = src.{c}' for c in compared)}, updated_at = :now, "
            f"release_id = :release FROM {changes} WHERE {table}.{key} = src.{key} "
            f"AND ({' OR '.join(f'{table}.{c} {differs} src.{c}' for c in compared)})").bindparams(*params)).rowcount
        new_keys = "" if rebuild is not None else (  # an empty table (and no repeated keys): all rows are new
            f"WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE t.{key} = src.{key})")
        inserted = self.conn.execute(text(
            f"INSERT INTO {table} ({', '.join(targets)}, created_at, updated_at, release_id, status) "
            f"SELECT {', '.join(f'src.{c}' for c in targets)}, :now, :now, :release, 'active' FROM {source} "
            f"{new_keys}").bindparams(*params)).rowcount
        for statement in rebuild or ():
            sql(statement)
        # No ANALYZE of the loaded table: the next kind's set-based joins only need its size, which
        # the planner reads from the table itself (and a rebuilt index records in pg_class).
        self.counts.inserted += inserted
        self.counts.updated += updated
        self.counts.unchanged += self.staged - dups - orphans - inserted - updated

    def _bulk_start(self, table: str) -> list[str] | None:
        """First load of an empty table: drop its secondary indexes and foreign keys for the load.

        Rows then go in without per-row index maintenance and foreign-key triggers; the returned
        statements rebuild each index in one sort and re-add each constraint, whose check is one
        set-based pass (the constraint is validated, not trusted).  The table is locked
        (ACCESS EXCLUSIVE) until the import commits — it is empty, nobody can have picked from
        it yet.  None (and nothing dropped) when the table holds rows or may not be altered.
        """
        sql = self.conn.exec_driver_sql
        if sql(f"SELECT EXISTS (SELECT 1 FROM {table})").scalar():
            return None
        oid = sql("SELECT %(t)s::regclass::oid", {"t": table}).scalar_one()
        constraints = sql(
            "SELECT c.conname, c.contype, pg_get_constraintdef(c.oid) FROM pg_constraint c "
            "WHERE c.conrelid = %(oid)s AND (c.contype = 'f' OR (c.contype = 'u' AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint r WHERE r.contype = 'f' AND r.conindid = c.conindid)))",
            {"oid": oid}).all()
        indexes = sql(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE x.indrelid = %(oid)s AND NOT x.indisprimary AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)", {"oid": oid}).all()
        import psycopg

        raw = self.conn.connection.driver_connection.cursor()
        raw.execute("SAVEPOINT national_bulk")
        try:
            for name, _, _ in constraints:
                raw.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            for name, _ in indexes:
                raw.execute(f'DROP INDEX "{name}"')
        except psycopg.Error:  # not the table's owner, say: load row by row as usual
            raw.execute("ROLLBACK TO SAVEPOINT national_bulk")
            raw.execute("RELEASE SAVEPOINT national_bulk")
            return None
        raw.execute("RELEASE SAVEPOINT national_bulk")
        sql("SET LOCAL maintenance_work_mem = '256MB'")
        unique = [f'ALTER TABLE {table} ADD CONSTRAINT "{n}" {d}' for n, t, d in constraints if t == "u"]
        foreign = [f'ALTER TABLE {table} ADD CONSTRAINT "{n}" {d}' for n, t, d in constraints if t == "f"]
        return unique + [d for _, d in indexes] + foreign

    def _params(self) -> list:
        return [bindparam("now", value=self.now, type_=DateTime()),
                bindparam("release", value=self.release.id if self.release else None, type_=Integer())]

    def _rejected(self, query: str, reason: Callable[[tuple], str]) -> int:
        """Count the rejected rows of one rule; report the first ones (sheet, row, key, reason)."""
        table = query.rsplit(" FROM ", 1)[1]
        total = self.conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one()
        if total:
            room = max(REPORT_LIMIT - len(self.result.errors), 0)
            if room:
                found = [((r[0], r[1]), RowError(self._sheet(r[0]), r[1], r[2], reason(tuple(r)), self.kind.key))
                         for r in self.conn.exec_driver_sql(f"{query} ORDER BY ord LIMIT {int(room)}")]
                self._fill_values(found)
                self.result.errors.extend(e for _, e in found)
            self.counts.rejected += total
        return total

    def _fill_values(self, found: list[tuple[tuple[int, int], RowError]]) -> None:
        """The staged values of rows a set-based rule rejected, for the report (at most its limit);
        ``found`` pairs each error with its (sheet index, row number)."""
        if not found:
            return
        wanted = {where for where, _ in found}
        rows = sorted({row for _, row in wanted})
        staged = {}
        for start in range(0, len(rows), 500):
            chunk = ", ".join(str(int(n)) for n in rows[start:start + 500])
            for r in self.conn.exec_driver_sql(f"SELECT sheet, rownum, {', '.join(self.columns)} FROM {self.name} "
                                               f"WHERE rownum IN ({chunk})"):
                if (r[0], r[1]) in wanted:
                    staged[(r[0], r[1])] = dict(zip(self.columns, r[2:]))
        for where, e in found:
            e.values = _cells(self.kind, staged.get(where, {}))


    # -- PostgreSQL: a .csv sheet straight into the database, checked there ---------------
    def copy_csv(self, sheet_index: int, plan: "_PlannedSheet",
                 progress: Callable[[int], None] | None = None) -> int | None:
        """Load one .csv sheet of a kind in :data:`SQL_CHECKS` with COPY and check its rows in SQL.

        The file's bytes go to the server unparsed (COPY … FORMAT csv into a raw table of
        text columns, the record number kept); one INSERT … SELECT then applies the same
        rules, in the same order and with the same messages, as the kind's Python check and
        stages every row; the rejected ones are reported and dropped.  Returns the number of
        data rows, or None when the file does not suit COPY (ragged rows, COPY's end-of-data
        line, bytes PostgreSQL refuses): nothing of it is kept and the caller reads it in Python.
        """
        import psycopg

        stream, encoding, delimiter = plan.sheet.csv_source
        width = max(plan.columns) + 1
        raw = "national_raw"
        cur = self.conn.connection.driver_connection.cursor()
        cur.execute("SAVEPOINT national_copy")
        try:
            ncols = _csv_width(stream, encoding, delimiter)
            if ncols < width:
                raise _NotForCopy()
            cur.execute(f"DROP TABLE IF EXISTS {raw}")
            cur.execute(f"CREATE TEMPORARY TABLE {raw} (ord bigint GENERATED ALWAYS AS IDENTITY, "
                        f"{', '.join(f'c{i} text' for i in range(ncols))}) ON COMMIT DROP")
            if not _copy_raw(cur, raw, ncols, stream, encoding, delimiter, progress):
                raise _NotForCopy()
        except (_NotForCopy, psycopg.Error):
            cur.execute("ROLLBACK TO SAVEPOINT national_copy")
            cur.execute("RELEASE SAVEPOINT national_copy")
            return None
        cur.execute("RELEASE SAVEPOINT national_copy")
        records = self.conn.exec_driver_sql(f"SELECT count(*) FROM {raw}").scalar_one()
        mapped = {name: f"c{idx}" for idx, name in plan.columns.items()}
        names, reason, staged = SQL_CHECKS[self.kind.key]()
        texts = ", ".join(f"{_t(mapped.get(n))} AS {n}" for n in names)
        not_blank = " OR ".join(f"a.{n} <> ''" for n in names if n in mapped)
        # the counts come back from the INSERT itself: no scan of a staging table that grows file by file
        rows, rejected = self.conn.execute(text(
            f"WITH staged AS (INSERT INTO {self.name} (ord, sheet, rownum, {', '.join(self.columns)}, reason) "
            f"SELECT :offset + ord, :sheet, ord, {staged}, reason FROM ("
            f"SELECT a.*, {reason} AS reason FROM (SELECT ord, {texts} FROM {raw} WHERE ord > :header OFFSET 0) a "
            f"WHERE {not_blank} OFFSET 0) t RETURNING reason IS NOT NULL AS bad) "
            f"SELECT count(*), count(*) FILTER (WHERE bad) FROM staged"
        ).bindparams(offset=self.ord, sheet=sheet_index, header=plan.header_row, ws=_WS)).one()
        if rejected:  # the report shows the rejected rows' cells as the file had them (the raw text)
            room = max(REPORT_LIMIT - len(self.result.errors), 0)
            if room:
                cells = [f"a.{mapped[f.name]}" if f.name in mapped else "NULL" for f in self.kind.fields]
                for r in self.conn.execute(text(
                        f"SELECT s.sheet, s.rownum, s.{self.kind.key_field}, s.reason, {', '.join(cells)} "
                        f"FROM {self.name} s JOIN {raw} a ON a.ord = s.ord - :offset "
                        f"WHERE s.reason IS NOT NULL ORDER BY s.ord LIMIT {int(room)}").bindparams(offset=self.ord)):
                    self.result.errors.append(RowError(self._sheet(r[0]), r[1], r[2], r[3], self.kind.key,
                                                       [cell_text(v) for v in r[4:]]))
            self.counts.rejected += rejected
        self.conn.exec_driver_sql(f"DROP TABLE {raw}")
        self.ord += records
        if rejected:
            self.conn.exec_driver_sql(f"DELETE FROM {self.name} WHERE reason IS NOT NULL")
        self.staged += rows - rejected
        return rows


class _NotForCopy(Exception):
    pass


def _csv_width(stream: IO[bytes], encoding: str, delimiter: str) -> int:
    """The number of fields in the file's first record (what COPY will expect of every row)."""
    import csv
    import io

    stream.seek(0)
    wrapper = io.TextIOWrapper(stream, encoding=encoding, newline="")
    try:
        first = next(csv.reader(wrapper, delimiter=delimiter), [])
    finally:
        wrapper.detach()
    return len(first)


_END_MARKERS = (b"\n\\.\n", b"\n\\.\r", b"\r\\.\r", b"\r\\.\n")


def _copy_raw(cur, table: str, ncols: int, stream: IO[bytes], encoding: str, delimiter: str,
              progress: Callable[[int], None] | None = None) -> bool:
    """Stream the file into ``table`` with COPY; False if a line holds only ``\\.`` (COPY's end of data).

    ``progress(lines sent)`` after every chunk (1 MB) for a progress bar."""
    import codecs

    stream.seek(0)
    decoder = None if encoding.startswith("utf-8") else codecs.getincrementaldecoder(encoding)()
    columns = ", ".join(f"c{i}" for i in range(ncols))
    tail = b"\n"
    lines = 0
    with cur.copy(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, DELIMITER '{delimiter}')") as copy:
        while chunk := stream.read(1 << 20):
            if tail == b"\n" and chunk.startswith(codecs.BOM_UTF8):
                chunk = chunk[len(codecs.BOM_UTF8):]
            window = tail + chunk
            if b"\\." in window and any(m in window for m in _END_MARKERS):
                return False
            tail = window[-3:]
            copy.write(decoder.decode(chunk) if decoder else chunk)
            if progress:
                lines += chunk.count(b"\n")
                progress(lines)
        if any(m in tail + b"\n" for m in _END_MARKERS):
            return False
        if decoder:
            copy.write(decoder.decode(b"", final=True))
    return True


# The Python rules of a kind as one SQL SELECT over the raw columns: ``_t`` is ``cell_text`` of a
# column (the ideographic space made a space, then every whitespace Python's strip() removes).
_WS = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
_EMPTY = "''"


def _t(column: str | None) -> str:
    if column is None:
        return "''"
    return f"coalesce(btrim(replace({column}, '\u3000', ' '), :ws), '')"


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _required_sql(kind: Kind) -> str:
    blanks = " OR ".join(f"{name} = ''" for name, _ in kind.required_fields)
    parts = ", ".join(f"CASE WHEN {name} = '' THEN {_lit(header)} END" for name, header in kind.required_fields)
    return f"WHEN {blanks} THEN concat_ws('、', {parts}) || '不能为空'"


def _lengths_sql(kind: Kind, names: Iterable[str]) -> list[str]:
    out = []
    for name in names:
        f = kind.field(name)
        if f.max_len:
            # octet_length() reads the header, char_length() the text: only a long value pays for the count
            out.append(f"WHEN octet_length({name}) > {f.max_len} AND char_length({name}) > {f.max_len} "
                       f"THEN {_lit(f'{f.header}超过{f.max_len}个字符')}")
    return out


_SPEC_NAMES = ("code", "item_code", "spec", "model")
_ITEM_NAMES = ("code", "name", "level1", "level2", "level3", "generic_name", "material", "feature", "enterprise",
               "certificate")
# Written without regular expressions (several times faster in PostgreSQL); ``upper()`` can only
# turn ``c`` into the ASCII ``C`` a code starts with, so a valid code's upper case is 'C' || the rest.
_DIGITS = "'0123456789'"


def _code_ok(length: int) -> str:
    # a valid code is ASCII, so its byte length is its length
    return f"(octet_length(code) = {length} AND ascii(code) IN (67, 99) AND ltrim(substr(code, 2), {_DIGITS}) = '')"


_CODE_UPPER = "('C' || substr(code, 2))"


def _spec_sql() -> tuple[tuple[str, ...], str, str]:
    """check_spec in SQL: (the columns it reads, the rejection reason, the staged columns)."""
    prefix = f"left({_CODE_UPPER}, 20)"
    reason = " ".join([
        "CASE", _required_sql(SPEC),
        f"WHEN NOT {_code_ok(27)} THEN '27位码“' || code || '”应为C加26位数字'",
        *_lengths_sql(SPEC, ("item_code", "spec", "model")),
        f"WHEN item_code <> '' AND item_code <> {prefix} AND upper(item_code) <> {prefix} THEN "
        f"'20位码“' || upper(item_code) || '”与27位码的前20位“' || {prefix} || '”不一致'",
        "WHEN spec = '' AND model = '' THEN '规格与型号至少填写一项'",
        "END"])
    # a rejected row keeps its key as written (the report shows it so)
    return _SPEC_NAMES, reason, (f"CASE WHEN reason IS NULL THEN {_CODE_UPPER} ELSE code END, nullif(spec, ''), "
                                 f"nullif(model, '')")


def _coded_mismatch(name: str, part: str) -> str:
    """CODED_VALUE (``^([0-9]+)\\s*[-－—]``) matches ``name`` and its number is not ``part``."""
    digits = f"left({name}, char_length({name}) - char_length(ltrim({name}, {_DIGITS})))"
    return (f"split_part({name}, '-', 1) <> {part} AND {digits} <> '' AND {digits} <> {part} "
            f"AND left(ltrim(ltrim({name}, {_DIGITS}), :ws), 1) IN ('-', '－', '—')")


def _item_sql() -> tuple[tuple[str, ...], str, str]:
    """check_item in SQL: (the columns it reads, the rejection reason, the staged columns)."""
    parts = []
    for name, start, end in _CODE_PARTS:
        part = f"substr(code, {start + 1}, {end - start})"
        parts.append(f"WHEN {_coded_mismatch(name, part)} THEN {_lit(ITEM.field(name).header)} || '“' || {name} "
                     f"|| '”与20位码不一致（编码中为' || {part} || '）'")
    reason = " ".join([
        "CASE", _required_sql(ITEM),
        f"WHEN NOT {_code_ok(20)} THEN '20位码“' || code || '”应为C加19位数字'",
        *_lengths_sql(ITEM, _ITEM_NAMES[1:]), *parts, "END"])
    staged = ", ".join(f"nullif({n}, '')" for n in _ITEM_NAMES[1:])
    return _ITEM_NAMES, reason, f"CASE WHEN reason IS NULL THEN {_CODE_UPPER} ELSE code END, {staged}"


SQL_CHECKS: dict[str, Callable[[], tuple[tuple[str, ...], str, str]]] = {"item": _item_sql, "spec": _spec_sql}


_TARGETS = {"certificate": ("national_certificate", "number"), "item": ("national_item", "code"),
            "spec": ("national_spec", "code")}


class _DeactivationStage(_Stage):
    """停用表: the listed keys become 已停用 (kept, shown, no longer pickable)."""

    def _merge_rows(self, not_dup: str, dups: int) -> None:
        known = " OR ".join(f"(s.target = '{target}' AND EXISTS (SELECT 1 FROM {table} t WHERE t.{key} = s.code))"
                            for target, (table, key) in _TARGETS.items())
        self._create(self.orphan, f"SELECT s.ord, s.sheet, s.rownum, s.code AS k FROM {self.name} s "
                                  f"WHERE {not_dup} AND NOT ({known})")
        orphans = self._rejected(f"SELECT sheet, rownum, k FROM {self.orphan}",
                                 lambda r: f"停用编码“{r[2]}”不在国家数据中")
        # updated_at stays: it tells the rows a release added (created_at == updated_at) from those it changed
        params = [self._params()[1], bindparam("day", value=(self.release.published_on if self.release and
                                                             self.release.published_on else self.now.date()),
                                               type_=Date())]
        updated = 0
        for target, (table, key) in _TARGETS.items():
            updated += self.conn.execute(text(
                f"UPDATE {table} SET status = 'deactivated', deactivated_on = COALESCE(src.deactivated_on, :day), "
                f"deactivated_release_id = :release "
                f"FROM (SELECT s.code, s.deactivated_on FROM {self.name} s WHERE s.target = '{target}' "
                f"AND {not_dup}) AS src WHERE {table}.{key} = src.code AND {table}.status <> 'deactivated'"
            ).bindparams(*params)).rowcount
        self.counts.updated += updated
        self.counts.unchanged += self.staged - dups - orphans - updated


class _TransferStage(_Stage):
    """转码表: old 27-character code → new one; both must be known spec/models."""

    dup_key = "pair"

    def _merge_rows(self, not_dup: str, dups: int) -> None:
        self._create(self.orphan, f"SELECT s.ord, s.sheet, s.rownum, s.old_code AS k, s.new_code AS n, "
                                  f"EXISTS (SELECT 1 FROM national_spec t WHERE t.code = s.old_code) AS old_known "
                                  f"FROM {self.name} s WHERE {not_dup} AND NOT (EXISTS (SELECT 1 FROM national_spec "
                                  f"t WHERE t.code = s.old_code) AND EXISTS (SELECT 1 FROM national_spec t "
                                  f"WHERE t.code = s.new_code))")
        orphans = self._rejected(
            f"SELECT sheet, rownum, k, n, old_known FROM {self.orphan}",
            lambda r: (f"27位码“{r[3]}”不在规格型号数据中，请先导入" if r[4] else
                       f"原27位码“{r[2]}”不在规格型号数据中"))
        source = (f"(SELECT s.old_code, s.new_code, s.kind FROM {self.name} s WHERE {not_dup} AND NOT EXISTS "
                  f"(SELECT 1 FROM {self.orphan} o WHERE o.ord = s.ord)) AS src")
        params = self._params()
        differs = "IS DISTINCT FROM" if self.pg else "IS NOT"
        updated = self.conn.execute(text(
            f"UPDATE national_transfer SET kind = src.kind, release_id = :release FROM {source} "
            f"WHERE national_transfer.old_code = src.old_code AND national_transfer.new_code = src.new_code "
            f"AND national_transfer.kind {differs} src.kind").bindparams(params[1])).rowcount
        inserted = self.conn.execute(text(
            f"INSERT INTO national_transfer (old_code, new_code, kind, release_id, created_at) "
            f"SELECT src.old_code, src.new_code, src.kind, :release, :now FROM {source} WHERE NOT EXISTS "
            f"(SELECT 1 FROM national_transfer t WHERE t.old_code = src.old_code AND t.new_code = src.new_code)"
        ).bindparams(*params)).rowcount
        self.counts.inserted += inserted
        self.counts.updated += updated
        self.counts.unchanged += self.staged - dups - orphans - inserted - updated


STAGES = {"deactivation": _DeactivationStage, "transfer": _TransferStage}


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
        try:
            if name.lower().endswith(".csv"):
                with open(source, "rb") as fh:
                    total += max(sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b"")) - 1, 0)
            else:
                from openpyxl import load_workbook

                workbook = load_workbook(source, read_only=True)
                try:
                    total += sum(max((ws.max_row or 1) - 1, 0) for ws in workbook.worksheets
                                 if _norm_header(ws.title) not in SKIPPED_SHEETS)
                finally:
                    workbook.close()
        except Exception:  # only an estimate: the import itself reports a broken file
            return None
    return total or None


def import_file(source: str | os.PathLike | IO[bytes], filename: str | None = None, *, user=None,
                origin: str = "cli", limit: int | None = None, progress: Progress | None = None,
                version: str | None = None, published_on: dt.date | None = None,
                job_id: str | None = None) -> ImportResult:
    """Import one .xlsx / .csv file (a path or a binary stream); see :func:`import_release`."""
    filename = os.path.basename(filename or (os.fspath(source) if isinstance(source, (str, os.PathLike))
                                             else "upload"))
    return import_release([(source, filename)], user=user, origin=origin, limit=limit, progress=progress,
                          version=version, published_on=published_on, job_id=job_id)


VERSION_MAX = 40


def clean_version(version: str | None, published_on: dt.date | None = None) -> str:
    """The release's 版本号: given, else the publication date, else today (UTC)."""
    version = (version or "").strip()
    if not version:
        version = (published_on or utcnow().date()).isoformat()
    if len(version) > VERSION_MAX or any(c in version for c in "\r\n\t"):
        raise ImportRefused(Msg("版本号不能超过%(n)s个字符", n=VERSION_MAX))
    return version


def _release(version: str, published_on: dt.date | None) -> NationalRelease:
    release = db.session.scalar(select(NationalRelease).where(NationalRelease.version == version))
    if release is None:
        release = NationalRelease(version=version, published_on=published_on, created_at=utcnow())
        db.session.add(release)
        db.session.flush()
    elif published_on and release.published_on != published_on:
        if release.published_on:
            raise ImportRefused(Msg("版本“%(version)s”已登记的发布日期为%(registered)s，与本次填写的%(given)s不一致",
                                     version=version, registered=release.published_on.isoformat(),
                                     given=published_on.isoformat()))
        release.published_on = published_on
    return release


TEMP_BUFFERS = "256MB"


def _session_buffers() -> None:
    """On PostgreSQL, room for the staging tables in memory (``temp_buffers``, 8 MB by default).

    The setting can only change before the session first touches a temporary table, so a
    pooled connection that already imported keeps what it had; memory is taken only as used.
    """
    conn = db.session.connection()
    if conn.dialect.name != "postgresql":
        return
    import psycopg

    cur = conn.connection.driver_connection.cursor()
    cur.execute("SAVEPOINT national_buffers")
    try:
        cur.execute(f"SET temp_buffers = '{TEMP_BUFFERS}'")
    except psycopg.Error:  # temporary tables already used in this session
        cur.execute("ROLLBACK TO SAVEPOINT national_buffers")
    cur.execute("RELEASE SAVEPOINT national_buffers")


def import_release(sources: list[Source], *, label: str | None = None, user=None, origin: str = "cli",
                   limit: int | None = None, progress: Progress | None = None, version: str | None = None,
                   published_on: dt.date | None = None, job_id: str | None = None) -> ImportResult:
    """Import the files of one release in one transaction; see the module docstring.

    ``limit`` caps each file's size (default ``NATIONAL_IMPORT_MAX_BYTES``; 0 = no cap).
    ``progress(done_rows, estimated_total, note)`` is called every few thousand rows.
    The import belongs to the release ``version`` (published on ``published_on``;
    see :func:`clean_version`), which counts what it added, changed, deactivated
    and transferred.
    Returns the result (counts and rejected rows); raises :class:`ImportRefused` when a
    file as a whole is refused.  Either way the run is logged (``national_import``) and audited.
    """
    if label is None:
        label = sources[0][1] if len(sources) == 1 else f"{sources[0][1]} 等 {len(sources)} 个文件"
    result = ImportResult(filename=label)
    limit = max_bytes() if limit is None else limit
    report = progress or (lambda done, total, note: None)
    total_rows = estimate_rows(sources) if progress else None
    tables: list[TableFile] = []
    try:
        plans: list[tuple[str, _PlannedSheet]] = []
        for source, name in sources:
            size = _size_of(source)
            if limit and size > limit:
                raise ImportRefused(Msg("%(name)s：文件过大（%(size)s），导入文件不能超过%(limit)s", name=name, size=_human(size),
                                             limit=_human(limit)))
            if size == 0:
                raise ImportRefused(N_("文件为空") if len(sources) == 1 else Msg("%(name)s：文件为空", name=name))
        try:
            for source, name in sources:
                table = open_table(source, name)
                tables.append(table)
                if result.encoding is None:
                    result.encoding = table.encoding
                file_plans = _plan(table, result)
                for plan in file_plans:
                    plans.append((plan.sheet.name if len(sources) == 1 else f"{name}：{plan.sheet.name}", plan))
            order = {k.key: i for i, k in enumerate(KINDS)}
            plans.sort(key=lambda p: order[p[1].kind.key])  # parents first; files and sheets keep their order
            result.sheets = [(label_, p.kind.label) for label_, p in plans]
            _session_buffers()
            release = _release(clean_version(version, published_on), published_on)
            result.release = release
            now = utcnow()
            sheet_names: list[str] = []
            stage: _Stage | None = None
            done = 0
            report(0, total_rows, "")
            for sheet_label, plan in plans:
                if stage is None or stage.kind is not plan.kind:
                    if stage is not None:
                        report(done, total_rows, f"合并{stage.kind.label}")
                        stage.merge()  # parents are in the database before their children
                    stage = STAGES.get(plan.kind.key, _Stage)(plan.kind, result, now, sheet_names, release)
                sheet_names.append(sheet_label)
                sheet_index = len(sheet_names) - 1
                if stage.pg and plan.kind.key in SQL_CHECKS and plan.sheet.csv_source and plan.sheet.max_rows is None:
                    stage.flush()
                    label_ = f"读取{plan.kind.label}"
                    copied = stage.copy_csv(sheet_index, plan, (lambda n, base=done, note=label_: report(
                        base + max(n - plan.header_row, 0), total_rows, note)) if progress else None)
                    if copied is not None:
                        done += copied
                        report(done, total_rows, f"读取{plan.kind.label}")
                        continue
                check = CHECKS[plan.kind.key]
                key_field = plan.kind.key_field
                for number, values in _rows(plan):
                    try:
                        row = check(values)
                    except RowRejected as exc:
                        result.reject(sheet_label, number, cell_text(values.get(key_field)), exc.reason, plan.kind,
                                      values)
                    else:
                        stage.add(sheet_index, number, row)
                    done += 1
                    if done % PROGRESS_EVERY == 0:
                        report(done, total_rows, f"读取{plan.kind.label}")
            if stage is not None:
                report(done, total_rows, f"合并{stage.kind.label}")
                stage.merge()
            c = result.counts
            release.added += sum(c[k].inserted for k in DATA_KINDS)
            release.changed += sum(c[k].updated for k in DATA_KINDS)
            release.deactivated += c["deactivation"].updated
            release.transferred += c["transfer"].inserted + c["transfer"].updated
            report(done, done, "完成")
        except ExcelError as exc:
            raise ImportRefused(exc.message) from exc
        except IntegrityError as exc:
            raise ImportRefused(N_("导入时数据已被其他导入修改，请稍后重新导入")) from exc
    except ImportRefused as exc:
        db.session.rollback()
        result.release = None
        _log(result, user, origin, "refused", exc.message, job_id)
        raise
    except BaseException:
        db.session.rollback()
        raise
    finally:
        for table in tables:
            table.close()
    order = {name: i for i, name in enumerate(n for n, _ in result.sheets)}
    result.errors.sort(key=lambda e: (order.get(e.sheet, len(order)), e.row))
    db.session.flush()
    _log(result, user, origin, "done", result.summary(), job_id)
    return result


def _log(result: ImportResult, user, origin: str, status: str, message: str, job_id: str | None = None) -> None:
    """The import log row and the audit entry, committed with the import (or after its rollback)."""
    t = result.total
    token = uuid.uuid4().hex
    result.token = token
    db.session.add(NationalImport(
        token=token, username=getattr(user, "username", None) or ("命令行" if origin == "cli" else None),
        source=origin, filename=scrub(result.filename, 255), status=status, inserted=t.inserted, updated=t.updated,
        unchanged=t.unchanged, rejected=t.rejected, message=scrub(message),
        errors_json=json.dumps([e.__dict__ for e in result.errors], ensure_ascii=False) if result.errors else None,
        release_id=result.release.id if result.release else None, job_id=job_id,
    ))
    audit.record("national_import", user=user, username=None if user else "cli",
                 detail=f"{result.filename}: {message}"[:2000])
    db.session.commit()
    metrics.import_done("national", inserted=t.inserted, updated=t.updated, unchanged=t.unchanged,
                        rejected=t.rejected)


# -- uploads as background jobs, releases -------------------------------------------
def queue_upload(stream: IO[bytes], filename: str, user, version: str | None = None,
                 published_on: dt.date | None = None) -> str:
    """Keep an uploaded file and import it as a background job (``app.jobs``); the job id."""
    from app import jobs

    limit = max_bytes()
    size = _size_of(stream)
    if size > limit:
        raise ImportRefused(Msg("文件过大（%(size)s），导入文件不能超过%(limit)s", size=_human(size), limit=_human(limit)))
    clean_version(version, published_on)  # refuse a bad 版本号 now, not in the job
    username = getattr(user, "username", None)
    upload = NationalUpload(filename=os.path.basename(filename or "upload")[:255], username=username,
                            data=stream.read(), created_at=utcnow())
    db.session.add(upload)
    db.session.commit()
    return jobs.enqueue(run_uploaded_import, upload.id, username, version,
                        published_on.isoformat() if published_on else None,
                        job_title=f"国家数据导入：{upload.filename}", job_user=username)


def run_uploaded_import(upload_id: int, username: str | None, version: str | None,
                        published_on: str | None) -> dict[str, Any]:
    """The background job of an upload: import the kept file, then forget it."""
    import io

    from app import jobs
    from app.models import AppUser

    upload = db.session.get(NationalUpload, upload_id)
    if upload is None:
        raise ImportRefused(N_("上传的文件已不存在，请重新上传"))
    data, filename = upload.data, upload.filename
    db.session.delete(upload)
    db.session.commit()
    user = db.session.scalar(select(AppUser).where(AppUser.username == username)) if username else None
    result = import_file(io.BytesIO(data), filename, user=user, origin="upload",
                         progress=lambda done, total, note: jobs.progress(done, total, note), version=version,
                         published_on=dt.date.fromisoformat(published_on) if published_on else None,
                         job_id=jobs.current_job_id())
    return {"token": result.token, "summary": result.summary()}


def import_of_job(job_id: str) -> NationalImport | None:
    return db.session.scalar(select(NationalImport).where(NationalImport.job_id == job_id)) if job_id else None


def recent_upload_jobs(limit: int = 10):
    from app import jobs

    return jobs.recent(run_uploaded_import, limit)


def releases(limit: int = 100) -> list[NationalRelease]:
    return list(db.session.scalars(select(NationalRelease).order_by(NationalRelease.id.desc()).limit(limit)))


RELEASE_VIEWS = {  # what → label
    "added": "新增", "changed": "变更", "deactivated": "停用", "transferred": "转码"}
RELEASE_KINDS = {"spec": (NationalSpec, "code"), "item": (NationalItem, "code"),
                 "certificate": (NationalCertificate, "number")}


def release_rows(release: NationalRelease, what: str, kind: str, after: str | None = None,
                 limit: int = 50) -> tuple[list, str | None]:
    """One page (keyset on the key) of what ``release`` added / changed / deactivated / transferred."""
    if what == "transferred":
        stmt = select(NationalTransfer).where(NationalTransfer.release_id == release.id)
        if after:
            stmt = stmt.where(NationalTransfer.old_code > after)
        rows = list(db.session.scalars(stmt.order_by(NationalTransfer.old_code, NationalTransfer.new_code)
                                       .limit(limit + 1)))
        return rows[:limit], (rows[limit - 1].old_code if len(rows) > limit else None)
    model, key = RELEASE_KINDS[kind]
    column = getattr(model, key)
    if what == "deactivated":
        conds = [model.status == "deactivated", model.deactivated_release_id == release.id]
    elif what == "added":
        conds = [model.release_id == release.id, model.created_at == model.updated_at]
    else:
        conds = [model.release_id == release.id, model.created_at != model.updated_at]
    stmt = select(model).where(*conds)
    if after:
        stmt = stmt.where(column > after)
    rows = list(db.session.scalars(stmt.order_by(column).limit(limit + 1)))
    return rows[:limit], (getattr(rows[limit - 1], key) if len(rows) > limit else None)


def recent_imports(limit: int = 20) -> list[NationalImport]:
    return list(db.session.scalars(select(NationalImport).order_by(NationalImport.id.desc()).limit(limit)))


def find_import(token: str) -> NationalImport | None:
    return db.session.scalar(select(NationalImport).where(NationalImport.token == token)) if token else None


def report_rows(log: NationalImport) -> list[dict[str, Any]]:
    return json.loads(log.errors_json) if log.errors_json else []


def error_report(log: NationalImport) -> bytes:
    """The rejected rows of one import as .xlsx, in row order.

    Each kind's rows go on a sheet named like its template sheet, under the template's columns
    with the row's values as the file had them, 工作表 and 行号 first and 错误原因 last: a person
    corrects the cells and imports the sheet again.  Logs kept before the values were recorded
    (and refusals without a row) come as 工作表, 行号, 注册备案号/编码, 错误原因."""
    by_kind: dict[str, list[dict[str, Any]]] = {}
    plain: list[dict[str, Any]] = []
    for r in report_rows(log):
        kind = KINDS_BY_KEY.get(r.get("kind") or "")
        if kind is not None and len(r.get("values") or []) == len(kind.fields):
            by_kind.setdefault(kind.key, []).append(r)
        else:
            plain.append(r)
    sheets = []
    for kind in KINDS:
        rows = by_kind.get(kind.key)
        if rows:
            sheets.append(ErrorSheet(
                kind.sheet_names[0], ["工作表", "行号", *(f.header for f in kind.fields), "错误原因"],
                ([r["sheet"], r["row"], *r["values"], r["reason"]] for r in rows),
                text_columns=range(2, 2 + len(kind.fields))))
    if plain or not sheets:
        sheets.append(ErrorSheet("错误日志", ["工作表", "行号", "注册备案号/编码", "错误原因"],
                                 ([r["sheet"], r["row"], r["key"], r["reason"]] for r in plain), text_columns=(2,)))
    return build_error_logs(sheets)


# -- templates ------------------------------------------------------------------
def _columns(kind: Kind) -> list[Column]:
    wide = {"product_name": 28, "registrant": 30, "address": 30, "structure": 40, "scope": 40, "name": 24,
            "enterprise": 30, "code": 30, "number": 26, "certificate": 26}
    return [Column(f.header, required=f.required, text=True, width=wide.get(f.name, 16), choices=f.choices,
                   note=f.note, example=f.example) for f in kind.fields]


TEMPLATE_NOTES = (
    "国家医保耗材编码数据导入模板：注册证、单件、规格型号三个工作表可在同一文件中导入，也可分别导入。",
    "第一行为表头，请勿修改；黄色表头为必填列。从第二行开始填写数据，空行会被忽略。",
    "导入按注册备案号、20位码、27位码更新已有数据，重复导入不会产生重复数据。",
    "单件的注册备案号须已存在于注册证数据中；27位码的前20位须为已存在的单件20位码。",
    "也可导入CSV文件（UTF-8 或 GBK 编码），每个文件一种数据，表头同本模板。",
)


def template_workbook(kind_key: str | None = None) -> bytes:
    kinds = [KINDS_BY_KEY[kind_key]] if kind_key else list(KINDS)
    return build_template([TemplateSheet(k.label, _columns(k)) for k in kinds], notes=TEMPLATE_NOTES)


def template_csv(kind_key: str) -> bytes:
    kind = KINDS_BY_KEY[kind_key]
    return ("\ufeff" + ",".join(f.header for f in kind.fields) + "\r\n").encode("utf-8")
