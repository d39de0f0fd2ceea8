"""Import of the national code data from .xlsx / .csv (SPEC §2).

Rules, in the order a file meets them:

1. The file must be under the size limit (``NATIONAL_IMPORT_MAX_BYTES``), be a
   real .xlsx (opened in openpyxl's read-only mode) or a .csv in UTF-8 or GBK.
2. Every sheet's first non-empty row is its header.  The headers say which kind
   the sheet holds (注册证 / 单件 / 规格型号); a sheet named 填写说明 is skipped.
   Unknown headers, missing required columns or a duplicated column refuse the
   whole file before any row is read.
3. Rows stream in batches; each row is checked as a whole (formats, lengths,
   the 27-character code's single item, the single item's certificate, a key
   repeated in the file) and either loaded completely or rejected with its
   sheet, row number and reason.  Empty rows are skipped.
4. Loading is an upsert on the natural key (注册备案号 / 20位码 / 27位码):
   new keys are inserted, changed rows updated, identical rows left alone, so
   importing a file twice changes nothing the second time.
5. The whole file is one transaction: a file that turns out broken half-way
   (truncated zip, bad XML) is rolled back and changes nothing.

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
from typing import IO, Any, Callable, Iterable, Iterator

from flask import current_app
from sqlalchemy import bindparam, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.excel import Column, TemplateSheet, build_error_log, build_template, open_table
from app.excel.reader import ExcelError, TableFile
from app.extensions import db
from app.i18n import N_
from app.models.mixins import utcnow
from app.models.national import (MANAGEMENT_CLASSES, ORIGIN_DOMESTIC, ORIGIN_IMPORTED, NationalCertificate,
                                 NationalImport, NationalItem, NationalSpec, fold)
from app.services import audit
from app.services.errors import DomainError

DEFAULT_MAX_BYTES = 100 * 1024 * 1024
BATCH_SIZE = 500
REPORT_LIMIT = 1000  # rejected rows kept for the screen and the downloadable report
SKIPPED_SHEETS = {"填写说明", "说明", "选项"}

ITEM_CODE = re.compile(r"^C\d{19}$")
SPEC_CODE = re.compile(r"^C\d{26}$")
CODED_VALUE = re.compile(r"^(\d+)\s*[-－—]")


class ImportRefused(DomainError):
    """The file as a whole is refused; nothing was changed."""


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
        return next(f for f in self.fields if f.name == name)


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

KINDS = (CERTIFICATE, ITEM, SPEC)
KINDS_BY_KEY = {k.key: k for k in KINDS}


def _norm_header(text: str) -> str:
    text = cell_text(text).lstrip("*＊").rstrip("*＊")
    return re.sub(r"\s+", "", text).replace("（", "(").replace("）", ")").replace("／", "/")


def _header_map(kind: Kind) -> dict[str, str]:
    out = {}
    for f in kind.fields:
        for name in (f.header, *f.aliases):
            out.setdefault(_norm_header(name), f.name)
    return out


def detect_kind(headers: Iterable[str], sheet_name: str = "") -> Kind | None:
    names = {_norm_header(h) for h in headers if cell_text(h)}
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


@dataclass
class ImportResult:
    filename: str
    counts: dict[str, Counts] = field(default_factory=lambda: {k.key: Counts() for k in KINDS})
    errors: list[RowError] = field(default_factory=list)
    sheets: list[tuple[str, str]] = field(default_factory=list)  # (sheet, kind label)
    ignored_columns: list[str] = field(default_factory=list)
    encoding: str | None = None
    token: str | None = None

    @property
    def total(self) -> Counts:
        out = Counts()
        for c in self.counts.values():
            out.add(c)
        return out

    def reject(self, sheet: str, row: int, key: str, reason: str, kind: Kind) -> None:
        self.counts[kind.key].rejected += 1
        if len(self.errors) < REPORT_LIMIT:
            self.errors.append(RowError(sheet, row, key, reason))

    @property
    def errors_truncated(self) -> bool:
        return self.total.rejected > len(self.errors)

    def summary(self) -> str:
        t = self.total
        return f"新增 {t.inserted} 条，更新 {t.updated} 条，未变化 {t.unchanged} 条，拒绝 {t.rejected} 条"


# -- row checks -------------------------------------------------------------------
def _required(values: dict[str, Any], kind: Kind) -> None:
    missing = [f.header for f in kind.fields if f.required and not cell_text(values.get(f.name))]
    if missing:
        raise RowRejected("、".join(missing) + "不能为空")


def _texts(values: dict[str, Any], kind: Kind, names: Iterable[str]) -> dict[str, str | None]:
    out = {}
    for name in names:
        f = kind.field(name)
        text = cell_text(values.get(name))
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


CHECKS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "certificate": check_certificate, "item": check_item, "spec": check_spec}
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
        if not any(cell_text(v) for v in values.values()):
            continue  # empty row
        yield number, values


class _Loader:
    """Validates and upserts one kind's rows in batches, inside the caller's transaction."""

    def __init__(self, kind: Kind, result: ImportResult, now: dt.datetime):
        self.kind = kind
        self.result = result
        self.now = now
        # key -> first row, packed as sheet index << 32 | row number (one small int per key)
        self.seen: dict[Any, int] = {}
        self.sheet_names: list[str] = []
        self.batch: list[tuple[str, int, dict[str, Any]]] = []
        self.counts = result.counts[kind.key]
        self.conn = db.session.connection()

    def _seen_key(self, key: str):
        # codes are C + digits: an int key keeps a million-row file's index small
        return int(key[1:]) if self.kind.key != "certificate" else key

    def add(self, sheet: str, number: int, values: dict[str, Any]) -> None:
        try:
            row = CHECKS[self.kind.key](values)
        except RowRejected as exc:
            key = cell_text(values.get(self.kind.key_field))
            self.result.reject(sheet, number, key, exc.reason, self.kind)
            return
        key = row[self.kind.key_field]
        seen_key = self._seen_key(key)
        first = self.seen.get(seen_key)
        if first is not None:
            first_sheet, first_row = self.sheet_names[first >> 32], first & 0xFFFFFFFF
            where = f"第{first_row}行" if first_sheet == sheet else f"工作表“{first_sheet}”第{first_row}行"
            self.result.reject(sheet, number, key, f"{self.kind.field(self.kind.key_field).header}“{key}”与{where}重复",
                               self.kind)
            return
        if not self.sheet_names or self.sheet_names[-1] != sheet:
            self.sheet_names.append(sheet)
        self.seen[seen_key] = ((len(self.sheet_names) - 1) << 32) | number
        self.batch.append((sheet, number, row))
        if len(self.batch) >= BATCH_SIZE:
            self.flush()

    def _resolve(self) -> list[tuple[str, int, dict[str, Any]]]:
        """Fill the foreign key of each row; reject rows whose parent does not exist."""
        rows = self.batch
        if self.kind.key == "item":
            numbers = {r["certificate"] for _, _, r in rows}
            ids = dict(self.conn.execute(select(NationalCertificate.number, NationalCertificate.id)
                                         .where(NationalCertificate.number.in_(numbers))).all())
            kept = []
            for sheet, number, row in rows:
                cert_no = row.pop("certificate")
                if cert_no not in ids:
                    self.result.reject(sheet, number, row["code"],
                                       f"注册备案号“{cert_no}”不在注册证数据中，请先导入该注册证", self.kind)
                    continue
                row["certificate_id"] = ids[cert_no]
                kept.append((sheet, number, row))
            return kept
        if self.kind.key == "spec":
            prefixes = {r["code"][:20] for _, _, r in rows}
            ids = dict(self.conn.execute(select(NationalItem.code, NationalItem.id)
                                         .where(NationalItem.code.in_(prefixes))).all())
            kept = []
            for sheet, number, row in rows:
                prefix = row["code"][:20]
                if prefix not in ids:
                    self.result.reject(sheet, number, row["code"],
                                       f"27位码的前20位“{prefix}”没有对应的单件，请先导入该单件", self.kind)
                    continue
                row["item_id"] = ids[prefix]
                kept.append((sheet, number, row))
            return kept
        return rows

    def flush(self) -> None:
        if not self.batch:
            return
        rows = self._resolve()
        self.batch = []
        if not rows:
            return
        table = self.kind.table
        key_col = table.c[self.kind.key_field]
        compared = COMPARED[self.kind.key]
        existing = {r._mapping[self.kind.key_field]: r._mapping for r in self.conn.execute(
            select(table.c.id, key_col, *(table.c[c] for c in compared))
            .where(key_col.in_([r[self.kind.key_field] for _, _, r in rows])))}
        inserts, updates = [], []
        for _, _, row in rows:
            old = existing.get(row[self.kind.key_field])
            if old is None:
                inserts.append({**row, "created_at": self.now, "updated_at": self.now})
            elif any(old[c] != row.get(c) for c in compared):
                updates.append({"_id": old["id"], **{c: row.get(c) for c in compared}, "updated_at": self.now})
            else:
                self.counts.unchanged += 1
        if inserts:
            self.conn.execute(table.insert(), inserts)
            self.counts.inserted += len(inserts)
        if updates:
            self.conn.execute(table.update().where(table.c.id == bindparam("_id")), updates)
            self.counts.updated += len(updates)


def import_file(source: str | os.PathLike | IO[bytes], filename: str | None = None, *, user=None,
                origin: str = "cli", limit: int | None = None) -> ImportResult:
    """Import one .xlsx / .csv file (a path or a binary stream); see the module docstring.

    Returns the result (counts and rejected rows); raises :class:`ImportRefused`
    when the file as a whole is refused.  Either way the run is logged
    (``national_import``) and audited.
    """
    filename = os.path.basename(filename or (os.fspath(source) if isinstance(source, (str, os.PathLike))
                                             else "upload"))
    result = ImportResult(filename=filename)
    limit = limit or max_bytes()
    try:
        size = _size_of(source)
        if size > limit:
            raise ImportRefused(f"文件过大（{_human(size)}），导入文件不能超过{_human(limit)}")
        if size == 0:
            raise ImportRefused(N_("文件为空"))
        try:
            with open_table(source, filename) as table:
                result.encoding = table.encoding
                plans = _plan(table, result)
                result.sheets = [(p.sheet.name, p.kind.label) for p in plans]
                now = utcnow()
                loaders: dict[str, _Loader] = {}
                for plan in plans:
                    loader = loaders.get(plan.kind.key)
                    if loader is None:
                        for other in loaders.values():
                            other.flush()  # parents are in the database before children
                        loader = loaders[plan.kind.key] = _Loader(plan.kind, result, now)
                    for number, values in _rows(plan):
                        loader.add(plan.sheet.name, number, values)
                    loader.flush()
        except ExcelError as exc:
            raise ImportRefused(exc.message) from exc
        except IntegrityError as exc:
            raise ImportRefused(N_("导入时数据已被其他导入修改，请稍后重新导入")) from exc
    except ImportRefused as exc:
        db.session.rollback()
        _log(result, user, origin, "refused", exc.message)
        raise
    except (DBAPIError, MemoryError):
        db.session.rollback()
        raise
    db.session.flush()
    _log(result, user, origin, "done", result.summary())
    return result


def _log(result: ImportResult, user, origin: str, status: str, message: str) -> None:
    """The import log row and the audit entry, committed with the import (or after its rollback)."""
    t = result.total
    token = uuid.uuid4().hex
    result.token = token
    db.session.add(NationalImport(
        token=token, username=getattr(user, "username", None) or ("命令行" if origin == "cli" else None),
        source=origin, filename=result.filename[:255], status=status, inserted=t.inserted, updated=t.updated,
        unchanged=t.unchanged, rejected=t.rejected, message=message,
        errors_json=json.dumps([e.__dict__ for e in result.errors], ensure_ascii=False) if result.errors else None,
    ))
    audit.record("national_import", user=user, username=None if user else "cli",
                 detail=f"{result.filename}: {message}"[:2000])
    db.session.commit()


def recent_imports(limit: int = 20) -> list[NationalImport]:
    return list(db.session.scalars(select(NationalImport).order_by(NationalImport.id.desc()).limit(limit)))


def find_import(token: str) -> NationalImport | None:
    return db.session.scalar(select(NationalImport).where(NationalImport.token == token)) if token else None


def report_rows(log: NationalImport) -> list[dict[str, Any]]:
    return json.loads(log.errors_json) if log.errors_json else []


def error_report(log: NationalImport) -> bytes:
    """The rejected rows of one import as .xlsx: 工作表, 行号, 注册备案号/编码, 错误原因."""
    rows = ([r["sheet"], r["row"], r["key"], r["reason"]] for r in report_rows(log))
    return build_error_log(["工作表", "行号", "注册备案号/编码", "错误原因"], rows, text_columns=(2,))


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
