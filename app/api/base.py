"""The integration API's base: FAB's ``BaseApi`` with one credential (FAB's API keys),
the pages' permissions, JSON errors and idempotent writes.

Every route is declared with :func:`api_access` naming the *page* view and permission
it mirrors (``("ConsumableProductView", "can_edit")``): the caller's role answers the
same question for the API as for the page, through FAB's ``has_access``.  The routes
call the same services and workflow engine as the pages (README, API).
"""
from __future__ import annotations

import functools
import hashlib
import json
from typing import Any, Callable

from flask import current_app, g, request
from flask_appbuilder.api import BaseApi
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from app.extensions import db
from app.i18n import N_
from app.models import ApiIdempotency
from app.services.errors import DomainError, ValidationFailed
from app.tenancy import current_unit_id
from app.workflow.engine import WorkflowError

MSG_NO_KEY = N_("缺少API密钥：请在请求头中携带 Authorization: Bearer <API密钥>")
MSG_BAD_KEY = N_("API密钥无效、已过期或已吊销，或其所属账号、单位已停用")
MSG_FORBIDDEN = N_("您的角色没有该功能的权限")
MSG_NOT_FOUND = N_("记录不存在")
MSG_STALE = N_("记录已被他人修改，请获取最新版本后重试")
MSG_BAD_JSON = N_("请求体应为JSON对象")
MSG_IDEMPOTENCY_REUSED = N_("该Idempotency-Key已用于另一个请求")
MSG_IDEMPOTENCY_BUSY = N_("相同Idempotency-Key的请求正在处理，请稍后重试")
MSG_IDEMPOTENCY_BAD = N_("Idempotency-Key应为1至128个可见ASCII字符")


def _text(message: str) -> str:
    from app.i18n import translate

    return translate(message) if message else message


def error(code: int, message: str, **extra: Any):
    """Every error of the API has this shape: ``{"message": …}`` plus, where it applies,
    ``errors`` (field → message) or ``current_version``."""
    return BaseApi.response(code, message=_text(message), **extra)


PAGE_VIEW = object()  # api_access: the resource's own page view (``ApiBase.page_view``)


def reply(code: int, data: Any):
    """A JSON reply of any shape (FAB's ``response(code, **kw)`` cannot carry a ``code`` key)."""
    from flask import jsonify, make_response

    resp = make_response(jsonify(data), code)
    resp.headers["Content-Type"] = "application/json; charset=utf-8"
    return resp


def api_access(permission: str | None, view_name: Any = PAGE_VIEW):
    """An API key is required (401 without one or with one refused); then the caller's role
    must hold ``permission`` on the page view (403), as the page requires.
    ``permission=None``: any valid key (national reference data)."""

    def decorate(f: Callable):
        @functools.wraps(f)
        def wrapper(self, *args, **kwargs):
            sm = current_app.appbuilder.sm
            view = self.page_view if view_name is PAGE_VIEW else view_name
            raw = sm.extract_api_key_from_request()
            if raw is None:
                return error(401, MSG_NO_KEY)
            if sm.validate_api_key(raw) is None:
                return error(401, MSG_BAD_KEY)
            if permission is not None and not sm.has_access(permission, view):
                return error(403, MSG_FORBIDDEN)
            try:
                return f(self, *args, **kwargs)
            except ValidationFailed as exc:
                db.session.rollback()
                return error(422, exc.message, errors={k: _text(v) for k, v in exc.errors.items()})
            except (DomainError, WorkflowError) as exc:
                db.session.rollback()
                if exc.message in ("记录已被他人修改，请刷新后重试",):
                    return error(409, MSG_STALE)
                return error(422, exc.message)
            except StaleDataError:
                db.session.rollback()
                return error(409, MSG_STALE)

        wrapper._api_access = (view_name, permission)
        return wrapper

    return decorate


class ApiBase(BaseApi):
    """FAB ``BaseApi`` of one resource.  ``class_permission_name`` and ``base_permissions``
    equal the page view's (FAB's permission sync prunes a view's permissions to the last
    list it is given, so they must not differ); access is checked by :func:`api_access`."""

    version = "v1"
    allow_browser_login = False
    csrf_exempt = True
    page_view = ""  # the page view whose permissions the API mirrors
    label = ""  # 委托授权 … (the OpenAPI summaries)
    schema_name = ""  # the OpenAPI schema of one record
    #: extra query parameters of ``get_list`` (OpenAPI)
    list_parameters: tuple[dict, ...] = ()
    #: extra replies of ``get_list`` (OpenAPI)
    list_responses: dict = {}

    def __init__(self):
        if self.page_view:
            self.class_permission_name = self.page_view
        super().__init__()

    def operation_helper(self, path=None, operations=None, methods=None, func=None, **kwargs):
        """FAB's docstring operations, with this resource's label and schema filled in
        (shared routes are written once) and the API key as the one security scheme."""
        import yaml
        from apispec import yaml_utils

        doc = (func.__doc__ or "").replace("__LABEL__", self.label).replace("__SCHEMA__", self.schema_name)
        spec = yaml.safe_load(str(yaml_utils.load_operations_from_docstring(doc))) or {}
        for method in methods:
            operation = spec.get(method.lower(), {})
            if func.__name__ == "get_list" and self.list_parameters:
                operation["parameters"] = list(operation.get("parameters", [])) + list(self.list_parameters)
            if func.__name__ == "get_list" and self.list_responses:
                operation.setdefault("responses", {}).update(self.list_responses)
            access = getattr(func, "_api_access", None)
            if access is not None:
                operation["security"] = [{"api_key": []}]
            operations[method.lower()] = operation

    def response_401(self):
        return error(401, MSG_BAD_KEY)

    def response_403(self):
        return error(403, MSG_FORBIDDEN)

    def response_404(self):
        return error(404, MSG_NOT_FOUND)

    # -- loading ------------------------------------------------------------
    def owned(self, model, pk):
        """The caller's unit's record, or None (another unit's id answers like a missing one)."""
        return db.session.scalar(select(model).where(model.id == pk, model.unit_id == current_unit_id()))

    @staticmethod
    def body() -> dict | None:
        data = request.get_json(silent=True)
        return data if isinstance(data, dict) else None


# -- paging -------------------------------------------------------------------
def page_args() -> tuple[int | None, int] | None:
    """``after`` (an id) and ``limit`` of a keyset page, or None when they are not integers."""
    cfg = current_app.config
    after, limit = request.args.get("after"), request.args.get("limit")
    try:
        after_id = int(after) if after not in (None, "") else None
        size = int(limit) if limit not in (None, "") else cfg["API_PAGE_SIZE"]
    except ValueError:
        return None
    if size < 1 or size > cfg["API_PAGE_SIZE_MAX"] or (after_id is not None and not 0 <= after_id < 2**31):
        return None
    return after_id, size


# -- idempotency --------------------------------------------------------------
def _request_hash() -> str:
    """The request's content: JSON as parsed, a form by its fields and its files' SHA-256 (a
    retried multipart request has another boundary but the same content)."""
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        files = {}
        for name, f in request.files.items(multi=True):
            data = f.read()
            f.seek(0)
            files.setdefault(str(name), []).append([f.filename, hashlib.sha256(data).hexdigest()])
        # a part without a name arrives under the key None: every key as text
        content = {"form": {str(k): request.form.getlist(k) for k in request.form}, "files": files}
    else:
        content = request.get_json(silent=True)
    payload = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{payload}".encode()).hexdigest()


def idempotent(f: Callable):
    """``Idempotency-Key`` on creating and submitting: the first call's reply is stored and
    every retry with the same key and the same request gets it again, without running the
    call twice; the same key with another request is refused (422).  The key is claimed
    (committed) before the call runs, so two racing retries cannot both run it (409)."""

    @functools.wraps(f)
    def wrapper(self, *args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return f(self, *args, **kwargs)
        if not 1 <= len(key) <= 128 or not key.isascii() or not key.isprintable():
            return error(400, MSG_IDEMPOTENCY_BAD)
        user_id = g.user.id
        digest = _request_hash()
        found = db.session.scalar(select(ApiIdempotency).where(ApiIdempotency.user_id == user_id,
                                                               ApiIdempotency.key == key))
        if found is not None:
            return _replay(found, digest)
        claim = ApiIdempotency(user_id=user_id, key=key, method=request.method, path=request.path[:255],
                               request_hash=digest)
        db.session.add(claim)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            found = db.session.scalar(select(ApiIdempotency).where(ApiIdempotency.user_id == user_id,
                                                                   ApiIdempotency.key == key))
            return _replay(found, digest) if found is not None else error(409, MSG_IDEMPOTENCY_BUSY)
        claim_id = claim.id
        try:
            resp = f(self, *args, **kwargs)
        except Exception:
            db.session.rollback()
            _release(claim_id)
            raise
        if 200 <= resp.status_code < 300:
            db.session.rollback()  # nothing pending: the call committed its own work
            row = db.session.get(ApiIdempotency, claim_id)
            row.status = resp.status_code
            row.body = resp.get_data(as_text=True)
            db.session.commit()
        else:  # nothing was done: the key may be used again once the request is fixed
            _release(claim_id)
        return resp

    return wrapper


def _release(claim_id: int) -> None:
    db.session.rollback()
    row = db.session.get(ApiIdempotency, claim_id)
    if row is not None:
        db.session.delete(row)
        db.session.commit()


def _replay(found: ApiIdempotency, digest: str):
    if found.request_hash != digest:
        return error(422, MSG_IDEMPOTENCY_REUSED)
    if found.status is None:
        return error(409, MSG_IDEMPOTENCY_BUSY)
    resp = current_app.response_class(found.body, status=found.status, mimetype="application/json")
    resp.headers["Idempotent-Replayed"] = "true"
    return resp
