"""Marshmallow schemas of the API: they dump the replies and document them (OpenAPI)."""
from __future__ import annotations

from marshmallow import Schema, fields

from app.workflow.engine import STATE_LABELS

STATES = sorted(k for k in STATE_LABELS)


class UtcDateTime(fields.DateTime):
    """Times are stored as naive UTC: written RFC 3339 with ``Z``."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


class WorkflowFields(Schema):
    id = fields.Integer(required=True, metadata={"description": "记录ID"})
    state = fields.String(required=True, metadata={"description": "状态", "enum": STATES})
    state_label = fields.String(required=True, metadata={"description": "状态名称（待提交、待初审……）"})
    version = fields.Integer(required=True, metadata={"description": "版本号：更新和流转时带上，过期则409"})
    revision_of_id = fields.Integer(allow_none=True, required=True,
                                    metadata={"description": "变更记录所变更的生效记录ID（否则为null）"})
    change_id = fields.Integer(allow_none=True, required=True, dump_default=None,
                               metadata={"description": "进行中的变更记录ID（没有则为null）"})
    submitted_at = UtcDateTime(allow_none=True, required=True, metadata={"description": "提交时间（UTC）"})
    reviewed_at = UtcDateTime(allow_none=True, required=True, metadata={"description": "审核时间（UTC）"})
    review_opinion = fields.String(allow_none=True, required=True, metadata={"description": "审核意见"})
    created_at = UtcDateTime(required=True, metadata={"description": "创建时间（UTC）"})


class EntrustmentSchema(WorkflowFields):
    number = fields.String(allow_none=True, required=True, metadata={"description": "委托授权编号"})
    kind = fields.String(required=True, metadata={"description": "委托授权类型：contract 被委托生产，agent 境外代理"})
    kind_label = fields.String(required=True, metadata={"description": "委托授权类型名称"})
    principal_name = fields.String(required=True, metadata={"description": "委托方/境外注册人"})
    valid_from = fields.Date(allow_none=True, required=True, metadata={"description": "有效期开始"})
    valid_to = fields.Date(allow_none=True, required=True, metadata={"description": "有效期结束"})
    cert_numbers = fields.List(fields.String(), required=True, metadata={"description": "关联注册证"})


class CertificateSchema(WorkflowFields):
    cert_no = fields.String(required=True, metadata={"description": "注册备案号"})
    contact_name = fields.String(required=True, metadata={"description": "联系人"})
    contact_phone = fields.String(required=True, metadata={"description": "联系电话"})
    remark = fields.String(required=True, metadata={"description": "备注"})


class ItemSchema(Schema):
    id = fields.Integer(required=True, metadata={"description": "单件ID"})
    code = fields.String(required=True, metadata={"description": "20位耗材医保编码"})
    name = fields.String(allow_none=True, required=True, dump_default=None,
                         metadata={"description": "单件名称（国家数据）"})
    created_at = UtcDateTime(required=True, metadata={"description": "添加时间（UTC）"})


class ProductSchema(WorkflowFields):
    item_id = fields.Integer(required=True, metadata={"description": "所属单件ID"})
    code = fields.String(required=True, metadata={"description": "27位耗材医保编码"})
    min_unit = fields.String(required=True, metadata={"description": "最小计量单位"})
    pack_unit = fields.String(required=True, metadata={"description": "最小包装单位"})
    pack_ratio = fields.Integer(required=True, metadata={"description": "最小包装转换比"})
    pack_spec = fields.String(required=True, metadata={"description": "最小包装规格（生成）"})
    mid_unit = fields.String(allow_none=True, required=True, metadata={"description": "中包装单位"})
    mid_ratio = fields.Integer(allow_none=True, required=True, metadata={"description": "中包装转换比"})
    mid_spec = fields.String(required=True, metadata={"description": "中包装规格（生成）"})
    source = fields.String(required=True, metadata={"description": "来源：manual 页面/接口，import 导入"})
    purpose = fields.String(allow_none=True, required=True, metadata={"description": "deactivate：停用申请"})
    cert_flag = fields.String(allow_none=True, required=True,
                              metadata={"description": "注册证（委托授权）不在有效期时的原因：invalid / expired"})


def page_schema(name: str, item: type[Schema]) -> type[Schema]:
    return type(name, (Schema,), {
        "items": fields.List(fields.Nested(item), required=True),
        "next_after": fields.Raw(allow_none=True, required=True,
                                 metadata={"description": "下一页的after参数；null表示没有下一页"}),
    })


class QueryRowSchema(Schema):
    id = fields.Integer(required=True, metadata={"description": "产品ID（翻页键）"})
    code = fields.String(required=True, metadata={"description": "27位耗材医保编码"})
    item_name = fields.String(allow_none=True, required=True, metadata={"description": "单件名称"})
    spec = fields.String(allow_none=True, required=True, metadata={"description": "规格"})
    model = fields.String(allow_none=True, required=True, metadata={"description": "型号"})
    enterprise = fields.String(required=True, metadata={"description": "生产企业"})
    cert_no = fields.String(allow_none=True, required=True, metadata={"description": "注册备案号"})
    min_unit = fields.String(required=True, metadata={"description": "最小计量单位"})
    pack_unit = fields.String(required=True, metadata={"description": "最小包装单位"})
    pack_ratio = fields.Integer(required=True, metadata={"description": "最小包装转换比"})
    pack_spec = fields.String(required=True, metadata={"description": "最小包装规格"})
    mid_unit = fields.String(allow_none=True, required=True, metadata={"description": "中包装单位"})
    mid_ratio = fields.Integer(allow_none=True, required=True, metadata={"description": "中包装转换比"})
    mid_spec = fields.String(required=True, metadata={"description": "中包装规格"})
    national_status = fields.String(allow_none=True, required=True,
                                    metadata={"description": "国家数据状态：active 正常，deactivated 已停用"})


class NationalCertificateSchema(Schema):
    number = fields.String(required=True, metadata={"description": "注册备案号"})
    product_name = fields.String(required=True, metadata={"description": "产品名称"})
    registrant = fields.String(required=True, metadata={"description": "注册人名称"})
    management_class = fields.String(required=True, metadata={"description": "管理类别"})
    origin = fields.String(required=True, metadata={"description": "domestic 境内 / imported 进口"})
    valid_from = fields.Date(allow_none=True, required=True, metadata={"description": "有效期开始"})
    valid_to = fields.Date(allow_none=True, required=True, metadata={"description": "有效期结束"})
    status = fields.String(required=True, metadata={"description": "active 正常 / deactivated 已停用"})


class NationalItemSchema(Schema):
    code = fields.String(required=True, metadata={"description": "20位耗材医保编码"})
    name = fields.String(required=True, metadata={"description": "单件名称"})
    enterprise = fields.String(allow_none=True, required=True, metadata={"description": "生产企业"})
    cert_no = fields.String(attribute="certificate.number", allow_none=True, required=True,
                            metadata={"description": "注册备案号"})
    status = fields.String(required=True, metadata={"description": "active 正常 / deactivated 已停用"})


class NationalSpecSchema(Schema):
    code = fields.String(required=True, metadata={"description": "27位耗材医保编码"})
    spec = fields.String(allow_none=True, required=True, metadata={"description": "规格"})
    model = fields.String(allow_none=True, required=True, metadata={"description": "型号"})
    item_code = fields.String(attribute="item.code", required=True, metadata={"description": "20位单件编码"})
    item_name = fields.String(attribute="item.name", required=True, metadata={"description": "单件名称"})
    status = fields.String(required=True, metadata={"description": "active 正常 / deactivated 已停用"})


class ErrorSchema(Schema):
    message = fields.String(required=True, metadata={"description": "错误说明（中文）"})
    errors = fields.Dict(keys=fields.String(), values=fields.String(),
                         metadata={"description": "字段 → 错误说明（输入有误时）"})
    current_version = fields.Integer(metadata={"description": "记录的当前版本号（409时）"})


class ProductInputSchema(Schema):
    code = fields.String(required=True, metadata={"description": "27位耗材医保编码（新增时必填；须属于本单位的单件）"})
    min_unit = fields.String(required=True, metadata={"description": "最小计量单位（数据字典）"})
    pack_unit = fields.String(required=True, metadata={"description": "最小包装单位（数据字典）"})
    pack_ratio = fields.Integer(required=True, metadata={"description": "最小包装转换比（≥1的整数）"})
    mid_unit = fields.String(allow_none=True, metadata={"description": "中包装单位（与中包装转换比同时填写或同时不填）"})
    mid_ratio = fields.Integer(allow_none=True, metadata={"description": "中包装转换比"})
    submit = fields.Boolean(metadata={"description": "保存后立即提交审核"})


class ProductUpdateSchema(ProductInputSchema):
    version = fields.Integer(required=True, metadata={"description": "读取时的版本号"})
    code = fields.String(metadata={"description": "不可修改（忽略）"})


class VersionSchema(Schema):
    version = fields.Integer(metadata={"description": "读取时的版本号（可选；不一致时409）"})


class BatchSchema(Schema):
    ids = fields.List(fields.Integer(), required=True, metadata={"description": "记录ID（最多500个）"})


class BatchResultSchema(Schema):
    ok = fields.List(fields.Integer(), required=True, metadata={"description": "提交成功的ID"})
    failed = fields.List(fields.Dict(), required=True,
                         metadata={"description": "失败的记录：[{id, message}]"})


class DecisionSchema(Schema):
    action = fields.String(required=True, metadata={"description": "approve 审核通过 / reject 审核不通过",
                                                    "enum": ["approve", "reject"]})
    opinion = fields.String(allow_none=True, metadata={"description": "审核意见（不通过时必填）"})
    version = fields.Integer(metadata={"description": "读取时的版本号（可选；不一致时409）"})


class EntrustmentInputSchema(Schema):
    kind = fields.String(required=True, metadata={"description": "contract 被委托生产 / agent 境外代理",
                                                  "enum": ["contract", "agent"]})
    principal_name = fields.String(required=True, metadata={"description": "委托方/境外注册人"})
    valid_from = fields.Date(required=True, metadata={"description": "有效期开始"})
    valid_to = fields.Date(required=True, metadata={"description": "有效期结束"})
    cert_nos = fields.List(fields.String(), metadata={"description": "关联注册证（注册备案号）"})
    zh_same_as_en = fields.Boolean(metadata={"description": "境外代理：中文翻译件与英文授权书为同一份"})
    submit = fields.Boolean(metadata={"description": "保存后立即提交审核"})


class EntrustmentUpdateSchema(EntrustmentInputSchema):
    version = fields.Integer(required=True, metadata={"description": "读取时的版本号"})
    kind = fields.String(metadata={"description": "contract / agent", "enum": ["contract", "agent"]})
    principal_name = fields.String()
    valid_from = fields.Date()
    valid_to = fields.Date()


class CertificateNewSchema(Schema):
    cert_nos = fields.List(fields.String(), required=True, metadata={"description": "注册备案号"})


class CertificateUpdateSchema(Schema):
    version = fields.Integer(required=True, metadata={"description": "读取时的版本号"})
    contact_name = fields.String(metadata={"description": "联系人"})
    contact_phone = fields.String(metadata={"description": "联系电话（11位手机号码或带区号的固定电话）"})
    remark = fields.String(metadata={"description": "备注（不超过500字）"})
    submit = fields.Boolean(metadata={"description": "保存后立即提交审核"})
