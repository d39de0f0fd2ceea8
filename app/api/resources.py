"""/api/v1 resources: 委托授权, 注册证, 单件, 产品/包装, 耗材产品查询, 国家编码查询.

Thin: each route loads through the caller's unit, calls the pages' service or the
workflow engine, and dumps the result.  The docstrings (YAML after ``---``) are FAB's
OpenAPI operations (``/api/v1/_openapi``); ``__LABEL__`` / ``__SCHEMA__`` are filled in
per resource (app/api/base.py).
"""
from __future__ import annotations

import datetime as dt

from flask import current_app, g, request
from flask_appbuilder.api import expose
from sqlalchemy import or_, select

from app.api import schemas
from app.api.base import MSG_BAD_JSON, MSG_STALE, ApiBase, api_access, error, idempotent, page_args, reply
from app.extensions import db
from app.i18n import N_
from app.models import Entrustment, QualCertificate, QualItem, QualProduct
from app.models.national import NationalItem
from app.services import national, overview, product_query, products
from app.services.errors import ValidationFailed
from app.tenancy import current_unit_id
from app.workflow import engine, registry

MSG_BAD_PAGE = N_("after应为记录ID，limit应为1至200的整数")
MSG_BAD_FILTER = N_("筛选条件的取值无效")
MSG_BATCH = N_("ids应为1至500个记录ID")
MSG_VERSION = N_("version应为整数")
MSG_TEXT = N_("应为文本")
MSG_INTEGER = N_("应为大于等于1的整数")
MSG_DATE = N_("日期格式应为YYYY-MM-DD")
MSG_CERT_NOS = N_("cert_nos应为注册备案号列表")
MSG_CODES = N_("codes应为1至500个20位码")
MSG_ACTION = N_("action应为approve（审核通过）或reject（审核不通过）")
MSG_OPINION = N_("审核意见应为不超过2000字的文本")
CRUD = ["can_list", "can_show", "can_add", "can_edit", "can_delete"]
BATCH_MAX = 500


def _param(name: str, description: str, **schema) -> dict:
    return {"in": "query", "name": name, "description": description, "schema": schema}


STATE_PARAM = _param("state", "状态", type="string",
                     enum=["draft", "pending_initial", "pending_final", "effective", "rejected", "deactivated"])
EXPIRES_PARAM = _param("expires", "到期情况（与资质概览一致）", type="string",
                       enum=sorted(b[0] for b in overview.EXPIRY_BUCKETS))
FLAG_PARAM = _param("flag", "产品标记（与资质概览一致）", type="string",
                    enum=sorted(k for k, _l in overview.product_flags()))
Q_PARAM = _param("q", "查询（与页面的查询框相同：编号、编码或名称包含该文本）", type="string", maxLength=60)

_SCHEMAS: dict = {}


def schema_of(schema_cls):
    if schema_cls not in _SCHEMAS:
        _SCHEMAS[schema_cls] = schema_cls()
    return _SCHEMAS[schema_cls]


def filter_values(name: str) -> set[str]:
    if name == "state":
        return set(overview.STATE_NAMES)
    if name == "expires":
        return {b[0] for b in overview.EXPIRY_BUCKETS}
    if name == "flag":
        return {k for k, _label in overview.product_flags()}
    return set()


class RecordApi(ApiBase):
    """A unit-owned, reviewed record type: list (keyset), get, and the owner's transitions."""

    model: type = None
    schema: type = None
    rtype_key = ""
    base_permissions = CRUD
    #: filters of the page's list (?state= / ?expires= / ?flag=, as 资质概览 links them)
    list_filters: tuple[str, ...] = ("state",)

    # -- helpers ---------------------------------------------------------
    def _changes(self, rows) -> dict[int, int]:
        ids = [r.id for r in rows if r.revision_of_id is None]
        if not ids:
            return {}
        model = self.model
        return dict(db.session.execute(select(model.revision_of_id, model.id).where(
            model.unit_id == current_unit_id(), model.revision_of_id.in_(ids), model.state != "merged")).all())

    def dump(self, rows, many=False):
        rows = list(rows) if many else [rows]
        changes = self._changes(rows)
        out = schema_of(self.schema).dump(rows, many=True)
        for data in out:
            data["change_id"] = changes.get(data["id"])
        return out if many else out[0]

    def _list(self):
        paging = page_args()
        if paging is None:
            return error(400, MSG_BAD_PAGE)
        after, limit = paging
        for name in self.list_filters:
            value = request.args.get(name)
            if value not in (None, "") and value not in filter_values(name):
                return error(400, MSG_BAD_FILTER)
        conditions = overview.list_filter(self.rtype_key, request.args, dt.date.today()).conditions
        model = self.model
        query = select(model).where(model.unit_id == current_unit_id(), model.revision_of_id.is_(None), *conditions)
        term = (request.args.get("q") or "").strip()
        if len(term) > 60:
            return error(400, MSG_BAD_FILTER)
        fields = registry.by_key(self.rtype_key).search_fields
        if term and fields:  # the list page's 查询 box: the record type's search fields
            query = query.where(or_(*(getattr(model, f).contains(term, autoescape=True) for f in fields)))
        if after is not None:
            query = query.where(model.id > after)
        rows = list(db.session.scalars(query.order_by(model.id).limit(limit + 1)))
        more = len(rows) > limit
        rows = rows[:limit]
        return self.response(200, items=self.dump(rows, many=True), next_after=rows[-1].id if more else None)

    def _version_in(self, record):
        """(version or None, error reply or None) of a JSON body that may carry ``version``."""
        body = request.get_json(silent=True) if request.get_data() else {}
        if not isinstance(body, dict):
            return None, error(400, MSG_BAD_JSON)
        version = body.get("version")
        if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
            return None, error(422, MSG_VERSION, errors={"version": MSG_VERSION})
        if version is not None and version != record.version:
            return None, error(409, MSG_STALE, current_version=record.version)
        return version, None

    def _transition(self, pk, action):
        record = self.owned(self.model, pk)
        if record is None:
            return self.response_404()
        version, refused = self._version_in(record)
        if refused is not None:
            return refused
        if action == "change":
            revision = engine.open_change(record, g.user)
            return reply(201, self.dump(revision))
        if action == "cancel_change":
            original_id = record.revision_of_id
            engine.cancel_change(record, g.user)
            original = self.owned(self.model, original_id) if original_id else None
            return reply(200, self.dump(original)) if original is not None else self.response_404()
        if action == "delete":
            engine.delete_draft(record, g.user)
            return current_app.response_class(status=204)
        engine.apply(record, action, g.user, expected_version=version)
        return reply(200, self.dump(self.owned(self.model, pk)))

    # -- routes (shared) -------------------------------------------------
    @expose("/", methods=["GET"])
    @api_access("can_list")
    def get_list(self):
        """List
        ---
        get:
          summary: __LABEL__列表（本单位；按ID升序，after/limit翻页）
          description: 与页面列表相同的记录（变更中的记录以change_id给出）；筛选条件与页面相同。
          parameters:
          - {in: query, name: after, schema: {type: integer, minimum: 0, maximum: 2147483647}, description: 上一页的next_after}
          - {in: query, name: limit, schema: {type: integer, minimum: 1, maximum: 200}, description: 每页条数（默认50）}
          responses:
            200: {description: 一页记录, content: {application/json: {schema: {$ref: '#/components/schemas/__SCHEMA__Page'}}}}
            400: {$ref: '#/components/responses/Error'}
            401: {$ref: '#/components/responses/Error'}
            403: {$ref: '#/components/responses/Error'}
            429: {$ref: '#/components/responses/Error'}
        """
        return self._list()

    @expose("/<int:pk>", methods=["GET"])
    @api_access("can_show")
    def get(self, pk):
        """Get
        ---
        get:
          summary: __LABEL__详情
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer, minimum: 0, maximum: 2147483647}}
          responses:
            200: {description: 记录, content: {application/json: {schema: {$ref: '#/components/schemas/__SCHEMA__'}}}}
            401: {$ref: '#/components/responses/Error'}
            403: {$ref: '#/components/responses/Error'}
            404: {$ref: '#/components/responses/Error'}
            429: {$ref: '#/components/responses/Error'}
        """
        record = self.owned(self.model, pk)
        if record is None:
            return self.response_404()
        return reply(200, self.dump(record))

    @expose("/<int:pk>/submit", methods=["POST"])
    @api_access("can_edit")
    @idempotent
    def submit(self, pk):
        """提交
        ---
        post:
          summary: 提交__LABEL__（待提交/审核不通过 → 待初审）
          description: 带Idempotency-Key时，重试不会重复提交，返回第一次的结果。
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer, minimum: 0, maximum: 2147483647}}
          - {in: header, name: Idempotency-Key, schema: {type: string, minLength: 1, maxLength: 128, pattern: '^[!-~]+$'}, description: 幂等键}
          requestBody:
            content: {application/json: {schema: {$ref: '#/components/schemas/Version'}}}
          responses:
            200: {description: 已提交, content: {application/json: {schema: {$ref: '#/components/schemas/__SCHEMA__'}}}}
            400: {$ref: '#/components/responses/Error'}
            401: {$ref: '#/components/responses/Error'}
            403: {$ref: '#/components/responses/Error'}
            404: {$ref: '#/components/responses/Error'}
            409: {$ref: '#/components/responses/Error'}
            422: {$ref: '#/components/responses/Error'}
            429: {$ref: '#/components/responses/Error'}
        """
        return self._transition(pk, "submit")

    @expose("/<int:pk>/withdraw", methods=["POST"])
    @api_access("can_edit")
    def withdraw(self, pk):
        """撤回
        ---
        post:
          summary: 撤回__LABEL__（待初审 → 待提交）
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer, minimum: 0, maximum: 2147483647}}
          requestBody:
            content: {application/json: {schema: {$ref: '#/components/schemas/Version'}}}
          responses:
            200: {description: 已撤回, content: {application/json: {schema: {$ref: '#/components/schemas/__SCHEMA__'}}}}
            400: {$ref: '#/components/responses/Error'}
            401: {$ref: '#/components/responses/Error'}
            403: {$ref: '#/components/responses/Error'}
            404: {$ref: '#/components/responses/Error'}
            409: {$ref: '#/components/responses/Error'}
            422: {$ref: '#/components/responses/Error'}
            429: {$ref: '#/components/responses/Error'}
        """
        return self._transition(pk, "withdraw")

    @expose("/<int:pk>/change", methods=["POST"])
    @api_access("can_edit")
    def change(self, pk):
        """变更
        ---
        post:
          summary: 变更__LABEL__（为已生效记录创建待提交的变更记录，审核通过前生效信息不变）
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer, minimum: 0, maximum: 2147483647}}
          requestBody:
            content: {application/json: {schema: {$ref: '#/components/schemas/Version'}}}
          responses:
            201: {description: 新的变更记录, content: {application/json: {schema: {$ref: '#/components/schemas/__SCHEMA__'}}}}
            400: {$ref: '#/components/responses/Error'}
            401: {$ref: '#/components/responses/Error'}
            403: {$ref: '#/components/responses/Error'}
            404: {$ref: '#/components/responses/Error'}
            409: {$ref: '#/components/responses/Error'}
            422: {$ref: '#/components/responses/Error'}
            429: {$ref: '#/components/responses/Error'}
        """
        return self._transition(pk, "change")

    @expose("/<int:pk>/cancel-change", methods=["POST"])
    @api_access("can_edit")
    def cancel_change(self, pk):
        """撤销变更
        ---
        post:
          summary: 撤销__LABEL__的变更（待提交/审核不通过的变更记录；生效信息保持不变）
          description: pk为变更记录的ID（列表中的change_id）；返回生效中的记录。
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer, minimum: 0, maximum: 2147483647}}
          requestBody:
            content: {application/json: {schema: {$ref: '#/components/schemas/Version'}}}
          responses:
            200: {description: 已撤销变更, content: {application/json: {schema: {$ref: '#/components/schemas/__SCHEMA__'}}}}
            400: {$ref: '#/components/responses/Error'}
            401: {$ref: '#/components/responses/Error'}
            403: {$ref: '#/components/responses/Error'}
            404: {$ref: '#/components/responses/Error'}
            409: {$ref: '#/components/responses/Error'}
            422: {$ref: '#/components/responses/Error'}
            429: {$ref: '#/components/responses/Error'}
        """
        return self._transition(pk, "cancel_change")

    @expose("/<int:pk>", methods=["DELETE"])
    @api_access("can_edit")
    def delete(self, pk):
        """删除
        ---
        delete:
          summary: 删除从未提交过的__LABEL__草稿
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer, minimum: 0, maximum: 2147483647}}
          responses:
            204: {description: 已删除}
            400: {$ref: '#/components/responses/Error'}
            401: {$ref: '#/components/responses/Error'}
            403: {$ref: '#/components/responses/Error'}
            404: {$ref: '#/components/responses/Error'}
            409: {$ref: '#/components/responses/Error'}
            422: {$ref: '#/components/responses/Error'}
            429: {$ref: '#/components/responses/Error'}
        """
        return self._transition(pk, "delete")

    @expose("/batch-submit", methods=["POST"])
    @api_access("can_edit")
    @idempotent
    def batch_submit(self):
        """批量提交
        ---
        post:
          summary: 批量提交__LABEL__（每条一个事务，返回成功的ID和失败原因）
          description: 任一ID不属于本单位时整批返回404、不做任何操作（与页面相同）。带Idempotency-Key时重试不会重复提交。
          parameters:
          - {in: header, name: Idempotency-Key, schema: {type: string, minLength: 1, maxLength: 128, pattern: '^[!-~]+$'}, description: 幂等键}
          requestBody:
            required: true
            content: {application/json: {schema: {$ref: '#/components/schemas/Batch'}}}
          responses:
            200: {description: 结果, content: {application/json: {schema: {$ref: '#/components/schemas/BatchResult'}}}}
            400: {$ref: '#/components/responses/Error'}
            401: {$ref: '#/components/responses/Error'}
            403: {$ref: '#/components/responses/Error'}
            404: {$ref: '#/components/responses/Error'}
            409: {$ref: '#/components/responses/Error'}
            422: {$ref: '#/components/responses/Error'}
            429: {$ref: '#/components/responses/Error'}
        """
        body = self.body()
        ids = body.get("ids") if body else None
        if not isinstance(ids, list) or not 1 <= len(ids) <= BATCH_MAX or not all(
                isinstance(i, int) and not isinstance(i, bool) and 0 <= i < 2**31 for i in ids):
            return error(422, MSG_BATCH, errors={"ids": MSG_BATCH})
        ids = list(dict.fromkeys(ids))
        records = [self.owned(self.model, pk) for pk in ids]
        if any(r is None for r in records):  # like the page: an id not of the unit → 404, nothing done
            return self.response_404()
        result = engine.batch(records, "submit", g.user)
        return self.response(200, ok=result.ok, failed=[{"id": i, "message": m} for i, m in result.failed])




# -- attachments and the editable fields of 委托授权 / 注册证 ------------------------------
def _payload() -> tuple[dict | None, dict]:
    """(fields, uploads) of a JSON body or a multipart form (files: slot → (filename, bytes))."""
    if request.mimetype == "multipart/form-data" or request.mimetype == "application/x-www-form-urlencoded":
        fields = {k: (request.form.getlist(k) if k == "cert_nos" else request.form.get(k)) for k in request.form}
        uploads = {slot: (f.filename, f.read()) for slot, f in request.files.items() if f and f.filename}
        for key in ("submit", "zh_same_as_en"):
            if key in fields:
                fields[key] = fields[key] in ("1", "true", "True", "on")
        if "version" in fields:
            fields["version"] = int(fields["version"]) if str(fields["version"]).isdigit() else fields["version"]
        return fields, uploads
    body = request.get_json(silent=True) if request.get_data() else {}
    return (body if isinstance(body, dict) else None), {}


def _text_fields(fields: dict, names) -> dict:
    """Text fields must be text (None: absent); anything else is a field error."""
    errors = {k: MSG_TEXT for k in names if fields.get(k) is not None and not isinstance(fields.get(k), str)}
    if errors:
        raise ValidationFailed(errors)
    return {k: fields.get(k) for k in names}


def _date_field(fields: dict, name: str, errors: dict) -> dt.date | None:
    value = fields.get(name)
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        pass
    errors[name] = MSG_DATE
    return None


def _check_version(record, fields: dict, required: bool):
    version = fields.get("version")
    if version is None and not required:
        return None
    if not isinstance(version, int) or isinstance(version, bool):
        return error(422, MSG_VERSION, errors={"version": MSG_VERSION})
    if version != record.version:
        return error(409, MSG_STALE, current_version=record.version)
    return None


class FilesMixin:
    """证明材料 / 扫描件 of a record: list and download (the page's 文件), for the record's unit."""

    @expose("/<int:pk>/files", methods=["GET"])
    @api_access("can_show")
    def files(self, pk):
        """Files
        ---
        get:
          summary: __LABEL__的附件列表
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer, minimum: 0, maximum: 2147483647}}
          responses:
            200: {description: 附件, content: {application/json: {schema: {$ref: '#/components/schemas/FileList'}}}}
            401: {$ref: '#/components/responses/Error'}
            403: {$ref: '#/components/responses/Error'}
            404: {$ref: '#/components/responses/Error'}
            429: {$ref: '#/components/responses/Error'}
        """
        from app.services import qualification as q

        record = self.owned(self.model, pk)
        if record is None:
            return self.response_404()
        return reply(200, {"items": [{"id": a.id, "slot": a.slot, "slot_label": q.SLOT_LABELS.get(a.slot, a.slot),
                                      "filename": a.filename, "content_type": a.content_type, "size": a.size,
                                      "sha256": a.sha256} for a in q.files_of(record)]})

    @expose("/<int:pk>/files/<int:attachment_id>", methods=["GET"])
    @api_access("can_show")
    def file(self, pk, attachment_id):
        """Download
        ---
        get:
          summary: 下载__LABEL__的附件
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer, minimum: 0, maximum: 2147483647}}
          - {in: path, name: attachment_id, required: true, schema: {type: integer, minimum: 0, maximum: 2147483647}}
          responses:
            200: {description: 文件内容, content: {application/octet-stream: {schema: {type: string, format: binary}}}}
            401: {$ref: '#/components/responses/Error'}
            403: {$ref: '#/components/responses/Error'}
            404: {$ref: '#/components/responses/Error'}
            429: {$ref: '#/components/responses/Error'}
        """
        from app.models import Attachment
        from app.views.workflow import send_attachment

        record = self.owned(self.model, pk)
        attachment = db.session.get(Attachment, attachment_id) if record is not None and attachment_id < 2**31 else None
        if attachment is None or attachment.owner_type != self.model.__tablename__ or attachment.owner_id != record.id \
                or attachment.unit_id != current_unit_id():
            return self.response_404()
        resp = send_attachment(attachment)
        resp.headers["Content-Type"] = "application/octet-stream"
        return resp


UPLOAD_DOC = "（JSON，或multipart/form-data同名字段加文件）"


class EntrustmentApi(FilesMixin, RecordApi):
    resource_name = "entrustments"
    openapi_spec_tag = "委托授权"
    label, schema_name, page_view = "委托授权", "Entrustment", "ConsumableEntrustmentView"
    model, schema, rtype_key = Entrustment, schemas.EntrustmentSchema, "entrustment"
    list_filters = ("state", "expires")
    list_parameters = (STATE_PARAM, EXPIRES_PARAM, Q_PARAM)

    def _save(self, record):
        from app.services import qualification as q

        fields, uploads = _payload()
        if fields is None:
            return error(400, MSG_BAD_JSON)
        if record is not None:
            refused = _check_version(record, fields, required=True)
            if refused is not None:
                return refused
        text = _text_fields(fields, ("kind", "principal_name"))
        errors: dict = {}
        valid_from, valid_to = _date_field(fields, "valid_from", errors), _date_field(fields, "valid_to", errors)
        cert_nos = fields.get("cert_nos", record.cert_numbers if record is not None else [])
        if not isinstance(cert_nos, list) or not all(isinstance(n, str) for n in cert_nos) or len(cert_nos) > 200:
            errors["certificates"] = MSG_CERT_NOS
        uploads = {slot: up for slot, up in uploads.items() if slot in ("proof", "letter_en", "letter_zh")}
        if errors:
            raise ValidationFailed(errors)
        data = q.EntrustmentInput(
            kind=text["kind"] if text["kind"] is not None else (record.kind if record is not None else ""),
            principal_name=text["principal_name"] if text["principal_name"] is not None else (
                record.principal_name if record is not None else ""),
            valid_from=valid_from if "valid_from" in fields or record is None else record.valid_from,
            valid_to=valid_to if "valid_to" in fields or record is None else record.valid_to,
            cert_nos=cert_nos, uploads=uploads, zh_same_as_en=fields.get("zh_same_as_en") is True)
        saved = q.save_entrustment(g.user, record, data, submit=fields.get("submit") is True)
        return reply(201 if record is None else 200, self.dump(self.owned(Entrustment, saved.id)))

    @expose("/", methods=["POST"])
    @api_access("can_add")
    @idempotent
    def post(self):
        """新增
        ---
        post:
          summary: 新增委托授权（保存为待提交；submit为true时同时提交）
          description: 字段同页面：kind（contract 被委托生产 / agent 境外代理）、principal_name、valid_from、valid_to、cert_nos；文件 proof（被委托生产的证明材料）、letter_en、letter_zh（境外代理的授权书），须用multipart/form-data上传。带Idempotency-Key时重试不会重复新增。
          parameters:
          - {in: header, name: Idempotency-Key, schema: {type: string, minLength: 1, maxLength: 128, pattern: '^[!-~]+$'}, description: 幂等键}
          requestBody:
            required: true
            content:
              application/json: {schema: {$ref: '#/components/schemas/EntrustmentInput'}}
              multipart/form-data: {schema: {$ref: '#/components/schemas/EntrustmentForm'}}
          responses:
            201: {description: 新增的委托授权, content: {application/json: {schema: {$ref: '#/components/schemas/Entrustment'}}}}
            400: {$ref: '#/components/responses/Error'}
            401: {$ref: '#/components/responses/Error'}
            403: {$ref: '#/components/responses/Error'}
            409: {$ref: '#/components/responses/Error'}
            413: {$ref: '#/components/responses/Error'}
            422: {$ref: '#/components/responses/Error'}
            429: {$ref: '#/components/responses/Error'}
        """
        return self._save(None)

    @expose("/<int:pk>", methods=["PUT"])
    @api_access("can_edit")
    def put(self, pk):
        """编辑
        ---
        put:
          summary: 编辑委托授权（待提交/审核不通过时；未给出的字段不变；version必填，过期时409）
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer, minimum: 0, maximum: 2147483647}}
          requestBody:
            required: true
            content:
              application/json: {schema: {$ref: '#/components/schemas/EntrustmentUpdate'}}
              multipart/form-data: {schema: {$ref: '#/components/schemas/EntrustmentForm'}}
          responses:
            200: {description: 保存后的委托授权, content: {application/json: {schema: {$ref: '#/components/schemas/Entrustment'}}}}
            400: {$ref: '#/components/responses/Error'}
            401: {$ref: '#/components/responses/Error'}
            403: {$ref: '#/components/responses/Error'}
            404: {$ref: '#/components/responses/Error'}
            409: {$ref: '#/components/responses/Error'}
            413: {$ref: '#/components/responses/Error'}
            422: {$ref: '#/components/responses/Error'}
            429: {$ref: '#/components/responses/Error'}
        """
        record = self.owned(Entrustment, pk)
        if record is None:
            return self.response_404()
        return self._save(record)



class CertificateApi(FilesMixin, RecordApi):
    resource_name = "certificates"
    openapi_spec_tag = "注册证"
    label, schema_name, page_view = "注册证", "Certificate", "ConsumableCertificateView"
    model, schema, rtype_key = QualCertificate, schemas.CertificateSchema, "certificate"
    list_filters = ("state", "expires")
    list_parameters = (STATE_PARAM, EXPIRES_PARAM, Q_PARAM)

    @expose("/", methods=["POST"])
    @api_access("can_add")
    @idempotent
    def post(self):
        """新增
        ---
        post:
          summary: 新增注册证（按注册备案号，每个一条待提交记录；任一不允许则全部不新增）
          description: 只能新增本单位注册的或被本单位已提交/已生效的委托授权关联的注册证（与页面相同）。带Idempotency-Key时重试不会重复新增。
          parameters:
          - {in: header, name: Idempotency-Key, schema: {type: string, minLength: 1, maxLength: 128, pattern: '^[!-~]+$'}, description: 幂等键}
          requestBody:
            required: true
            content: {application/json: {schema: {$ref: '#/components/schemas/CertificateNew'}}}
          responses:
            201: {description: 新增的注册证, content: {application/json: {schema: {$ref: '#/components/schemas/CertificateList'}}}}
            400: {$ref: '#/components/responses/Error'}
            401: {$ref: '#/components/responses/Error'}
            403: {$ref: '#/components/responses/Error'}
            409: {$ref: '#/components/responses/Error'}
            422: {$ref: '#/components/responses/Error'}
            429: {$ref: '#/components/responses/Error'}
        """
        from app.services import qualification as q

        body = self.body()
        if body is None:
            return error(400, MSG_BAD_JSON)
        numbers = body.get("cert_nos")
        if not isinstance(numbers, list) or not all(isinstance(n, str) for n in numbers) or len(numbers) > 200:
            raise ValidationFailed({"certificates": MSG_CERT_NOS})
        created = q.add_certificates(g.user, numbers)
        return reply(201, {"items": self.dump([self.owned(QualCertificate, c.id) for c in created], many=True)})

    def _save(self, record, fields, scan):
        from app.services import qualification as q

        text = _text_fields(fields, ("contact_name", "contact_phone", "remark"))
        q.save_certificate(g.user, record,
                           text["contact_name"] if text["contact_name"] is not None else record.contact_name,
                           text["contact_phone"] if text["contact_phone"] is not None else record.contact_phone,
                           text["remark"] if text["remark"] is not None else record.remark,
                           scan, submit=fields.get("submit") is True)
        return reply(200, self.dump(self.owned(QualCertificate, record.id)))

    @expose("/<int:pk>", methods=["PUT"])
    @api_access("can_edit")
    def put(self, pk):
        """编辑
        ---
        put:
          summary: 编辑注册证（联系人、联系电话、备注、注册证扫描件scan；国家数据字段不可修改；version必填，过期时409）
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer, minimum: 0, maximum: 2147483647}}
          requestBody:
            required: true
            content:
              application/json: {schema: {$ref: '#/components/schemas/CertificateUpdate'}}
              multipart/form-data: {schema: {$ref: '#/components/schemas/CertificateForm'}}
          responses:
            200: {description: 保存后的注册证, content: {application/json: {schema: {$ref: '#/components/schemas/Certificate'}}}}
            400: {$ref: '#/components/responses/Error'}
            401: {$ref: '#/components/responses/Error'}
            403: {$ref: '#/components/responses/Error'}
            404: {$ref: '#/components/responses/Error'}
            409: {$ref: '#/components/responses/Error'}
            413: {$ref: '#/components/responses/Error'}
            422: {$ref: '#/components/responses/Error'}
            429: {$ref: '#/components/responses/Error'}
        """
        record = self.owned(QualCertificate, pk)
        if record is None:
            return self.response_404()
        fields, uploads = _payload()
        if fields is None:
            return error(400, MSG_BAD_JSON)
        refused = _check_version(record, fields, required=True)
        if refused is not None:
            return refused
        return self._save(record, fields, uploads.get("scan"))



class ProductApi(RecordApi):
    resource_name = "products"
    openapi_spec_tag = "产品/包装"
    label, schema_name, page_view = "产品包装", "Product", "ConsumableProductView"
    model, schema, rtype_key = QualProduct, schemas.ProductSchema, "product"
    list_filters = ("state", "flag")
    list_parameters = (STATE_PARAM, FLAG_PARAM, Q_PARAM,
                       _param("item_id", "所属单件ID（维护产品信息：该单件的全部包装，含变更中的）", type="integer",
                              minimum=0, maximum=2147483647))
    list_responses = {404: {"$ref": "#/components/responses/Error"}}  # item_id not of the unit

    def _list(self):
        item_id = request.args.get("item_id")
        if item_id not in (None, ""):
            # 维护产品信息 of one item: like the page, its rows (pending changes included)
            if not item_id.isascii() or not item_id.isdigit() or int(item_id) >= 2**31:
                return error(400, MSG_BAD_FILTER)
        return super()._list() if item_id in (None, "") else self._item_list(int(item_id))

    def _item_list(self, item_id: int):
        paging = page_args()
        if paging is None:
            return error(400, MSG_BAD_PAGE)
        after, limit = paging
        item = self.owned(QualItem, item_id)
        if item is None:
            return self.response_404()
        query = select(QualProduct).where(QualProduct.unit_id == current_unit_id(), QualProduct.item_id == item.id,
                                          QualProduct.state != "merged")
        if after is not None:
            query = query.where(QualProduct.id > after)
        rows = list(db.session.scalars(query.order_by(QualProduct.id).limit(limit + 1)))
        more = len(rows) > limit
        rows = rows[:limit]
        return self.response(200, items=self.dump(rows, many=True), next_after=rows[-1].id if more else None)

    @expose("/<int:pk>/deactivate", methods=["POST"])
    @api_access("can_edit")
    def deactivate(self, pk):
        """停用
        ---
        post:
          summary: 申请停用已生效的产品包装（经审核通过后不再出现在耗材产品查询中，历史保留）
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer, minimum: 0, maximum: 2147483647}}
          responses:
            201: {description: 已提交的停用申请, content: {application/json: {schema: {$ref: '#/components/schemas/__SCHEMA__'}}}}
            400: {$ref: '#/components/responses/Error'}
            401: {$ref: '#/components/responses/Error'}
            403: {$ref: '#/components/responses/Error'}
            404: {$ref: '#/components/responses/Error'}
            409: {$ref: '#/components/responses/Error'}
            422: {$ref: '#/components/responses/Error'}
            429: {$ref: '#/components/responses/Error'}
        """
        record = self.owned(self.model, pk)
        if record is None:
            return self.response_404()
        return reply(201, self.dump(products.request_deactivation(g.user, record)))

    @expose("/<int:pk>/transfer", methods=["POST"])
    @api_access("can_edit")
    def transfer(self, pk):
        """转码
        ---
        post:
          summary: 转码：按国家平台的转码记录为已生效的产品包装创建变更（新编码），经审核后生效
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer, minimum: 0, maximum: 2147483647}}
          requestBody:
            required: true
            content: {application/json: {schema: {type: object, required: [new_code], properties: {new_code: {type: string, maxLength: 27, description: 国家平台转码后的27位码}}}}}
          responses:
            201: {description: 待提交的变更记录, content: {application/json: {schema: {$ref: '#/components/schemas/__SCHEMA__'}}}}
            400: {$ref: '#/components/responses/Error'}
            401: {$ref: '#/components/responses/Error'}
            403: {$ref: '#/components/responses/Error'}
            404: {$ref: '#/components/responses/Error'}
            409: {$ref: '#/components/responses/Error'}
            422: {$ref: '#/components/responses/Error'}
            429: {$ref: '#/components/responses/Error'}
        """
        from app.services.errors import ValidationFailed

        record = self.owned(self.model, pk)
        if record is None:
            return self.response_404()
        body = self.body()
        if body is None:
            return error(400, MSG_BAD_JSON)
        new_code = body.get("new_code")
        if not isinstance(new_code, str):
            raise ValidationFailed({"new_code": MSG_TEXT})
        return reply(201, self.dump(products.transfer_code(g.user, record, new_code[:27])))

    @staticmethod
    def _packaging(body: dict, code: str = "") -> products.Packaging:
        """The packaging fields of a JSON body; a value of the wrong JSON type is a field error."""
        from app.services.errors import ValidationFailed

        values = {k: body.get(k) for k in ("code", "min_unit", "pack_unit", "pack_ratio", "mid_unit", "mid_ratio")}
        errors = {}
        for k in ("code", "min_unit", "pack_unit", "mid_unit"):
            if values[k] is not None and not isinstance(values[k], str):
                errors[k] = MSG_TEXT
        for k in ("pack_ratio", "mid_ratio"):
            if values[k] is not None and (not isinstance(values[k], (int, str)) or isinstance(values[k], bool)):
                errors[k] = MSG_INTEGER
        if errors:
            raise ValidationFailed(errors)
        return products.Packaging(code=code or values["code"] or "", min_unit=values["min_unit"] or "",
                                  pack_unit=values["pack_unit"] or "", pack_ratio=values["pack_ratio"],
                                  mid_unit=values["mid_unit"] or "", mid_ratio=values["mid_ratio"])

    @expose("/", methods=["POST"])
    @api_access("can_edit", "ConsumableItemView")
    @idempotent
    def post(self):
        """新增包装
        ---
        post:
          summary: 新增产品包装（维护产品信息 → 新增包装；code须属于本单位耗材单件列表中的单件）
          description: 权限与页面相同（耗材单件列表的维护产品信息）。submit为true时保存后立即提交审核。带Idempotency-Key时重试不会重复新增。
          parameters:
          - {in: header, name: Idempotency-Key, schema: {type: string, minLength: 1, maxLength: 128, pattern: '^[!-~]+$'}, description: 幂等键}
          requestBody:
            required: true
            content: {application/json: {schema: {$ref: '#/components/schemas/ProductInput'}}}
          responses:
            201: {description: 新增的包装, content: {application/json: {schema: {$ref: '#/components/schemas/Product'}}}}
            400: {$ref: '#/components/responses/Error'}
            401: {$ref: '#/components/responses/Error'}
            403: {$ref: '#/components/responses/Error'}
            409: {$ref: '#/components/responses/Error'}
            422: {$ref: '#/components/responses/Error'}
            429: {$ref: '#/components/responses/Error'}
        """
        body = self.body()
        if body is None:
            return error(400, MSG_BAD_JSON)
        data = self._packaging(body)
        submit = body.get("submit") is True
        code = (data.code or "").strip()
        item = db.session.scalar(select(QualItem).where(QualItem.unit_id == current_unit_id(),
                                                        QualItem.code == code[:20])) if len(code) == 27 else None
        if item is None:
            errors = products.packaging_errors(current_unit_id(), code, data.min_unit, data.pack_unit,
                                               data.pack_ratio, data.mid_unit, data.mid_ratio)
            errors.setdefault("code", N_("27位耗材医保编码格式错误（应为C加26位数字）"))
            raise ValidationFailed(errors)
        record = products.add_packaging(g.user, item, data, submit=submit)
        return reply(201, self.dump(self.owned(QualProduct, record.id)))

    @expose("/<int:pk>", methods=["PUT"])
    @api_access("can_edit")
    def put(self, pk):
        """编辑包装
        ---
        put:
          summary: 编辑产品包装（待提交/审核不通过时；编码不可修改；version过期时409并返回current_version）
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer, minimum: 0, maximum: 2147483647}}
          requestBody:
            required: true
            content: {application/json: {schema: {$ref: '#/components/schemas/ProductUpdate'}}}
          responses:
            200: {description: 保存后的包装, content: {application/json: {schema: {$ref: '#/components/schemas/Product'}}}}
            400: {$ref: '#/components/responses/Error'}
            401: {$ref: '#/components/responses/Error'}
            403: {$ref: '#/components/responses/Error'}
            404: {$ref: '#/components/responses/Error'}
            409: {$ref: '#/components/responses/Error'}
            422: {$ref: '#/components/responses/Error'}
            429: {$ref: '#/components/responses/Error'}
        """
        record = self.owned(QualProduct, pk)
        if record is None:
            return self.response_404()
        body = self.body()
        if body is None:
            return error(400, MSG_BAD_JSON)
        data = self._packaging(body, code=record.code)
        version = body.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            return error(422, MSG_VERSION, errors={"version": MSG_VERSION})
        if version != record.version:
            return error(409, MSG_STALE, current_version=record.version)
        products.update_packaging(g.user, record, data, submit=body.get("submit") is True)
        return reply(200, self.dump(self.owned(QualProduct, pk)))


class ItemApi(ApiBase):
    resource_name = "items"
    openapi_spec_tag = "单件"
    label, schema_name, page_view = "单件", "Item", "ConsumableItemView"
    base_permissions = CRUD

    def _dump(self, rows):
        names = dict(db.session.execute(select(NationalItem.code, NationalItem.name).where(
            NationalItem.code.in_([r.code for r in rows]))).all()) if rows else {}
        out = schema_of(schemas.ItemSchema).dump(rows, many=True)
        for data in out:
            data["name"] = names.get(data["code"])
        return out

    @expose("/", methods=["GET"])
    @api_access("can_list")
    def get_list(self):
        """List
        ---
        get:
          summary: 耗材单件列表（本单位；按ID升序翻页）
          parameters:
          - {in: query, name: after, schema: {type: integer, minimum: 0, maximum: 2147483647}, description: 上一页的next_after}
          - {in: query, name: limit, schema: {type: integer, minimum: 1, maximum: 200}, description: 每页条数（默认50）}
          - {in: query, name: code, schema: {type: string, maxLength: 20}, description: 20位编码前缀}
          - {in: query, name: name, schema: {type: string, maxLength: 60}, description: 单件名称包含}
          responses:
            200: {description: 一页单件, content: {application/json: {schema: {$ref: '#/components/schemas/ItemPage'}}}}
            400: {$ref: '#/components/responses/Error'}
            401: {$ref: '#/components/responses/Error'}
            403: {$ref: '#/components/responses/Error'}
            429: {$ref: '#/components/responses/Error'}
        """
        paging = page_args()
        if paging is None:
            return error(400, MSG_BAD_PAGE)
        after, limit = paging
        query = select(QualItem).where(QualItem.unit_id == current_unit_id())
        code = (request.args.get("code") or "").strip().upper()
        if code:
            if len(code) > 20:
                return error(400, MSG_BAD_FILTER)
            query = query.where(QualItem.code.startswith(code, autoescape=True))
        name = (request.args.get("name") or "").strip()
        if name:  # 单件名称, as the list page searches it
            if len(name) > 60:
                return error(400, MSG_BAD_FILTER)
            query = query.where(QualItem.code.in_(select(NationalItem.code).where(
                NationalItem.name.contains(name, autoescape=True))))
        if after is not None:
            query = query.where(QualItem.id > after)
        rows = list(db.session.scalars(query.order_by(QualItem.id).limit(limit + 1)))
        more = len(rows) > limit
        rows = rows[:limit]
        return self.response(200, items=self._dump(rows), next_after=rows[-1].id if more else None)

    @expose("/<int:pk>", methods=["GET"])
    @api_access("can_show")
    def get(self, pk):
        """Get
        ---
        get:
          summary: 单件详情
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer, minimum: 0, maximum: 2147483647}}
          responses:
            200: {description: 单件, content: {application/json: {schema: {$ref: '#/components/schemas/Item'}}}}
            401: {$ref: '#/components/responses/Error'}
            403: {$ref: '#/components/responses/Error'}
            404: {$ref: '#/components/responses/Error'}
            429: {$ref: '#/components/responses/Error'}
        """
        item = self.owned(QualItem, pk)
        if item is None:
            return self.response_404()
        return reply(200, self._dump([item])[0])

    @expose("/", methods=["POST"])
    @api_access("can_add")
    @idempotent
    def post(self):
        """新增单件
        ---
        post:
          summary: 新增单件（本单位已提交或已生效注册证下的20位码，可一次多个）
          description: 带Idempotency-Key时，重试不会重复新增，返回第一次的结果。
          parameters:
          - {in: header, name: Idempotency-Key, schema: {type: string, minLength: 1, maxLength: 128, pattern: '^[!-~]+$'}, description: 幂等键}
          requestBody:
            required: true
            content: {application/json: {schema: {type: object, required: [codes], properties: {codes: {type: array, minItems: 1, maxItems: 500, items: {type: string, maxLength: 20}, description: 20位码}}}}}
          responses:
            201: {description: 新增的单件, content: {application/json: {schema: {type: object, properties: {items: {type: array, items: {$ref: '#/components/schemas/Item'}}}}}}}
            400: {$ref: '#/components/responses/Error'}
            401: {$ref: '#/components/responses/Error'}
            403: {$ref: '#/components/responses/Error'}
            409: {$ref: '#/components/responses/Error'}
            422: {$ref: '#/components/responses/Error'}
            429: {$ref: '#/components/responses/Error'}
        """
        from app.services.errors import ValidationFailed

        body = self.body()
        if body is None:
            return error(400, MSG_BAD_JSON)
        codes = body.get("codes")
        if not isinstance(codes, list) or not 1 <= len(codes) <= BATCH_MAX or not all(
                isinstance(c, str) for c in codes):
            raise ValidationFailed({"codes": MSG_CODES})
        return reply(201, {"items": self._dump(products.add_items(g.user, [c[:20] for c in codes]))})

    @expose("/<int:pk>", methods=["DELETE"])
    @api_access("can_edit")
    def delete(self, pk):
        """删除单件
        ---
        delete:
          summary: 删除误添加的单件（其下尚无产品包装信息时）
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer, minimum: 0, maximum: 2147483647}}
          responses:
            204: {description: 已删除}
            400: {$ref: '#/components/responses/Error'}
            401: {$ref: '#/components/responses/Error'}
            403: {$ref: '#/components/responses/Error'}
            404: {$ref: '#/components/responses/Error'}
            409: {$ref: '#/components/responses/Error'}
            422: {$ref: '#/components/responses/Error'}
            429: {$ref: '#/components/responses/Error'}
        """
        item = self.owned(QualItem, pk)
        if item is None:
            return self.response_404()
        products.remove_item(g.user, item)
        return current_app.response_class(status=204)


class ProductQueryApi(ApiBase):
    resource_name = "product-query"
    openapi_spec_tag = "耗材产品查询"
    label, page_view = "耗材产品查询", "ConsumableProductQueryView"
    base_permissions = ["can_list"]

    @expose("/", methods=["GET"])
    @api_access("can_list")
    def get_list(self):
        """耗材产品查询
        ---
        get:
          summary: 耗材产品查询（各生产企业已生效、注册证有效的产品；按ID升序翻页）
          description: 与页面“耗材产品查询”相同的结果，仅限持有该菜单的单位角色。
          parameters:
          - {in: query, name: after, schema: {type: integer, minimum: 0, maximum: 2147483647}, description: 上一页的next_after}
          - {in: query, name: limit, schema: {type: integer, minimum: 1, maximum: 200}, description: 每页条数（默认50）}
          - {in: query, name: code, schema: {type: string, maxLength: 27}, description: 27位编码或前缀}
          - {in: query, name: name, schema: {type: string, maxLength: 100}, description: 单件名称（包含）}
          - {in: query, name: enterprise, schema: {type: string, maxLength: 100}, description: 生产企业（包含）}
          - {in: query, name: certificate, schema: {type: string, maxLength: 60}, description: 注册备案号（前缀）}
          responses:
            200: {description: 一页产品, content: {application/json: {schema: {$ref: '#/components/schemas/QueryPage'}}}}
            400: {$ref: '#/components/responses/Error'}
            401: {$ref: '#/components/responses/Error'}
            403: {$ref: '#/components/responses/Error'}
            429: {$ref: '#/components/responses/Error'}
        """
        paging = page_args()
        if paging is None:
            return error(400, MSG_BAD_PAGE)
        after, limit = paging
        filters = product_query.clean_filters(request.args)
        if any(len(v) > 100 for v in filters.values()):
            return error(400, MSG_BAD_FILTER)
        page = product_query.search(filters, after=after, limit=limit)
        rows = []
        for product, unit_name, item_name, cert_no, spec, model, status in page.rows:
            rows.append({"id": product.id, "code": product.code, "item_name": item_name, "spec": spec, "model": model,
                         "enterprise": unit_name, "cert_no": cert_no, "min_unit": product.min_unit,
                         "pack_unit": product.pack_unit, "pack_ratio": product.pack_ratio,
                         "pack_spec": product.pack_spec, "mid_unit": product.mid_unit,
                         "mid_ratio": product.mid_ratio, "mid_spec": product.mid_spec, "national_status": status})
        return self.response(200, items=rows, next_after=page.next_after)


class NationalApi(ApiBase):
    """National reference data (public on the national platform): any valid key may look it up."""

    resource_name = "national"
    openapi_spec_tag = "国家编码查询"
    label = "国家编码查询"
    # no page of its own: FAB's permission sync gets an empty list for this view name
    base_permissions: list[str] = []

    def _page(self, search, filters: dict, schema):
        after = request.args.get("after") or None
        limit = request.args.get("limit") or "20"
        if not limit.isascii() or not limit.isdigit() or not 1 <= int(limit) <= national.MAX_PAGE_SIZE:
            return error(400, MSG_BAD_PAGE)
        if after is not None and len(after) > 60 or any(len(v) > 100 for v in filters.values()):
            return error(400, MSG_BAD_FILTER)
        page = search(filters, after=after, limit=int(limit))
        return self.response(200, items=schema_of(schema).dump(page.rows, many=True), next_after=page.next_after)

    @expose("/certificates", methods=["GET"])
    @api_access(None)
    def certificates(self):
        """注册证
        ---
        get:
          summary: 国家注册证查询（按注册备案号等；按注册备案号翻页）
          parameters:
          - {in: query, name: number, schema: {type: string, maxLength: 60}, description: 注册备案号}
          - {in: query, name: product_name, schema: {type: string, maxLength: 100}, description: 产品名称}
          - {in: query, name: registrant, schema: {type: string, maxLength: 100}, description: 注册人名称}
          - {in: query, name: after, schema: {type: string, maxLength: 60}, description: 上一页的next_after}
          - {in: query, name: limit, schema: {type: integer, minimum: 1, maximum: 100}, description: 每页条数（默认20）}
          responses:
            200: {description: 一页注册证, content: {application/json: {schema: {$ref: '#/components/schemas/NationalCertificatePage'}}}}
            400: {$ref: '#/components/responses/Error'}
            401: {$ref: '#/components/responses/Error'}
            429: {$ref: '#/components/responses/Error'}
        """
        filters = {k: (request.args.get(k) or "").strip() for k in ("number", "product_name", "registrant")}
        return self._page(national.search_certificates, {k: v for k, v in filters.items() if v},
                          schemas.NationalCertificateSchema)

    @expose("/items", methods=["GET"])
    @api_access(None)
    def items(self):
        """单件
        ---
        get:
          summary: 国家单件查询（20位编码或前缀；按编码翻页）
          parameters:
          - {in: query, name: code, schema: {type: string, maxLength: 20}, description: 20位编码或前缀}
          - {in: query, name: name, schema: {type: string, maxLength: 100}, description: 单件名称}
          - {in: query, name: certificate, schema: {type: string, maxLength: 60}, description: 注册备案号}
          - {in: query, name: after, schema: {type: string, maxLength: 60}, description: 上一页的next_after}
          - {in: query, name: limit, schema: {type: integer, minimum: 1, maximum: 100}, description: 每页条数（默认20）}
          responses:
            200: {description: 一页单件, content: {application/json: {schema: {$ref: '#/components/schemas/NationalItemPage'}}}}
            400: {$ref: '#/components/responses/Error'}
            401: {$ref: '#/components/responses/Error'}
            429: {$ref: '#/components/responses/Error'}
        """
        filters = {k: (request.args.get(k) or "").strip() for k in ("code", "name", "certificate")}
        return self._page(national.search_items, {k: v for k, v in filters.items() if v}, schemas.NationalItemSchema)

    @expose("/specs", methods=["GET"])
    @api_access(None)
    def specs(self):
        """规格型号
        ---
        get:
          summary: 国家规格型号查询（27位编码或前缀；按编码翻页）
          parameters:
          - {in: query, name: code, schema: {type: string, maxLength: 27}, description: 27位编码或前缀}
          - {in: query, name: item, schema: {type: string, maxLength: 20}, description: 20位单件编码}
          - {in: query, name: certificate, schema: {type: string, maxLength: 60}, description: 注册备案号}
          - {in: query, name: after, schema: {type: string, maxLength: 60}, description: 上一页的next_after}
          - {in: query, name: limit, schema: {type: integer, minimum: 1, maximum: 100}, description: 每页条数（默认20）}
          responses:
            200: {description: 一页规格型号, content: {application/json: {schema: {$ref: '#/components/schemas/NationalSpecPage'}}}}
            400: {$ref: '#/components/responses/Error'}
            401: {$ref: '#/components/responses/Error'}
            429: {$ref: '#/components/responses/Error'}
        """
        filters = {k: (request.args.get(k) or "").strip() for k in ("code", "item", "certificate")}
        return self._page(national.search_specs, {k: v for k, v in filters.items() if v}, schemas.NationalSpecSchema)




# -- 审核管理 (reviewer accounts) ---------------------------------------------------
REVIEW_SCHEMAS = {"entrustment": schemas.EntrustmentSchema, "certificate": schemas.CertificateSchema,
                  "product": schemas.ProductSchema}
RTYPE_PARAM = {"in": "path", "name": "rtype_key", "required": True, "description": "记录类型",
               "schema": {"type": "string", "enum": ["entrustment", "certificate", "product"]}}
QUEUE_PARAM = {"in": "path", "name": "queue", "required": True, "description": "initial 待初审 / final 待复审",
               "schema": {"type": "string", "enum": ["initial", "final"]}}


class ReviewApi(ApiBase):
    """审核管理 for reviewer accounts (初审员 / 复审员): the queues, a record, and the decision,
    through the same engine (review levels, no self-review, version checks) as the pages."""

    resource_name = "review"
    openapi_spec_tag = "审核管理"
    label, page_view = "审核", "ReviewView"
    base_permissions = ["can_list", "can_show", "can_edit"]

    @staticmethod
    def _rtype(key: str):
        from app.views.review import RECORD_TYPES

        return RECORD_TYPES.get(key)

    def _visible(self, rtype, pk):
        """A record reviewers may see: submitted at least once and not folded into another."""
        from app.services import attachments

        record = db.session.get(rtype.model, pk) if pk < 2**31 else None
        if record is None or record.state == "merged" or not attachments.submitted_once(record):
            return None
        return record

    def _dump(self, rtype_key: str, rows, units: dict):
        out = schema_of(REVIEW_SCHEMAS[rtype_key]).dump(rows, many=True)
        for data, row in zip(out, rows):
            data["change_id"] = None
            data["unit_name"] = units.get(row.unit_id)
        return out

    @expose("/<string:rtype_key>/<string:queue>/", methods=["GET"])
    @api_access("can_list")
    def get_queue(self, rtype_key, queue):
        """待初审 / 待复审
        ---
        get:
          summary: 审核队列（待初审/待复审；按ID升序翻页）
          description: 初审员看待初审，复审员看待复审（与页面相同）。
          parameters:
          - {in: path, name: rtype_key, required: true, schema: {type: string, enum: [entrustment, certificate, product]}, description: 记录类型}
          - {in: path, name: queue, required: true, schema: {type: string, enum: [initial, final]}, description: initial 待初审 / final 待复审}
          - {in: query, name: after, schema: {type: integer, minimum: 0, maximum: 2147483647}, description: 上一页的next_after}
          - {in: query, name: limit, schema: {type: integer, minimum: 1, maximum: 200}, description: 每页条数（默认50）}
          - {in: query, name: unit, schema: {type: string, maxLength: 100}, description: 单位名称（包含）}
          responses:
            200: {description: 一页待审核记录, content: {application/json: {schema: {$ref: '#/components/schemas/ReviewPage'}}}}
            400: {$ref: '#/components/responses/Error'}
            401: {$ref: '#/components/responses/Error'}
            403: {$ref: '#/components/responses/Error'}
            404: {$ref: '#/components/responses/Error'}
            429: {$ref: '#/components/responses/Error'}
        """
        from app.models import Unit
        from app.views.review import QUEUES, _may_see

        rtype = self._rtype(rtype_key)
        if rtype is None or queue not in QUEUES:
            return self.response_404()
        if not _may_see(queue):
            return self.response_403()
        paging = page_args()
        if paging is None:
            return error(400, MSG_BAD_PAGE)
        after, limit = paging
        unit_name = (request.args.get("unit") or "").strip()
        if len(unit_name) > 100:
            return error(400, MSG_BAD_FILTER)
        model = rtype.model
        query = select(model).where(model.state == QUEUES[queue][0])
        if unit_name:
            query = query.join(Unit, Unit.id == model.unit_id).where(Unit.name.contains(unit_name, autoescape=True))
        if after is not None:
            query = query.where(model.id > after)
        rows = list(db.session.scalars(query.order_by(model.id).limit(limit + 1)))
        more = len(rows) > limit
        rows = rows[:limit]
        units = dict(db.session.execute(select(Unit.id, Unit.name).where(
            Unit.id.in_({r.unit_id for r in rows}))).all()) if rows else {}
        return self.response(200, items=self._dump(rtype_key, rows, units), next_after=rows[-1].id if more else None)

    @expose("/<string:rtype_key>/<int:pk>", methods=["GET"])
    @api_access("can_show")
    def get(self, rtype_key, pk):
        """审核详情
        ---
        get:
          summary: 待审核记录详情（提交过的记录）
          parameters:
          - {in: path, name: rtype_key, required: true, schema: {type: string, enum: [entrustment, certificate, product]}, description: 记录类型}
          - {in: path, name: pk, required: true, schema: {type: integer, minimum: 0, maximum: 2147483647}}
          responses:
            200: {description: 记录, content: {application/json: {schema: {$ref: '#/components/schemas/ReviewRecord'}}}}
            401: {$ref: '#/components/responses/Error'}
            403: {$ref: '#/components/responses/Error'}
            404: {$ref: '#/components/responses/Error'}
            429: {$ref: '#/components/responses/Error'}
        """
        rtype = self._rtype(rtype_key)
        record = self._visible(rtype, pk) if rtype is not None else None
        if record is None:
            return self.response_404()
        return self._show(rtype_key, record)

    @expose("/<string:rtype_key>/<int:pk>/decide", methods=["POST"])
    @api_access("can_edit")
    def decide(self, rtype_key, pk):
        """审核
        ---
        post:
          summary: 审核通过/不通过（不通过须填写审核意见；不能审核本单位的记录；version过期时409）
          parameters:
          - {in: path, name: rtype_key, required: true, schema: {type: string, enum: [entrustment, certificate, product]}, description: 记录类型}
          - {in: path, name: pk, required: true, schema: {type: integer, minimum: 0, maximum: 2147483647}}
          requestBody:
            required: true
            content: {application/json: {schema: {$ref: '#/components/schemas/Decision'}}}
          responses:
            200: {description: 审核后的记录, content: {application/json: {schema: {$ref: '#/components/schemas/ReviewRecord'}}}}
            400: {$ref: '#/components/responses/Error'}
            401: {$ref: '#/components/responses/Error'}
            403: {$ref: '#/components/responses/Error'}
            404: {$ref: '#/components/responses/Error'}
            409: {$ref: '#/components/responses/Error'}
            422: {$ref: '#/components/responses/Error'}
            429: {$ref: '#/components/responses/Error'}
        """
        rtype = self._rtype(rtype_key)
        record = self._visible(rtype, pk) if rtype is not None else None
        if record is None:
            return self.response_404()
        body = self.body()
        if body is None:
            return error(400, MSG_BAD_JSON)
        action, opinion, version = body.get("action"), body.get("opinion"), body.get("version")
        errors = {}
        if action not in ("approve", "reject"):
            errors["action"] = MSG_ACTION
        if opinion is not None and (not isinstance(opinion, str) or len(opinion) > 2000):
            errors["opinion"] = MSG_OPINION
        if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
            errors["version"] = MSG_VERSION
        if errors:
            raise ValidationFailed(errors)
        if version is not None and version != record.version:
            return error(409, MSG_STALE, current_version=record.version)
        engine.apply(record, action, g.user, opinion=opinion, expected_version=version)
        return self._show(rtype_key, self._visible(rtype, pk))

    @expose("/<string:rtype_key>/<string:queue>/batch-approve", methods=["POST"])
    @api_access("can_edit")
    def batch_approve(self, rtype_key, queue):
        """批量审核通过
        ---
        post:
          summary: 批量审核通过（每条一个事务；不能审核本单位的记录；返回成功的ID和失败原因）
          parameters:
          - {in: path, name: rtype_key, required: true, schema: {type: string, enum: [entrustment, certificate, product]}, description: 记录类型}
          - {in: path, name: queue, required: true, schema: {type: string, enum: [initial, final]}, description: initial 待初审 / final 待复审}
          requestBody:
            required: true
            content: {application/json: {schema: {$ref: '#/components/schemas/Batch'}}}
          responses:
            200: {description: 结果, content: {application/json: {schema: {$ref: '#/components/schemas/BatchResult'}}}}
            400: {$ref: '#/components/responses/Error'}
            401: {$ref: '#/components/responses/Error'}
            403: {$ref: '#/components/responses/Error'}
            404: {$ref: '#/components/responses/Error'}
            409: {$ref: '#/components/responses/Error'}
            422: {$ref: '#/components/responses/Error'}
            429: {$ref: '#/components/responses/Error'}
        """
        from app.views.review import QUEUES, _may_see

        rtype = self._rtype(rtype_key)
        if rtype is None or queue not in QUEUES:
            return self.response_404()
        if not _may_see(queue):
            return self.response_403()
        body = self.body()
        ids = body.get("ids") if body else None
        if not isinstance(ids, list) or not 1 <= len(ids) <= BATCH_MAX or not all(
                isinstance(i, int) and not isinstance(i, bool) and 0 <= i < 2**31 for i in ids):
            return error(422, MSG_BATCH, errors={"ids": MSG_BATCH})
        records = [self._visible(rtype, pk) for pk in dict.fromkeys(ids)]
        if any(r is None for r in records):
            return self.response_404()
        result = engine.batch(records, "approve", g.user)
        return self.response(200, ok=result.ok, failed=[{"id": i, "message": m} for i, m in result.failed])

    def _show(self, rtype_key: str, record):
        from app.models import Unit

        unit = db.session.get(Unit, record.unit_id)
        return reply(200, self._dump(rtype_key, [record], {unit.id: unit.name})[0])


RESOURCES = (EntrustmentApi, CertificateApi, ItemApi, ProductApi, ProductQueryApi, NationalApi, ReviewApi)
