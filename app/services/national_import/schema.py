"""The national release's kinds of sheet: their fields, headers and templates (SPEC §2, §7).

A kind is one sheet shape (注册证 / 单件 / 规格型号 / 停用 / 转码): its fields with their
template header, the aliases older files use, required or not, maximum length.  Header
detection and the downloadable templates read the same declarations as the checks
(:mod:`.checks`) and the loader (:mod:`.loader`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Iterable

from app.excel import Column, TemplateSheet, build_template, cell_text
from app.models.national import (MANAGEMENT_CLASSES, TRANSFER_KINDS, NationalCertificate, NationalItem,
                                 NationalSpec, NationalTransfer)

SKIPPED_SHEETS = {"填写说明", "说明", "选项"}


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


def norm_header(text: str) -> str:
    text = cell_text(text).lstrip("*＊").rstrip("*＊")
    return re.sub(r"\s+", "", text).replace("（", "(").replace("）", ")").replace("／", "/")


def header_map(kind: Kind) -> dict[str, str]:
    out = {}
    for f in kind.fields:
        for name in (f.header, *f.aliases):
            out.setdefault(norm_header(name), f.name)
    return out


_DATA_HEADERS = {"规格", "型号", "单件名称", "单件产品名称", "注册备案产品名称", "产品名称"}


def detect_kind(headers: Iterable[str], sheet_name: str = "") -> Kind | None:
    names = {norm_header(h) for h in headers if cell_text(h)}
    if not names & _DATA_HEADERS:  # a 转码表 or 停用表 carries codes, not product data
        old = {n for n, f in header_map(TRANSFER).items() if f == "old_code"}
        new = {n for n, f in header_map(TRANSFER).items() if f == "new_code"}
        if names & old and names & new:
            return TRANSFER
        if names & {"原码状态", "停用日期", "停用编码", "编码状态"} or "停用" in norm_header(sheet_name):
            return DEACTIVATION
    spec_keys = {n for n, f in header_map(SPEC).items() if f == "code"}
    item_keys = {n for n, f in header_map(ITEM).items() if f == "code"}
    cert_keys = {n for n, f in header_map(CERTIFICATE).items() if f in ("product_name", "registrant")}
    if names & spec_keys and not names & {"单件名称", "单件产品名称"}:
        return SPEC
    if names & item_keys and not names & spec_keys:
        return ITEM
    if names & cert_keys and not names & (spec_keys | item_keys):
        return CERTIFICATE
    sheet = norm_header(sheet_name)
    for kind in KINDS:
        if sheet in {norm_header(n) for n in kind.sheet_names}:
            return kind
    return None



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
