"""One view for every reviewed, unit-owned record type (委托授权, 注册证, 产品/包装).

:class:`WorkflowModelView` sits on the tenant base view and serves what every record type shares:
变更记录, its files, and the transitions as FAB actions — 提交 / 撤回 / 变更 / 撤销变更 / 删除, on
one record (``POST …/action/<name>/<pk>``) or on the ticked rows of the list
(``POST …/action_post`` with ``action=<name>``, i.e. 批量提交).  FAB loads action rows without
``base_filters``; the tenant base view refuses another unit's ids first (404), and every action
goes through the workflow engine.  Concrete views keep only their special pages (forms, pickers,
the packaging page); they name their record type and nothing else.
"""
from __future__ import annotations

import json
from urllib.parse import quote

from flask import Response, abort, g, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.actions import action
from flask_appbuilder.security.decorators import has_access, permission_name
from sqlalchemy import func, or_, select

from app.extensions import db
from app.i18n import Msg, translate
from app.models import Attachment
from app.services.paging import Page, keyset_page
from app.tenancy import UnitScopedModelView, current_unit_id
from app.urls import local_path
from app.views.forms import EmptyForm, apply_post, notify
from app.workflow import engine
from app.workflow.engine import ACTION_LABELS, STATE_LABELS, WorkflowError
from app.workflow.registry import RecordType


def history_rows(rtype_key: str, record_id: int) -> list[dict]:
    """变更记录 of one record (its root), for the unit's page and the reviewer's."""
    rows = []
    for h in engine.history_of(rtype_key, record_id):
        rows.append({"at": h.created_at, "who": h.username, "unit": h.actor_unit,
                     "action": ACTION_LABELS.get(h.action, h.action),
                     "from": STATE_LABELS.get(h.from_state or "", ""), "to": STATE_LABELS.get(h.to_state, h.to_state),
                     "opinion": h.opinion or "", "diff": json.loads(h.diff) if h.diff else []})
    return rows


removable_ids = engine.removable_ids


def back_to(default: str) -> str:
    """The page a row button came from (e.g. 维护产品信息 or 耗材产品列表); local paths only."""
    return local_path(request.form.get("back"), default)


def send_attachment(attachment: Attachment) -> Response:
    resp = Response(attachment.data, mimetype=attachment.content_type)
    resp.headers["Content-Disposition"] = (
        f"attachment; filename=\"file\"; filename*=UTF-8''{quote(attachment.filename)}")
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


#: what each transition says when it is done (one record); batches say how many succeeded
DONE = {
    "submit": "已提交，等待审核",
    "withdraw": "已撤回，可修改后重新提交",
    "cancel_change": "已撤销变更，生效中的信息保持不变",
}


class WorkflowModelView(UnitScopedModelView):
    """The shared verbs of a reviewed record type; ``record_type`` says which."""

    record_type: RecordType | None = None
    base_permissions = ["can_list", "can_show", "can_add", "can_edit", "can_delete"]
    # every transition needs the menu's can_edit (the bundles grant it with the menu)
    method_permission_name = {"act_submit": "edit", "act_withdraw": "edit", "act_change": "edit",
                              "act_cancel_change": "edit", "act_remove": "edit"}

    @property
    def rtype_key(self) -> str:
        return self.record_type.key

    @property
    def endpoint_name(self) -> str:
        return type(self).__name__

    def list_url(self) -> str:
        return url_for(f"{self.endpoint_name}.list")

    def list_filter(self):
        """?state= / ?expires= / ?flag= (the links of 资质概览), as conditions on the root rows."""
        from app.models.mixins import utcnow
        from app.services import overview

        return overview.list_filter(self.rtype_key, request.args, utcnow().date())

    def list_page(self, list_filter) -> Page:
        """One keyset page of the unit's records (newest first): the 查询 box (``q``, the record
        type's search fields), the state and the 资质概览 filter (``state`` / ``expires`` / ``flag``)."""
        model = self.datamodel.obj
        stmt = self.scoped_query().where(model.revision_of_id.is_(None), *list_filter.conditions)
        term = (request.args.get("q") or "").strip()[:60]
        if term and self.record_type.search_fields:
            stmt = stmt.where(or_(*(getattr(model, f).contains(term, autoescape=True)
                                    for f in self.record_type.search_fields)))
        kept = {k: v[:40] for k in ("state", "expires", "flag") if (v := request.args.get(k))}
        page = keyset_page(stmt, model.id, filters={"q": term}, after=request.args.get("after"),
                           before=request.args.get("before"), extra=kept, descending=True)
        if list_filter.active:  # 资质概览's number and the list agree: say how many the filter holds
            page.extra_total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
        return page

    def _revisions(self, roots):
        model = self.datamodel.obj
        ids = [r.id for r in roots]
        if not ids:
            return {}
        rows = db.session.scalars(self.scoped_query().where(
            model.revision_of_id.in_(ids), model.state != "merged")).all()
        return {r.revision_of_id: r for r in rows}

    def refuse_unless_editable(self, record):
        """编辑 only in 待提交 / 审核不通过 (the engine's rule): else back to the list, saying why."""
        try:
            engine.assert_editable(record)
        except WorkflowError as exc:
            notify(exc.message, "danger")
            return redirect(self.list_url())
        return None

    # -- transitions: FAB actions (one record or the ticked rows) -------------------------------
    def _transition(self, items, name: str):
        """Run one transition on one record (with its version check) or on several (批量)."""
        back = back_to(self.list_url())
        if isinstance(items, list):
            if not items:
                notify(Msg("请先勾选需要%(verb)s的%(what)s", verb=translate(ACTION_LABELS[name]),
                           what=translate(self.record_type.review_label)), "warning")
                return redirect(back)
            result = engine.batch(items, name, g.user)
            if result.ok:
                notify(Msg("批量%(verb)s：成功%(n)s条", verb=translate(ACTION_LABELS[name]), n=len(result.ok)),
                       "success")
            for _pk, reason in result.failed:
                notify(reason, "danger")
            return redirect(back)
        apply_post(lambda: engine.apply(items, name, g.user, expected_version=request.form.get("version", type=int)),
                   DONE[name], back)
        return redirect(back)

    @action("submit", "提交", icon="fa-paper-plane")
    def act_submit(self, items):
        return self._transition(items, "submit")

    @action("withdraw", "撤回", icon="fa-undo")
    def act_withdraw(self, items):
        return self._transition(items, "withdraw")

    @action("change", "变更", icon="fa-pencil", multiple=False)
    def act_change(self, item):
        """变更 of an effective record: a change revision, edited on its own page."""
        if isinstance(item, list):
            abort(400)
        created = []
        done, _errors = apply_post(lambda: created.append(engine.open_change(item, g.user)),
                                   "已创建变更，生效中的信息在变更审核通过前保持不变", self.list_url())
        if done is None:
            return redirect(self.list_url())
        return redirect(url_for(f"{self.endpoint_name}.edit", pk=created[0].id))

    @action("cancel_change", "撤销变更", icon="fa-times", multiple=False)
    def act_cancel_change(self, item):
        """撤销变更: drop a change not yet approved (待提交 / 审核不通过); the effective version stays."""
        if isinstance(item, list):
            abort(400)
        apply_post(lambda: engine.cancel_change(item, g.user), DONE["cancel_change"], self.list_url())
        return redirect(back_to(self.list_url()))

    @action("remove", "删除", icon="fa-trash", multiple=False)
    def act_remove(self, item):
        """删除 of a draft never submitted."""
        if isinstance(item, list):
            abort(400)
        apply_post(lambda: self.delete_draft(item), self.deleted_message, self.list_url())
        return redirect(back_to(self.list_url()))

    deleted_message = "已删除"

    def delete_draft(self, record) -> None:
        engine.delete_draft(record, g.user)

    # -- pages every record type has ------------------------------------------------------------
    list_template = ""
    list_title = ""
    show_template = ""

    def list_context(self, rows) -> dict:
        """What the record type's list shows beside its rows (national data, flags …)."""
        return {}

    def show_context(self, record) -> dict:
        return {}

    def render_list(self, **extra):
        """The unit's list: one keyset page, its change revisions, the rows 删除 may remove, the
        actions each row allows, plus the record type's own context."""
        list_filter = self.list_filter()
        page = self.list_page(list_filter)
        rows = page.rows
        return self.render_template(
            self.list_template, rows=rows, page=page, list_filter=list_filter, revisions=self._revisions(rows),
            removable=removable_ids(self.rtype_key, rows), form=EmptyForm(), states=STATE_LABELS,
            allowed=lambda r: engine.allowed_actions(r, g.user), title=self.list_title,
            **self.list_context(rows), **extra)

    @expose("/list/")
    @has_access
    def list(self):
        return self.render_list()

    @expose("/show/<int:pk>")
    @has_access
    def show(self, pk):
        record = self.get_owned_or_404(pk)
        return self.render_template(self.show_template, record=record, states=STATE_LABELS, title=self.show_title,
                                    **self.show_context(record))

    @expose("/history/<int:pk>")
    @has_access
    @permission_name("show")
    def history(self, pk):
        record = self.get_owned_or_404(pk)
        root_id = record.revision_of_id or record.id
        return self.render_template("qualification/history.html", record=record,
                                    rows=history_rows(self.rtype_key, root_id), title="变更记录",
                                    back=self.list_url())

    @expose("/delete/<pk>", methods=["GET", "POST"])
    @has_access
    def delete(self, pk):
        """Reviewed records are never deleted through FAB's generic delete (history must stay);
        a never-submitted draft goes with the 删除 action."""
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


__all__ = ["WorkflowModelView", "back_to", "history_rows", "removable_ids", "send_attachment", "EmptyForm"]
