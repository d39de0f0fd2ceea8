"""审核管理: reviewer queues (待初审 / 待复审) per record type, detail, decisions."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from flask import abort, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access, permission_name
from sqlalchemy import func, select

from app.extensions import db
from app.models import Attachment, Unit
from app.security.roles import review_queues_of
from app.services import attachments, chain, national, products, qualification as q
from app.i18n import Msg, N_, translate
from app.views.forms import EmptyForm, apply_post, notify
from app.views.workflow import history_rows, send_attachment
from app.workflow import engine, registry
from app.workflow.engine import STATE_LABELS, State
from app.workflow.states import QUEUE_LABELS, QUEUE_STATES

class _RecordTypes(Mapping):
    """The registered record types by key (``app.workflow.registry``), read live."""

    def __getitem__(self, key):
        rtype = registry.by_key(key)
        if rtype is None:
            raise KeyError(key)
        return rtype

    def __iter__(self):
        return iter([r.key for r in registry.record_types()])

    def __len__(self):
        return len(registry.record_types())


RECORD_TYPES = _RecordTypes()
QUEUES = {level: (QUEUE_STATES[level], label) for level, label in QUEUE_LABELS.items()}


def _rtype(key: str):
    rtype = registry.by_key(key)
    if rtype is None:
        abort(404)
    return rtype


def _day(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _may_see(queue: str) -> bool:
    """Initial reviewers see 待初审, final reviewers 待复审; platform admins both."""
    return queue in review_queues_of(g.user)


class ReviewView(BaseView):
    route_base = "/review"
    default_view = "queues"

    @expose("/")
    @has_access
    @permission_name("list")
    def queues(self):
        """审核管理: the queues this reviewer may open, with how many records wait in each."""
        counts = {}
        for _name, key, queue in registry.review_menus():
            if _may_see(queue):
                model = RECORD_TYPES[key].model
                counts[(key, queue)] = db.session.scalar(
                    select(func.count(model.id)).where(model.state == QUEUES[queue][0]))
        return self.render_template("review/index.html", menus=registry.review_menus(), counts=counts, title="审核管理")

    @expose("/<string:rtype_key>/<string:queue>/")
    @has_access
    @permission_name("list")
    def queue(self, rtype_key="certificate", queue="initial"):
        rtype = _rtype(rtype_key)
        if queue not in QUEUES:
            abort(404)
        if not _may_see(queue):
            abort(403)
        state, label = QUEUES[queue]
        model = rtype.model
        filters = {k: (request.args.get(k) or "").strip()[:100] for k in ("unit", "number", "from", "to")}
        query = (select(model, Unit.name).join(Unit, Unit.id == model.unit_id).where(model.state == state))
        if filters["unit"]:
            query = query.where(Unit.name.contains(filters["unit"], autoescape=True))
        if filters["number"]:
            query = query.where(getattr(model, rtype.number_field).contains(filters["number"], autoescape=True))
        start, end = _day(filters["from"]), _day(filters["to"])
        if start:
            query = query.where(model.submitted_at >= dt.datetime.combine(start, dt.time.min))
        if end:
            query = query.where(model.submitted_at < dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min))
        rows = db.session.execute(query.order_by(model.submitted_at, model.id).limit(500)).all()
        return self.render_template("review/queue.html", rows=rows, rtype=rtype, queue=queue, filters=filters,
                                    queue_label=label, form=EmptyForm(), title=f"{rtype.label}{label}")

    @expose("/<string:rtype_key>/record/<int:pk>")
    @has_access
    @permission_name("show")
    def detail(self, rtype_key, pk):
        rtype = _rtype(rtype_key)
        record = db.session.get(rtype.model, pk)
        if record is None or record.state == State.MERGED.value or not attachments.submitted_once(record):
            abort(404)
        original = db.session.get(rtype.model, record.revision_of_id) if record.revision_of_id else None
        standing, product_info = None, {}
        if rtype_key == "certificate":
            nationals = [national.certificate(record.cert_no)]
            standing = chain.standing(record.unit_id, record.cert_no)
        elif rtype_key == "product":
            nationals = [products.certificate_of_item(record.code[:20])]
            standing = chain.product_standing(record)
            product_info = {"item": national.item(record.code[:20]), "spec": national.spec(record.code)}
        else:
            nationals = [national.certificate(n) or n for n in record.cert_numbers]
        return self.render_template(
            "review/detail.html", record=record, rtype=rtype, rtype_key=rtype_key, original=original,
            files=q.files_of(record), slot_labels=q.SLOT_LABELS, nationals=nationals,
            changes=engine.diff(engine.snapshot(original, rtype),
                                       engine.snapshot(record, rtype)) if original else [],
            allowed=engine.allowed_actions(record, g.user), history=history_rows(rtype.key, record.revision_of_id
                                                                                   or record.id),
            unit=db.session.get(Unit, record.unit_id), states=STATE_LABELS, form=EmptyForm(), title="审核",
            standing=standing, product_info=product_info,
            queue_url=url_for("ReviewView.queue", rtype_key=rtype_key,
                              queue="final" if record.state == State.PENDING_FINAL.value else "initial"))

    @expose("/<string:rtype_key>/record/<int:pk>/decide", methods=["POST"])
    @has_access
    @permission_name("edit")
    def decide(self, rtype_key, pk):
        rtype = _rtype(rtype_key)
        record = db.session.get(rtype.model, pk)
        if record is None or not attachments.submitted_once(record):
            abort(404)
        if not EmptyForm().validate_on_submit():
            abort(400)
        action = request.form.get("action")
        if action not in ("approve", "reject"):
            abort(400)
        queue = "final" if record.state == State.PENDING_FINAL.value else "initial"
        done, _ = apply_post(
            lambda: engine.apply(record, action, g.user, opinion=request.form.get("opinion"),
                                 expected_version=request.form.get("version", type=int)),
            N_("审核通过") if action == "approve" else N_("已退回（审核不通过）"),
            url_for("ReviewView.queue", rtype_key=rtype_key, queue=queue))
        return done or redirect(url_for("ReviewView.detail", rtype_key=rtype_key, pk=pk))

    @expose("/<string:rtype_key>/<string:queue>/batch-approve", methods=["POST"])
    @has_access
    @permission_name("edit")
    def batch_approve(self, rtype_key, queue):
        rtype = _rtype(rtype_key)
        if queue not in QUEUES or not EmptyForm().validate_on_submit():
            abort(400)
        ids = [int(i) for i in request.form.getlist("rowid") if i.isascii() and i.isdigit()]
        records = [r for r in (db.session.get(rtype.model, i) for i in ids)
                   if r is not None and attachments.submitted_once(r)]
        if not records:
            notify(N_("请先勾选需要审核的记录"), "warning")
        else:
            result = engine.batch(records, "approve", g.user, opinion=request.form.get("opinion"))
            if result.ok:
                notify(Msg("批量审核通过：成功%(n)s条", n=len(result.ok)), "success")
            for rid, reason in result.failed:
                notify(Msg("#%(id)s：%(reason)s", id=rid, reason=translate(reason)), "danger")
        return redirect(url_for("ReviewView.queue", rtype_key=rtype_key, queue=queue))

    @expose("/file/<int:attachment_id>")
    @has_access
    @permission_name("show")
    def file(self, attachment_id):
        attachment = db.session.get(Attachment, attachment_id)
        if attachment is None or not attachments.can_download(attachment, g.user):
            abort(404)
        return send_attachment(attachment)


def register(appbuilder) -> None:
    appbuilder.add_view_no_menu(ReviewView())
    for name, rtype_key, queue in registry.review_menus():
        appbuilder.add_link(name, href=f"/review/{rtype_key}/{queue}/", icon="fa-check-square-o",
                            category="审核管理", category_icon="fa-gavel")
    # reviewers' keys for the integration API (审核管理 through /api/v1/review)
    appbuilder.add_link("我的API密钥", href="/hall/api-keys/", icon="fa-key", category="审核管理",
                        category_icon="fa-gavel")
