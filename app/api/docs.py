"""OpenAPI 3 of /api/v1 (FAB's apispec machinery) and Swagger UI (FAB's bundled assets).

``/api/v1/_openapi`` answers logged-in users and API key holders; ``/api/v1/docs`` shows
FAB's Swagger UI to logged-in users, started from app/static/js/swagger-init.js (the
CSP allows no inline script, and nothing comes from a CDN).
"""
from __future__ import annotations

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import current_app, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.api import BaseApi

from app.api import schemas
from app.api.base import MSG_NO_KEY, error
from app.api.resources import RESOURCES

DESCRIPTION = """广东医保服务平台 企业系统对接接口。

* 认证：在 我的API密钥 创建密钥，请求头携带 `Authorization: Bearer sst_…`。密钥以其所属账号的角色和单位操作，
  规则与页面完全相同（单位隔离、菜单权限、权限上限、审核流程、不能审核本单位记录）。
* 翻页：列表按ID（国家数据按编码）升序，`after` 传上一页的 `next_after`，`next_after` 为 null 表示没有下一页。
* 并发：更新和流转可带 `version`，记录已被他人修改时返回409及 `current_version`。
* 幂等：新增和提交可带请求头 `Idempotency-Key`，重试同一请求返回第一次的结果，不会重复新增或提交。
* 错误：均为 `{"message": "…"}`，输入有误时另有 `errors`（字段 → 说明）；超过调用频率时返回429。
"""


def build_spec() -> dict:
    spec = APISpec(title=current_app.config.get("APP_NAME", "API") + " 接口", version="v1",
                   openapi_version="3.0.2", info={"description": DESCRIPTION},
                   plugins=[MarshmallowPlugin(schema_name_resolver=lambda s: None)],
                   servers=[{"url": request.host_url.rstrip("/")}])
    spec.components.security_scheme("api_key", {"type": "http", "scheme": "bearer",
                                                "description": "我的API密钥（sst_…）"})
    spec.components.response("Error", {"description": "错误", "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
    named = {
        "Error": schemas.ErrorSchema, "Entrustment": schemas.EntrustmentSchema,
        "Certificate": schemas.CertificateSchema, "Item": schemas.ItemSchema, "Product": schemas.ProductSchema,
        "ProductInput": schemas.ProductInputSchema, "ProductUpdate": schemas.ProductUpdateSchema,
        "Version": schemas.VersionSchema, "Batch": schemas.BatchSchema, "BatchResult": schemas.BatchResultSchema,
        "QueryRow": schemas.QueryRowSchema, "NationalCertificate": schemas.NationalCertificateSchema,
        "NationalItem": schemas.NationalItemSchema, "NationalSpec": schemas.NationalSpecSchema,
        "Decision": schemas.DecisionSchema, "EntrustmentInput": schemas.EntrustmentInputSchema,
        "EntrustmentUpdate": schemas.EntrustmentUpdateSchema, "CertificateNew": schemas.CertificateNewSchema,
        "CertificateUpdate": schemas.CertificateUpdateSchema,
    }
    for name, schema in named.items():
        spec.components.schema(name, schema=schema)
    for name, item, key in (("Entrustment", "Entrustment", "integer"), ("Certificate", "Certificate", "integer"),
                            ("Item", "Item", "integer"), ("Product", "Product", "integer"),
                            ("Query", "QueryRow", "integer"), ("NationalCertificate", "NationalCertificate", "string"),
                            ("NationalItem", "NationalItem", "string"), ("NationalSpec", "NationalSpec", "string")):
        spec.components.schema(f"{name}Page", {
            "type": "object", "required": ["items", "next_after"],
            "properties": {"items": {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}},
                           "next_after": {"type": key, "nullable": True,
                                          "description": "下一页的after参数；null表示没有下一页"}}})
    binary = {"type": "string", "format": "binary"}
    spec.components.schema("EntrustmentForm", {"type": "object", "properties": {
        "kind": {"type": "string", "enum": ["contract", "agent"]}, "principal_name": {"type": "string"},
        "valid_from": {"type": "string", "format": "date"}, "valid_to": {"type": "string", "format": "date"},
        "cert_nos": {"type": "array", "items": {"type": "string"}}, "version": {"type": "integer"},
        "submit": {"type": "boolean"}, "proof": binary, "letter_en": binary, "letter_zh": binary}})
    spec.components.schema("CertificateForm", {"type": "object", "properties": {
        "contact_name": {"type": "string"}, "contact_phone": {"type": "string"}, "remark": {"type": "string"},
        "version": {"type": "integer"}, "submit": {"type": "boolean"}, "scan": binary}})
    spec.components.schema("CertificateList", {"type": "object", "required": ["items"], "properties": {
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/Certificate"}}}})
    spec.components.schema("FileList", {"type": "object", "required": ["items"], "properties": {"items": {
        "type": "array", "items": {"type": "object", "required": ["id", "slot", "filename", "size", "sha256"],
                                   "properties": {"id": {"type": "integer"}, "slot": {"type": "string"},
                                                  "slot_label": {"type": "string"},
                                                  "filename": {"type": "string"},
                                                  "content_type": {"type": "string"},
                                                  "size": {"type": "integer"}, "sha256": {"type": "string"}}}}}})
    # a record in a review queue: any of the three record types, with its unit's name
    spec.components.schema("ReviewRecord", {"type": "object", "required": ["id", "state", "version", "unit_name"],
                                            "properties": {"unit_name": {"type": "string", "nullable": True,
                                                                         "description": "提交单位"}},
                                            "additionalProperties": True})
    spec.components.schema("ReviewPage", {
        "type": "object", "required": ["items", "next_after"],
        "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/ReviewRecord"}},
                       "next_after": {"type": "integer", "nullable": True}}})
    wanted = set(RESOURCES)
    for view in current_app.appbuilder.baseviews:
        if type(view) in wanted:
            for attr_name in dir(view):
                attr = getattr(view, attr_name)
                for url, methods in getattr(attr, "_urls", ()):
                    operations: dict = {}
                    path = view.path_helper(path=url, operations=operations)
                    view.operation_helper(path=path, operations=operations, methods=methods, func=attr)
                    for operation in operations.values():
                        operation["tags"] = [view.openapi_spec_tag]
                        operation.setdefault("operationId", f"{type(view).__name__}.{attr_name}")
                    spec.path(path=path, operations=operations)
    return spec.to_dict()


class ApiSpecApi(BaseApi):
    """``GET /api/v1/_openapi``: the spec, for a logged-in user or an API key holder."""

    route_base = "/api/v1"
    base_permissions: list[str] = []

    @expose("/_openapi", methods=["GET"])
    def spec(self):
        user = getattr(g, "user", None)
        if user is None or not getattr(user, "is_authenticated", False):
            sm = current_app.appbuilder.sm
            raw = sm.extract_api_key_from_request()
            if raw is None or sm.validate_api_key(raw) is None:
                return error(401, MSG_NO_KEY)
        return self.response(200, **build_spec())


class ApiDocsView(BaseView):
    """接口文档: FAB's Swagger UI bundle over /api/v1/_openapi, for logged-in users."""

    route_base = "/api/v1/docs"
    default_view = "show"

    @expose("/")
    def show(self):
        user = getattr(g, "user", None)
        if user is None or not user.is_authenticated:
            return redirect(url_for("UnitLoginView.login", next=request.path))
        return self.render_template("api/docs.html", title="接口文档", openapi_uri=url_for("ApiSpecApi.spec"))
