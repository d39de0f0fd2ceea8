"""National code data pages: platform admin browse / import, 数据字典, the reusable
pickers, and 注册证查询 for units.

Everything here is thin: searches live in ``app.services.national``, the
import in ``app.services.national_import``, the dictionary rules in
``app.services.dictionary``.  National data is platform-wide reference data,
not unit-owned, so the pages are plain FAB ``BaseView``s guarded by
``@has_access``; records are addressed by their natural keys (注册备案号,
20/27-character code) and lists page by keyset (no COUNT(*), no OFFSET).

Reusing a picker from another page: call :func:`render_picker` from a route of
that page's own view (so its own permission and its own scope apply), or link
to :class:`NationalPickerView` with ``next`` (a local URL the choice is POSTed
to) and ``field`` (the form field name that carries the chosen keys).  The
receiving page must validate the chosen keys again: a picker only helps.
"""
from __future__ import annotations

import io
from typing import Any, Sequence

from flask import abort, current_app, g, redirect, request, send_file, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access, permission_name
from flask_babel import gettext, lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import HiddenField, StringField

from app.excel import XLSX_MIMETYPE
from app.extensions import db
from app.i18n import Msg, N_
from app.models.dictionary import DICTIONARY_CATEGORIES, MEASURE_UNIT
from app import jobs
from app.models.national import ORIGIN_LABELS, NationalRelease
from app.services import dictionary, national, national_import
from app.services.errors import DomainError, ValidationFailed
from app.services import db_limits
from app.urls import local_path
from app.views.forms import SafeForm, notify

ADMIN_CATEGORY = "平台管理"

PICKERS = {
    # kind: (search, filter names, returned key attribute, default field, title)
    "certificates": (national.search_certificates, national.CERTIFICATE_FILTERS, "number", "cert_nos", "选择注册证"),
    "items": (national.search_items, national.ITEM_FILTERS, "code", "item_codes", "选择单件"),
    "specs": (national.search_specs, national.SPEC_FILTERS, "code", "spec_codes", "选择规格型号"),
}


class UploadForm(SafeForm):
    file = FileField(_l("导入文件"))
    version = StringField(_l("版本号"))
    published_on = StringField(_l("发布日期"))


class DictionaryForm(SafeForm):
    category = HiddenField()
    name = StringField(_l("单位名称"))
    new_name = StringField(_l("新名称"))


def safe_next(url: str | None) -> str | None:
    """A same-site path (no scheme, no host, no ``//``), else None."""
    return local_path(url)


def upload_limit() -> int:
    """Web uploads are bounded by both the import limit and the request limit."""
    return min(national_import.max_bytes(), current_app.config.get("MAX_CONTENT_LENGTH") or 1 << 62)


def _page_args() -> dict[str, str | None]:
    return {"after": request.args.get("after"), "before": request.args.get("before")}


def render_picker(view: BaseView, kind: str, *, submit_url: str, field: str | None = None,
                  restrict: Sequence | None = None, fixed: dict[str, str] | None = None,
                  title: str | None = None, back_url: str | None = None, multiple: bool = True,
                  hint: str | None = None, extra: dict[str, Any] | None = None):
    """The search-and-select page over national data, for any view's own route.

    ``restrict`` (SQL conditions) and ``fixed`` (filters the user cannot change,
    e.g. ``{"origin": "imported"}`` for 境外代理) are applied on the server.
    The chosen keys (注册备案号 or codes) are POSTed to ``submit_url`` as
    ``field`` with the CSRF token.
    """
    search, names, key_attr, default_field, default_title = PICKERS[kind]
    args = request.args
    filters = national.clean_filters(args, names)
    fixed = dict(fixed or {})
    filters.update(fixed)
    selected = list(dict.fromkeys(v.strip() for v in args.getlist("selected") if v.strip()))[:500]
    # 已停用 rows are never offered for new records (they stay visible in the browse lists)
    page = search(filters, restrict=restrict, extra=extra, active_only=True, **_page_args())
    return view.render_template(
        "national/picker.html", kind=kind, page=page, filters=filters, fixed=fixed, key_attr=key_attr,
        field=field or default_field, submit_url=submit_url, selected=selected, multiple=multiple,
        title=title or default_title, back_url=back_url, hint=hint, extra=extra or {},
        origin_labels=ORIGIN_LABELS, validity_choices=national.VALIDITY_CHOICES, form=FlaskForm(),
    )


# -- platform admin: browse ---------------------------------------------------------
class CertificateBrowseView(BaseView):
    """Search and show national certificates; the subclasses differ in route, menu and permission."""

    default_view = "list"
    mode = "admin"
    list_title = "国家注册证数据"

    @expose("/")
    @has_access
    def list(self):
        page = national.search_certificates(request.args, **_page_args())
        return self.render_template("national/certificates.html", page=page, filters=page.filters,
                                    origin_labels=ORIGIN_LABELS, validity_choices=national.VALIDITY_CHOICES,
                                    mode=self.mode, title=self.list_title)

    @expose("/show/<path:number>")
    @has_access
    def show(self, number):
        cert = national.certificate(number)
        if cert is None:
            abort(404)
        items = national.search_items({"certificate": cert.number}, **_page_args())
        return self.render_template("national/certificate_show.html", cert=cert, items=items, mode=self.mode,
                                    title="注册证详情")


class NationalCertificateAdminView(CertificateBrowseView):
    route_base = "/admin/national/certificates"


class NationalItemAdminView(BaseView):
    route_base = "/admin/national/items"
    default_view = "list"

    @expose("/")
    @has_access
    def list(self):
        page = national.search_items(request.args, **_page_args())
        return self.render_template("national/items.html", page=page, filters=page.filters, title="国家单件数据")

    @expose("/show/<string:code>")
    @has_access
    def show(self, code):
        item = national.item(code)
        if item is None:
            abort(404)
        specs = national.search_specs({"item": item.code}, **_page_args())
        return self.render_template("national/item_show.html", item=item, specs=specs, title="单件详情")


class NationalSpecAdminView(BaseView):
    route_base = "/admin/national/specs"
    default_view = "list"

    @expose("/")
    @has_access
    def list(self):
        page = national.search_specs(request.args, **_page_args())
        return self.render_template("national/specs.html", page=page, filters=page.filters, title="国家规格型号数据")


# -- platform admin: import ------------------------------------------------------------
class NationalImportView(BaseView):
    route_base = "/admin/national/import"
    default_view = "list"

    def _page(self, form, result=None, log=None, error=None, field_errors=None):
        return self.render_template(
            "national/import.html", form=form, result=result, log=log, error=error,
            field_errors=field_errors or {}, errors=national_import.report_rows(log) if log else [],
            imports=national_import.recent_imports(), kinds=national_import.KINDS,
            upload_jobs=national_import.recent_upload_jobs(),
            limit_mb=upload_limit() // (1024 * 1024), title="国家数据导入")

    @expose("/")
    @has_access
    def list(self):
        return self._page(UploadForm())

    def create_blueprint(self, appbuilder, *args, **kwargs):
        blueprint = super().create_blueprint(appbuilder, *args, **kwargs)
        # an upload over MAX_CONTENT_LENGTH fails while CSRFProtect reads the form: say why
        blueprint.register_error_handler(RequestEntityTooLarge, self._too_large)
        return blueprint

    def _too_large(self, exc):
        if not hasattr(g, "user"):  # CSRFProtect parsed the form before FAB set g.user
            from flask_login import current_user

            g.user = current_user
        if not self.appbuilder.sm.has_access("can_add", self.class_permission_name):
            return "Request Entity Too Large", 413
        return self._page(UploadForm(formdata=None),
                          error=Msg("文件过大，网页上传的文件不能超过%(mb)sMB；更大的文件请使用命令行导入",
                                    mb=upload_limit() // (1024 * 1024))), 413

    @expose("/upload", methods=["POST"])
    @has_access
    @permission_name("add")
    def upload(self):
        """The file is kept and imported by a background job (``app.jobs``): a large release takes
        minutes, so the page goes to the job's progress page, which the admin may leave and reopen."""
        form = UploadForm()
        if not form.validate_on_submit():
            return self._page(form, error=N_("页面已过期或请求缺少安全令牌（CSRF），请刷新页面后重试。")), 400
        upload = form.file.data
        if not upload or not upload.filename:
            return self._page(form, error=N_("请选择要导入的 .xlsx 或 .csv 文件"))
        db_limits.allow()  # imports have their own statement budget
        try:
            published = national_import.parse_date(form.published_on.data or "", "发布日期")
        except national_import.RowRejected as exc:
            return self._page(form, field_errors={"published_on": exc.reason})
        try:
            job_id = national_import.queue_upload(upload.stream, upload.filename, g.user,
                                                  version=form.version.data, published_on=published)
        except DomainError as exc:
            db.session.rollback()
            field = "version" if "版本号" in exc.message else None
            if field:
                return self._page(form, field_errors={field: exc.message})
            return self._page(UploadForm(formdata=None), error=exc.message)
        info = jobs.status(job_id)
        if info and info.status == "done":  # run at once (no queue configured, or a small file)
            result = info.result or {}
            notify(gettext(N_("导入完成")), "success")
            return redirect(url_for("NationalImportView.result", token=result.get("token", "")))
        if info and info.status == "failed":
            return self._page(UploadForm(formdata=None), error=info.error,
                              log=national_import.import_of_job(job_id))
        return redirect(url_for("NationalImportView.job", job_id=job_id))

    @expose("/job/<string:job_id>")
    @has_access
    @permission_name("list")
    def job(self, job_id):
        """Progress of an upload's background job: refreshes itself until the job ends."""
        info = jobs.status(job_id)
        if info is None or info.name != jobs.dotted(national_import.run_uploaded_import):
            abort(404)
        return self.render_template("national/import_job.html", job=info,
                                    log=national_import.import_of_job(job_id), title="导入进度")

    @expose("/result/<string:token>")
    @has_access
    @permission_name("list")
    def result(self, token):
        log = national_import.find_import(token)
        if log is None:
            abort(404)
        return self._page(UploadForm(formdata=None), log=log)

    @expose("/report/<string:token>.xlsx")
    @has_access
    @permission_name("list")
    def report(self, token):
        log = national_import.find_import(token)
        if log is None or not log.errors_json:
            abort(404)
        return send_file(io.BytesIO(national_import.error_report(log)), mimetype=XLSX_MIMETYPE,
                         as_attachment=True, download_name=f"导入错误报告-{log.created_at:%Y%m%d%H%M%S}.xlsx")

    @expose("/template.xlsx")
    @has_access
    @permission_name("list")
    def template(self):
        return send_file(io.BytesIO(national_import.template_workbook()), mimetype=XLSX_MIMETYPE,
                         as_attachment=True, download_name="国家医保耗材编码数据导入模板.xlsx")

    @expose("/template/<string:kind>.csv")
    @has_access
    @permission_name("list")
    def template_csv(self, kind):
        found = national_import.KINDS_BY_KEY.get(kind)
        if found is None:
            abort(404)
        return send_file(io.BytesIO(national_import.template_csv(kind)), mimetype="text/csv",
                         as_attachment=True, download_name=f"{found.label}导入模板.csv")


# -- platform admin: releases ------------------------------------------------------------
class NationalReleaseView(BaseView):
    """国家数据版本: every release with what its imports added, changed, deactivated and transferred."""

    route_base = "/admin/national/releases"
    default_view = "list"

    @expose("/")
    @has_access
    def list(self):
        return self.render_template("national/releases.html", releases=national_import.releases(),
                                    title="国家数据版本")

    @expose("/<int:pk>")
    @has_access
    @permission_name("list")
    def show(self, pk):
        release = db.session.get(NationalRelease, pk)
        if release is None:
            abort(404)
        what = request.args.get("what", "added")
        what = what if what in national_import.RELEASE_VIEWS else "added"
        kind = request.args.get("kind", "spec")
        kind = kind if kind in national_import.RELEASE_KINDS else "spec"
        rows, next_after = national_import.release_rows(release, what, kind, after=request.args.get("after"))
        return self.render_template("national/release_show.html", release=release, what=what, kind=kind,
                                    rows=rows, next_after=next_after, views=national_import.RELEASE_VIEWS,
                                    kinds={"spec": "规格型号", "item": "单件", "certificate": "注册证"},
                                    title="国家数据版本")


# -- platform admin: 数据字典 --------------------------------------------------------------
class DictionaryView(BaseView):
    route_base = "/admin/dictionary"
    default_view = "list"

    def _category(self) -> str:
        category = request.values.get("category") or MEASURE_UNIT
        if category not in DICTIONARY_CATEGORIES:
            abort(404)
        return category

    def _page(self, category, form=None, status=200):
        return self.render_template(
            "national/dictionary.html", category=category, categories=DICTIONARY_CATEGORIES,
            entries=dictionary.entries(category), form=form or DictionaryForm(formdata=None),
            action_form=DictionaryForm(formdata=None), title="数据字典"), status

    @expose("/")
    @has_access
    def list(self):
        return self._page(self._category())

    def _post(self, verb, done: str):
        category = self._category()
        form = DictionaryForm()
        if not form.validate_on_submit():
            abort(400)
        try:
            verb(category, form)
        except ValidationFailed as exc:
            db.session.rollback()
            for name, message in exc.errors.items():
                getattr(form, name, form.name).errors = [message]
            return self._page(category, form, 200)
        except DomainError as exc:
            db.session.rollback()
            notify(gettext(exc.message), "danger")
        else:
            notify(gettext(done), "success")
        return redirect(url_for("DictionaryView.list", category=category))

    @expose("/add", methods=["POST"])
    @has_access
    def add(self):
        return self._post(lambda c, f: dictionary.add(c, f.name.data, g.user), N_("已新增"))

    @expose("/rename", methods=["POST"])
    @has_access
    @permission_name("edit")
    def rename(self):
        return self._post(lambda c, f: dictionary.rename(c, f.name.data, f.new_name.data, g.user), N_("已修改名称"))

    @expose("/disable", methods=["POST"])
    @has_access
    @permission_name("edit")
    def disable(self):
        return self._post(lambda c, f: dictionary.set_active(c, f.name.data, False, g.user), N_("已停用"))

    @expose("/enable", methods=["POST"])
    @has_access
    @permission_name("edit")
    def enable(self):
        return self._post(lambda c, f: dictionary.set_active(c, f.name.data, True, g.user), N_("已启用"))

    @expose("/delete", methods=["POST"])
    @has_access
    def delete(self):
        return self._post(lambda c, f: dictionary.delete(c, f.name.data, g.user), N_("已删除"))


# -- pickers -----------------------------------------------------------------------------
class NationalPickerView(BaseView):
    """Stand-alone pickers: ``/national/picker/<kind>?next=/local/url&field=cert_nos``.

    Later pages either link here (their menu bundle then also grants this
    view's ``can_certificates`` / ``can_items`` / ``can_specs``) or call
    :func:`render_picker` from their own route.
    """

    route_base = "/national/picker"
    default_view = "certificates"

    def _render(self, kind):
        submit_url = safe_next(request.args.get("next"))
        if submit_url is None:
            abort(400)
        field = (request.args.get("field") or "").strip()
        if field and not field.replace("_", "").isalnum():
            abort(400)
        fixed = {}
        if request.args.get("lock_origin") in ORIGIN_LABELS:
            fixed["origin"] = request.args["lock_origin"]
        extra = {"next": submit_url}
        if field:
            extra["field"] = field
        if fixed.get("origin"):
            extra["lock_origin"] = fixed["origin"]
        return render_picker(self, kind, submit_url=submit_url, field=field or None, fixed=fixed,
                             back_url=safe_next(request.args.get("back")) or submit_url,
                             multiple=request.args.get("single") != "1", extra=extra)

    @expose("/certificates")
    @has_access
    def certificates(self):
        return self._render("certificates")

    @expose("/items")
    @has_access
    def items(self):
        return self._render("items")

    @expose("/specs")
    @has_access
    def specs(self):
        return self._render("specs")


# -- 注册证查询 (units) ------------------------------------------------------------------------
class CertificateQueryView(CertificateBrowseView):
    """耗材查询 → 注册证查询: read-only search for the unit roles whose ceiling has it."""

    route_base = "/procurement/certificate-query"
    mode = "query"
    list_title = "注册证查询"


def register(appbuilder) -> None:
    for view, name, icon in (
        (NationalCertificateAdminView, "国家注册证数据", "fa-id-card"),
        (NationalItemAdminView, "国家单件数据", "fa-cube"),
        (NationalSpecAdminView, "国家规格型号数据", "fa-cubes"),
        (NationalImportView, "国家数据导入", "fa-upload"),
        (NationalReleaseView, "国家数据版本", "fa-history"),
        (DictionaryView, "数据字典", "fa-book"),
    ):
        appbuilder.add_view(view, name, icon=icon, category=ADMIN_CATEGORY, category_icon="fa-cogs")
    appbuilder.add_view_no_menu(NationalPickerView())
    appbuilder.add_view_no_menu(CertificateQueryView())
