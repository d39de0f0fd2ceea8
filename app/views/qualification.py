"""耗材统一资质管理: 耗材委托授权列表 and 耗材注册证列表 (unit side, thin)."""
from __future__ import annotations

import datetime as dt

from flask import abort, g, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access, permission_name

from app.models import ENTRUSTMENT_KINDS, Entrustment, QualCertificate
from app.models.national import ORIGIN_IMPORTED, NationalCertificate
from app.services import chain, expiry, national, qualification as q
from app.services.errors import ValidationFailed
from app.tenancy import current_unit_id
from app.i18n import Msg, N_
from app.views.forms import EmptyForm, apply_post, notify
from app.views.workflow import WorkflowModelView, removable_ids
from app.workflow import engine


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((value or "").strip())
    except ValueError:
        return None


def _upload(name: str):
    f = request.files.get(name)
    if f is None or not f.filename:
        return None
    return f.filename, f.read()


def register_template_helpers(app) -> None:
    """已过期 / N天后到期 marks on every list, picker and review page (qualification/_macros.html)."""
    from app.services import product_import

    app.jinja_env.globals.update(
        days_left=chain.days_left, expiry_soon_days=expiry.SOON_DAYS,
        product_import_limits=lambda: (product_import.max_bytes() // (1024 * 1024), product_import.max_rows()))


class ConsumableEntrustmentView(WorkflowModelView):
    datamodel = SQLAInterface(Entrustment)
    route_base = "/procurement/entrustments"
    record_type = q.ENTRUSTMENT
    list_template, list_title = "qualification/entrustments.html", "耗材委托授权列表"
    show_template, show_title = "qualification/entrustment_show.html", "委托授权详情"

    def list_context(self, rows) -> dict:
        return {"expiring": expiry.expiring(current_unit_id())}

    def show_context(self, record) -> dict:
        return {"files": q.files_by_slot(record), "slot_labels": q.SLOT_LABELS,
                "certs": [national.certificate(n) or n for n in record.cert_numbers]}

    def _form(self, record=None, errors=None, status=200, kept=None):
        data = request.form if request.method == "POST" else None
        return self.render_template(
            "qualification/entrustment_form.html", record=record, data=data, errors=errors or {}, kept=kept or {},
            kinds=ENTRUSTMENT_KINDS, files=q.files_by_slot(record) if record else {},
            certs=[national.certificate(n) or n for n in (record.cert_numbers if record else [])],
            form=EmptyForm(), title="编辑委托授权" if record else "新增委托授权"), status

    def _save(self, record):
        data = q.EntrustmentInput(
            kind=request.form.get("kind", ""), principal_name=request.form.get("principal_name", ""),
            valid_from=_date(request.form.get("valid_from")), valid_to=_date(request.form.get("valid_to")),
            cert_nos=request.form.getlist("cert_nos") if record is None else (
                [n for n in record.cert_numbers if n not in request.form.getlist("remove_cert")]),
            uploads={slot: up for slot in ("proof", "letter_en", "letter_zh") if (up := _upload(slot))},
            zh_same_as_en=request.form.get("zh_same_as_en") == "1",
            kept={slot: request.form[f"kept_{slot}"] for slot in ("proof", "letter_en", "letter_zh")
                  if request.form.get(f"kept_{slot}")},
        )
        action = request.form.get("action", "save")
        saved, kept = [], {}

        def save():
            try:
                saved.append(q.save_entrustment(g.user, record, data, submit=(action == "submit")))
            except ValidationFailed as exc:
                kept.update(getattr(exc, "kept", {}))  # valid files need not be chosen again
                raise

        if action == "link":  # 关联注册证: saved as it stands, then the picker
            message = (N_("已保存为待提交的委托授权草稿；选择注册证后请在编辑页保存或提交，不需要时可点击“放弃新增”或在列表中删除")
                       if record is None else N_("保存成功"))
        else:
            message = N_("已提交，等待审核") if action == "submit" else N_("保存成功")
        done, errors = apply_post(save, message, url_for("ConsumableEntrustmentView.list"))
        if done is None:
            return self._form(record, errors, 200, kept=kept)
        if action == "link":
            return redirect(url_for("ConsumableEntrustmentView.link", pk=saved[0].id, new=1 if record is None else None))
        return done

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        if request.method == "POST":
            if not EmptyForm().validate_on_submit():
                abort(400)
            return self._save(None)
        return self._form()

    @expose("/edit/<int:pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        record = self.get_owned_or_404(pk)
        refused = self.refuse_unless_editable(record)
        if refused:
            return refused
        if request.method == "POST":
            if not EmptyForm().validate_on_submit():
                abort(400)
            return self._save(record)
        return self._form(record)

    @expose("/link/<int:pk>", methods=["GET", "POST"])
    @has_access
    @permission_name("edit")
    def link(self, pk):
        """关联注册证: the national certificate picker; 确定 adds the ticked ones."""
        record = self.get_owned_or_404(pk)
        if record.state not in engine.EDITABLE:
            abort(404)
        if request.method == "POST":
            chosen = request.form.getlist("cert_nos")
            data = q.EntrustmentInput(kind=record.kind, principal_name=record.principal_name,
                                      valid_from=record.valid_from, valid_to=record.valid_to,
                                      cert_nos=record.cert_numbers + chosen)
            done, errors = apply_post(lambda: q.save_entrustment(g.user, record, data),
                                      Msg("已关联%(n)s个注册证", n=len(chosen)),
                                      url_for("ConsumableEntrustmentView.edit", pk=record.id))
            if done:
                return done
            for message in errors.values():  # the picker has no fields of its own: say why above it
                notify(message, "danger")
        agent = record.kind == "agent"  # 境外代理: imported certificates only
        page = national.search_certificates(
            request.args, after=request.args.get("after"), before=request.args.get("before"),
            restrict=[NationalCertificate.origin == ORIGIN_IMPORTED] if agent else None)
        filters = page.filters
        fresh = request.args.get("new") == "1" and record.id in removable_ids(self.rtype_key, [record])
        return self.render_template("qualification/cert_picker.html", record=record, page=page,
                                    filters=filters, form=EmptyForm(), forced_imported=record.kind == "agent",
                                    fresh=fresh, title="选择注册证")


class ConsumableCertificateView(WorkflowModelView):
    datamodel = SQLAInterface(QualCertificate)
    route_base = "/procurement/certificates"
    record_type = q.CERTIFICATE
    list_template, list_title = "qualification/certificates.html", "耗材注册证列表"
    show_template, show_title = "qualification/certificate_show.html", "注册证详情"

    def list_context(self, rows) -> dict:
        return {"nationals": national.certificates([r.cert_no for r in rows]),
                "reminders": national.certificate_reminders(r.cert_no for r in rows),
                "expiring": expiry.expiring(current_unit_id())}

    def show_context(self, record) -> dict:
        return {"national": national.certificate(record.cert_no), "files": q.files_by_slot(record),
                "slot_labels": q.SLOT_LABELS}

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        """新增: choose among the national certificates this unit may maintain. With one chosen,
        确定 goes straight on to its 编辑 page ("维护好注册证信息，点击保存或者提交"); with several,
        back to the list, where each new draft has its 编辑 button."""
        errors = {}
        if request.method == "POST":
            chosen, created = request.form.getlist("cert_nos"), []
            single = len({n.strip() for n in chosen if n and n.strip()}) == 1
            done, errors = apply_post(
                lambda: created.extend(q.add_certificates(g.user, chosen)),
                "已添加注册证，请维护注册证信息后点击保存或者提交" if single else "已添加注册证，请编辑补充材料后提交",
                url_for("ConsumableCertificateView.list"))
            if done and len(created) == 1:
                return redirect(url_for("ConsumableCertificateView.edit", pk=created[0].id))
            if done:
                return done
        filters = {k: (request.args.get(k) or "")[:60] for k in ("number", "name", "validity")}
        return self.render_template("qualification/certificate_add.html",
                                    options=q.selectable_certificates(g.user, **filters), filters=filters,
                                    errors=errors, form=EmptyForm(), title="新增注册证")

    @expose("/edit/<int:pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        record = self.get_owned_or_404(pk)
        refused = self.refuse_unless_editable(record)
        if refused:
            return refused
        errors, kept = {}, {}
        if request.method == "POST":
            submit = request.form.get("action") == "submit"

            def save():
                try:
                    q.save_certificate(g.user, record, request.form.get("contact_name", ""),
                                       request.form.get("contact_phone", ""), request.form.get("remark", ""),
                                       _upload("scan"), submit=submit, kept_scan=request.form.get("kept_scan"))
                except ValidationFailed as exc:
                    kept.update(getattr(exc, "kept", {}))  # valid files need not be chosen again
                    raise

            done, errors = apply_post(save, "已提交，等待审核" if submit else "保存成功",
                                      url_for("ConsumableCertificateView.list"))
            if done:
                return done
        return self.render_template("qualification/certificate_form.html", record=record,
                                    national=national.certificate(record.cert_no), kept=kept,
                                    files=q.files_by_slot(record), errors=errors,
                                    data=request.form if request.method == "POST" else None,
                                    form=EmptyForm(), title="编辑注册证")

