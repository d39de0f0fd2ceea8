"""The row checks of the national import, in Python and the same rules in SQL.

Python checks every row it reads (.xlsx, and .csv on SQLite): :data:`CHECKS`.  On
PostgreSQL a .csv sheet goes to the server unparsed and :data:`SQL_CHECKS` applies the
same rules, in the same order and with the same messages, as one SELECT over the raw
columns; the parity tests compare both paths rule by rule.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any, Callable, Iterable

from app.excel import cell_text
from app.models.national import ORIGIN_DOMESTIC, ORIGIN_IMPORTED, TRANSFER_KINDS, fold
from app.services.national_import.schema import (CERTIFICATE, DEACTIVATION, ITEM, SPEC, TRANSFER, Kind)

# ASCII digits only (``\d`` would take full-width ones too); the PostgreSQL checks use the same patterns
ITEM_CODE = re.compile(r"^C[0-9]{19}$")
SPEC_CODE = re.compile(r"^C[0-9]{26}$")
CODED_VALUE = re.compile(r"^([0-9]+)\s*[-－—]")


class RowRejected(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


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




# -- the same rules in SQL ---------------------------------------------------------

# The Python rules of a kind as one SQL SELECT over the raw columns: :func:`sql_cell` is ``cell_text``
# of a column (the ideographic space made a space, then every whitespace Python's strip() removes).
# WS leaves out the ideographic space (U+3000, the last whitespace character): it is gone by the
# time btrim() runs, and every character of the set costs btrim() a comparison at each end.
WS = "".join(chr(c) for c in range(0x3000) if chr(c).isspace())
_EMPTY = "''"


def sql_cell(column: str | None) -> str:
    if column is None:
        return "''"
    # replace() copies the value: only a value holding an ideographic space pays for it
    return (f"coalesce(btrim(CASE WHEN strpos({column}, '\u3000') > 0 THEN replace({column}, '\u3000', ' ') "
            f"ELSE {column} END, :ws), '')")


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


def _code_ok(length: int, column: str = "code") -> str:
    # a valid code is ASCII, so its byte length is its length and its digits can be tested as bytes
    # (ltrim() over text walks characters, several times slower)
    return (f"(octet_length({column}) = {length} AND ascii({column}) IN (67, 99) "
            f"AND ltrim(substr({column}::bytea, 2), '\\x30313233343536373839'::bytea) = ''::bytea)")


# The code column whose raw cell is taken as it is when it already is a valid code (C or c and
# digits, nothing to trim): the common case skips the trimming, and ``code_ok`` tells the checks
# the code rule already holds.  {kind: length}
RAW_CODES = {"spec": 27, "item": 20}
# A column taken as it is when it is the first bytes of such a raw code (a spec/model's 20位码):
# {kind: (column, length)}
RAW_PREFIXES = {"spec": ("item_code", 20)}


_CODE_UPPER = "('C' || substr(code, 2))"
# the staged key: a valid code upper-cased (only a leading ``c`` needs it), a rejected one as written
_STAGED_CODE = f"CASE WHEN reason IS NULL AND ascii(code) = 99 THEN {_CODE_UPPER} ELSE code END"


def spec_sql() -> tuple[tuple[str, ...], str, str]:
    """check_spec in SQL: (the columns it reads, the rejection reason, the staged columns)."""
    prefix = f"left({_CODE_UPPER}, 20)"
    reason = " ".join([
        "CASE", _required_sql(SPEC),
        f"WHEN NOT (code_ok OR {_code_ok(27)}) THEN '27位码“' || code || '”应为C加26位数字'",
        *_lengths_sql(SPEC, ("item_code", "spec", "model")),
        # a valid code's first 20 bytes are its first 20 characters: a 20-byte prefix of it is its item's code
        f"WHEN item_code <> '' AND NOT (octet_length(item_code) = 20 AND starts_with(code, item_code)) "
        f"AND item_code <> {prefix} AND upper(item_code) <> {prefix} THEN "
        f"'20位码“' || upper(item_code) || '”与27位码的前20位“' || {prefix} || '”不一致'",
        "WHEN spec = '' AND model = '' THEN '规格与型号至少填写一项'",
        "END"])
    # a rejected row keeps its key as written (the report shows it so)
    return _SPEC_NAMES, reason, (f"{_STAGED_CODE}, nullif(spec, ''), "
                                 f"nullif(model, '')")


def _coded_mismatch(name: str, part: str) -> str:
    """CODED_VALUE (``^([0-9]+)\\s*[-－—]``) matches ``name`` and its number is not ``part``."""
    digits = f"left({name}, char_length({name}) - char_length(ltrim({name}, {_DIGITS})))"
    return (f"split_part({name}, '-', 1) <> {part} AND {digits} <> '' AND {digits} <> {part} "
            f"AND left(ltrim(ltrim({name}, {_DIGITS}), :ws), 1) IN ('-', '－', '—')")


def item_sql() -> tuple[tuple[str, ...], str, str]:
    """check_item in SQL: (the columns it reads, the rejection reason, the staged columns)."""
    parts = []
    for name, start, end in _CODE_PARTS:
        part = f"substr(code, {start + 1}, {end - start})"
        parts.append(f"WHEN {_coded_mismatch(name, part)} THEN {_lit(ITEM.field(name).header)} || '“' || {name} "
                     f"|| '”与20位码不一致（编码中为' || {part} || '）'")
    reason = " ".join([
        "CASE", _required_sql(ITEM),
        f"WHEN NOT (code_ok OR {_code_ok(20)}) THEN '20位码“' || code || '”应为C加19位数字'",
        *_lengths_sql(ITEM, _ITEM_NAMES[1:]), *parts, "END"])
    staged = ", ".join(f"nullif({n}, '')" for n in _ITEM_NAMES[1:])
    return _ITEM_NAMES, reason, f"{_STAGED_CODE}, {staged}"


SQL_CHECKS: dict[str, Callable[[], tuple[tuple[str, ...], str, str]]] = {"item": item_sql, "spec": spec_sql}


def checked_sql(kind_key: str, mapped: dict[str, str], raw: str, lead: str = "ord") -> str:
    """The staged rows of the raw table ``raw`` (text columns ``mapped`` by field name), checked.

    One SELECT of ``lead`` (expressions over ``ord``, the raw record number), the staged columns
    and ``reason`` (NULL for a valid row); records whose read columns are all blank are left
    out.  Binds ``:header`` (the header's record number: the rows after it are data) and
    ``:ws``.  Each level is kept apart (``OFFSET 0``) so that every expression is evaluated
    once per row.
    """
    names, reason, staged = SQL_CHECKS[kind_key]()
    code = mapped.get("code")
    length = RAW_CODES.get(kind_key) if code else None
    flags = f", {_code_ok(length, code)} AS code_raw_ok" if length else ""
    prefix, prefix_length = RAW_PREFIXES.get(kind_key, (None, 0))
    texts = []
    for n in names:
        if length and n == "code":
            texts.append(f"CASE WHEN code_raw_ok THEN {code} ELSE {sql_cell(code)} END AS code")
        elif length and n == prefix and n in mapped:
            texts.append(f"CASE WHEN code_raw_ok AND octet_length({mapped[n]}) = {prefix_length} "
                         f"AND starts_with({code}, {mapped[n]}) THEN {mapped[n]} ELSE {sql_cell(mapped[n])} END AS {n}")
        else:
            texts.append(f"{sql_cell(mapped.get(n))} AS {n}")
    texts.append(f"{'code_raw_ok' if length else 'false'} AS code_ok")
    columns = ", ".join(sorted(set(mapped.values())))
    not_blank = " OR ".join(f"a.{n} <> ''" for n in names if n in mapped)
    return (f"SELECT {lead}, {staged}, reason FROM (SELECT a.*, {reason} AS reason FROM ("
            f"SELECT ord, {', '.join(texts)} FROM (SELECT ord, {columns}{flags} FROM {raw} WHERE ord > :header "
            f"OFFSET 0) r OFFSET 0) a WHERE {not_blank} OFFSET 0) t")

