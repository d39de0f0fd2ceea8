"""耗材统一资质管理: 耗材委托授权列表 and 耗材注册证列表 (unit side, thin)."""
from __future__ import annotations

import datetime as dt
import json

from flask import Response, abort, flash, g, redirect, request, url_for
from sqlalchemy import func, select
from flask_appbuilder import expose
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access, permission_name

from app.extensions import db
from app.models import ENTRUSTMENT_KINDS, Attachment, Entrustment, QualCertificate
from app.models.national import ORIGIN_IMPORTED, NationalCertificate
from app.models.workflow import WorkflowHistory
from app.services import chain, expiry, national, qualification as q
from app.services.errors import DomainError, ValidationFailed
from app.urls import local_path
from app.tenancy import UnitScopedModelView, current_unit_id
from app.views.forms import EmptyForm, apply_post
from app.workflow import engine
from app.workflow.engine import ACTION_LABELS, STATE_LABELS, WorkflowError


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


def _history_rows(rtype_key: str, record_id: int):
    rows = []
    for h in engine.history_of(rtype_key, record_id):
        rows.append({"at": h.created_at, "who": h.username, "unit": h.actor_unit,
                     "action": ACTION_LABELS.get(h.action, h.action),
                     "from": STATE_LABELS.get(h.from_state or "", ""), "to": STATE_LABELS.get(h.to_state, h.to_state),
                     "opinion": h.opinion or "", "diff": json.loads(h.diff) if h.diff else []})
    return rows


def register_template_helpers(app) -> None:
    """已过期 / N天后到期 marks on every list, picker and review page (qualification/_macros.html)."""
    from app.services import product_import

    app.jinja_env.globals.update(
        days_left=chain.days_left, expiry_soon_days=expiry.SOON_DAYS,
        product_import_limits=lambda: (product_import.max_bytes() // (1024 * 1024), product_import.max_rows()))


def removable_ids(rtype_key: str, rows) -> set[int]:
    """Ids of drafts never submitted (only their creation in the history): the rows 删除 may remove."""
    drafts = [r.id for r in rows if r.state == "draft" and not getattr(r, "revision_of_id", None)]
    if not drafts:
        return set()
    counts = dict(db.session.execute(
        select(WorkflowHistory.record_id, func.count(WorkflowHistory.id))
        .where(WorkflowHistory.record_type == rtype_key, WorkflowHistory.record_id.in_(drafts))
        .group_by(WorkflowHistory.record_id)).all())
    return {pk for pk in drafts if counts.get(pk, 0) <= 1}


def back_to(default: str) -> str:
    """The page a row button came from (e.g. 维护产品信息 or 耗材产品列表); local paths only."""
    return local_path(request.form.get("back"), default)


class QualificationBaseView(UnitScopedModelView):
    """Shared verbs of the reviewed, unit-owned lists (撤回, 变更, 变更记录, files)."""

    rtype_key = ""
    endpoint_name = ""

    def list_filter(self):
        """?state= / ?expires= / ?flag= (the links of 资质概览), as conditions on the root rows."""
        from app.models.mixins import utcnow
        from app.services import overview

        return overview.list_filter(self.rtype_key, request.args, utcnow().date())

    def _roots(self, list_filter=None):
        model = self.datamodel.obj
        query = self.scoped_query().where(model.revision_of_id.is_(None))
        if list_filter is not None:
            query = query.where(*list_filter.conditions)
        return db.session.scalars(query.order_by(model.id.desc())).all()

    def _revisions(self, roots):
        model = self.datamodel.obj
        ids = [r.id for r in roots]
        if not ids:
            return {}
        rows = db.session.scalars(self.scoped_query().where(
            model.revision_of_id.in_(ids), model.state != "merged")).all()
        return {r.revision_of_id: r for r in rows}

    def _transition(self, pk, action):
        record = self.get_owned_or_404(pk)
        if not EmptyForm().validate_on_submit():
            flash("请求无效，请刷新页面后重试", "danger")
            return None, record
        try:
            result = engine.apply(record, action, g.user,
                                  expected_version=request.form.get("version", type=int))
        except WorkflowError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            return None, record
        return result, record

    def refuse_unless_editable(self, record):
        """编辑 only in 待提交 / 审核不通过 (the engine's rule): else back to the list, saying why."""
        try:
            engine.assert_editable(record)
        except WorkflowError as exc:
            flash(exc.message, "danger")
            return redirect(url_for(f"{self.endpoint_name}.list"))
        return None

    @expose("/withdraw/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("edit")
    def withdraw(self, pk):
        """撤回 (待初审 → 待提交), back to the page the row was shown on."""
        done, _ = self._transition(pk, "withdraw")
        if done is not None:
            flash("已撤回，可修改后重新提交", "success")
        return redirect(back_to(url_for(f"{self.endpoint_name}.list")))

    @expose("/submit/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("edit")
    def submit(self, pk):
        done, _ = self._transition(pk, "submit")
        if done is not None:
            flash("已提交，等待审核", "success")
        return redirect(url_for(f"{self.endpoint_name}.list"))

    @expose("/change/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("edit")
    def change(self, pk):
        record = self.get_owned_or_404(pk)
        if not EmptyForm().validate_on_submit():
            abort(400)
        try:
            revision = engine.open_change(record, g.user)
        except WorkflowError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            return redirect(url_for(f"{self.endpoint_name}.list"))
        flash("已创建变更，生效中的信息在变更审核通过前保持不变", "info")
        return redirect(url_for(f"{self.endpoint_name}.edit", pk=revision.id))

    @expose("/cancel-change/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("edit")
    def cancel_change(self, pk):
        """撤销变更: drop a change not yet approved (待提交 / 审核不通过); the effective version stays."""
        revision = self.get_owned_or_404(pk)
        if not EmptyForm().validate_on_submit():
            abort(400)
        try:
            engine.cancel_change(revision, g.user)
        except WorkflowError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            flash("已撤销变更，生效中的信息保持不变", "success")
        return redirect(back_to(url_for(f"{self.endpoint_name}.list")))

    @expose("/remove/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("edit")
    def remove(self, pk):
        """删除 of a draft never submitted."""
        record = self.get_owned_or_404(pk)
        if not EmptyForm().validate_on_submit():
            abort(400)
        try:
            engine.delete_draft(record, g.user)
        except WorkflowError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            flash("已删除", "success")
        return redirect(back_to(url_for(f"{self.endpoint_name}.list")))

    @expose("/history/<int:pk>")
    @has_access
    @permission_name("show")
    def history(self, pk):
        record = self.get_owned_or_404(pk)
        root_id = record.revision_of_id or record.id
        return self.render_template("qualification/history.html", record=record,
                                    rows=_history_rows(self.rtype_key, root_id), title="变更记录",
                                    back=url_for(f"{self.endpoint_name}.list"))

    @expose("/delete/<pk>", methods=["GET", "POST"])
    @has_access
    def delete(self, pk):
        """Reviewed records are never deleted through FAB's generic delete (history must stay)."""
        self.get_owned_or_404(pk)
        abort(404)

    @expose("/file/<int:attachment_id>")
    @has_access
    @permission_name("show")
    def file(self, attachment_id):
        attachment = db.session.get(Attachment, attachment_id)
        if attachment is None or attachment.unit_id != current_unit_id() \
                or attachment.owner_type != self.datamodel.obj.__tablename__:
            abort(404)
        return send_attachment(attachment)


def send_attachment(attachment: Attachment) -> Response:
    from urllib.parse import quote

    resp = Response(attachment.data, mimetype=attachment.content_type)
    resp.headers["Content-Disposition"] = (
        f"attachment; filename=\"file\"; filename*=UTF-8''{quote(attachment.filename)}")
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


class ConsumableEntrustmentView(QualificationBaseView):
    datamodel = SQLAInterface(Entrustment)
    route_base = "/procurement/entrustments"
    rtype_key = "entrustment"
    endpoint_name = "ConsumableEntrustmentView"
    base_permissions = ["can_list", "can_show", "can_add", "can_edit", "can_delete"]
    show_title = "委托授权详情"

    @expose("/list/")
    @has_access
    def list(self):
        list_filter = self.list_filter()
        roots = self._roots(list_filter)
        return self.render_template("qualification/entrustments.html", rows=roots, list_filter=list_filter,
                                    revisions=self._revisions(roots), form=EmptyForm(),
                                    removable=removable_ids("entrustment", roots),
                                    expiring=expiry.expiring(current_unit_id()),
                                    states=STATE_LABELS, allowed=lambda r: engine.allowed_actions(r, g.user),
                                    title="耗材委托授权列表")

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
        try:
            saved = q.save_entrustment(g.user, record, data, submit=(action == "submit"))
        except ValidationFailed as exc:
            return self._form(record, exc.errors, 200, kept=getattr(exc, "kept", {}))
        except (DomainError, WorkflowError) as exc:
            db.session.rollback()
            flash(exc.message, "danger")
            return self._form(record, {}, 200)
        if action == "link":
            if record is None:
                flash("已保存为待提交的委托授权草稿；选择注册证后请在编辑页保存或提交，不需要时可点击“放弃新增”或在列表中删除",
                      "info")
                return redirect(url_for("ConsumableEntrustmentView.link", pk=saved.id, new=1))
            return redirect(url_for("ConsumableEntrustmentView.link", pk=saved.id))
        flash("已提交，等待审核" if action == "submit" else "保存成功", "success")
        return redirect(url_for("ConsumableEntrustmentView.list"))

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

    @expose("/show/<int:pk>")
    @has_access
    def show(self, pk):
        record = self.get_owned_or_404(pk)
        return self.render_template(
            "qualification/entrustment_show.html", record=record, files=q.files_by_slot(record),
            certs=[national.certificate(n) or n for n in record.cert_numbers], states=STATE_LABELS,
            slot_labels=q.SLOT_LABELS, title="委托授权详情")

    @expose("/link/<int:pk>", methods=["GET", "POST"])
    @has_access
    @permission_name("edit")
    def link(self, pk):
        """关联注册证: the national certificate picker; 确定 adds the ticked ones."""
        record = self.get_owned_or_404(pk)
        if record.state not in engine.EDITABLE:
            abort(404)
        if request.method == "POST":
            if not EmptyForm().validate_on_submit():
                abort(400)
            chosen = request.form.getlist("cert_nos")
            data = q.EntrustmentInput(kind=record.kind, principal_name=record.principal_name,
                                      valid_from=record.valid_from, valid_to=record.valid_to,
                                      cert_nos=record.cert_numbers + chosen)
            try:
                q.save_entrustment(g.user, record, data)
            except ValidationFailed as exc:
                flash("；".join(exc.errors.values()), "danger")
            else:
                flash(f"已关联{len(chosen)}个注册证", "success")
                return redirect(url_for("ConsumableEntrustmentView.edit", pk=record.id))
        agent = record.kind == "agent"  # 境外代理: imported certificates only
        page = national.search_certificates(
            request.args, after=request.args.get("after"), before=request.args.get("before"),
            restrict=[NationalCertificate.origin == ORIGIN_IMPORTED] if agent else None)
        filters = page.filters
        fresh = request.args.get("new") == "1" and record.id in removable_ids("entrustment", [record])
        return self.render_template("qualification/cert_picker.html", record=record, page=page,
                                    filters=filters, form=EmptyForm(), forced_imported=record.kind == "agent",
                                    fresh=fresh, title="选择注册证")


class ConsumableCertificateView(QualificationBaseView):
    datamodel = SQLAInterface(QualCertificate)
    route_base = "/procurement/certificates"
    rtype_key = "certificate"
    endpoint_name = "ConsumableCertificateView"
    base_permissions = ["can_list", "can_show", "can_add", "can_edit", "can_delete"]

    @expose("/list/")
    @has_access
    def list(self):
        list_filter = self.list_filter()
        roots = self._roots(list_filter)
        nationals = national.certificates([r.cert_no for r in roots])
        return self.render_template("qualification/certificates.html", rows=roots, nationals=nationals,
                                    reminders=national.certificate_reminders(r.cert_no for r in roots),
                                    list_filter=list_filter,
                                    revisions=self._revisions(roots), form=EmptyForm(), states=STATE_LABELS,
                                    removable=removable_ids("certificate", roots),
                                    expiring=expiry.expiring(current_unit_id()),
                                    allowed=lambda r: engine.allowed_actions(r, g.user), title="耗材注册证列表")

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

    @expose("/show/<int:pk>")
    @has_access
    def show(self, pk):
        record = self.get_owned_or_404(pk)
        return self.render_template("qualification/certificate_show.html", record=record,
                                    national=national.certificate(record.cert_no),
                                    files=q.files_by_slot(record), states=STATE_LABELS,
                                    slot_labels=q.SLOT_LABELS, title="注册证详情")

    @expose("/batch-submit", methods=["POST"])
    @has_access
    @permission_name("edit")
    def batch_submit(self):
        if not EmptyForm().validate_on_submit():
            abort(400)
        records = [self.get_owned_or_404(pk) for pk in request.form.getlist("rowid")]
        if not records:
            flash("请先勾选需要提交的注册证", "warning")
            return redirect(url_for("ConsumableCertificateView.list"))
        result = engine.batch(records, "submit", g.user)
        if result.ok:
            flash(f"批量提交：成功{len(result.ok)}条", "success")
        for _pk, reason in result.failed:
            flash(reason, "danger")
        return redirect(url_for("ConsumableCertificateView.list"))
