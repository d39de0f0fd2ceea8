"""Overview pages: 平台概览 (platform admin), 我的待办 (初审 / 复审), 资质概览 (a manufacturer's unit).

Thin: the numbers come from :mod:`app.services.overview`; each chart is drawn by
``static/js/overview.js`` from a ``data-chart`` attribute (no inline script), its
table is rendered here, and ``…/export/<chart>/<csv|xlsx>`` downloads the same numbers.
"""
from __future__ import annotations

import csv
import io
from urllib.parse import quote

from flask import Response, abort, g, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access, permission_name
from flask_babel import gettext

from app.excel import XLSX_MIMETYPE
from app.excel.writer import build_error_log, is_formula_like
from app.i18n import N_
from app.models.mixins import utcnow
from app.security import bundles
from app.security.roles import review_queues_of
from app.services import overview
from app.tenancy import NO_UNIT, current_unit_id

QUEUE_LABELS = {q[0]: q[3] for q in overview.QUEUE_LEVELS}


def _csv_cell(value):
    """A CSV cell Excel will not evaluate (the same rule as the .xlsx writer)."""
    if value is None:
        return ""
    return "'" + value if is_formula_like(value) else value


def export_chart(chart: overview.Chart, fmt: str) -> Response:
    headers, rows = chart.table()
    name = chart.title
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow([_csv_cell(h) for h in headers])
        writer.writerows([[_csv_cell(v) for v in row] for row in rows])
        data, mimetype, ext = ("\ufeff" + buf.getvalue()).encode("utf-8"), "text/csv; charset=utf-8", "csv"
    elif fmt == "xlsx":
        data = build_error_log(headers, rows, title=gettext("数据"), text_columns=(0,))
        mimetype, ext = XLSX_MIMETYPE, "xlsx"
    else:
        abort(404)
    resp = Response(data, mimetype=mimetype)
    resp.headers["Content-Disposition"] = (
        f"attachment; filename=\"overview.{ext}\"; filename*=UTF-8''{quote(name + '.' + ext)}")
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


def _translated(page: overview.Page) -> overview.Page:
    page.charts = [c.translated(gettext) for c in page.charts]
    page.notes = [gettext(n) for n in page.notes]
    return page


def _reviewer_levels() -> list[str]:
    return review_queues_of(g.user)


def _link_queue(kind, level):
    return url_for("ReviewView.queue", rtype_key=kind.key, queue=level)


class OverviewBaseView(BaseView):
    default_view = "index"
    template = "overview/page.html"
    page_title = ""
    export_endpoint = ""

    def build(self) -> overview.Page:  # pragma: no cover - every subclass builds its page
        raise NotImplementedError

    def show_page(self, **extra):
        page = _translated(self.build())
        return self.render_template(self.template, page=page, title=gettext(self.page_title),
                                    export_endpoint=self.export_endpoint, rtype_labels={k.key: k.label for k in overview.record_kinds()},
                                    queue_labels=QUEUE_LABELS, **extra)

    def export(self, chart_key: str, fmt: str):
        chart = self.build().chart(chart_key)
        if chart is None:
            abort(404)
        return export_chart(chart.translated(gettext), fmt)


class PlatformOverviewView(OverviewBaseView):
    """平台概览 (platform admins)."""

    route_base = "/overview/platform"
    page_title = N_("平台概览")
    export_endpoint = "PlatformOverviewView.export"

    def build(self):
        return overview.platform_page(utcnow(), link_queue=_link_queue)

    @expose("/")
    @has_access
    def index(self):
        return self.show_page(kind="platform")

    @expose("/export/<string:chart_key>/<string:fmt>")
    @has_access
    @permission_name("index")
    def export(self, chart_key, fmt):
        return super().export(chart_key, fmt)


class ReviewOverviewView(OverviewBaseView):
    """我的待办 (初审 / 复审): the queues this reviewer works, the oldest items, own decisions."""

    route_base = "/overview/review"
    page_title = N_("我的待办")
    export_endpoint = "ReviewOverviewView.export"

    def build(self):
        levels = _reviewer_levels()
        if not levels:
            abort(403)
        return overview.reviewer_page(g.user.id, levels, utcnow(), link_queue=_link_queue)

    @expose("/")
    @has_access
    def index(self):
        return self.show_page(kind="review")

    @expose("/export/<string:chart_key>/<string:fmt>")
    @has_access
    @permission_name("index")
    def export(self, chart_key, fmt):
        return super().export(chart_key, fmt)


class QualificationOverviewView(OverviewBaseView):
    """资质概览: one unit's own numbers, for the record types the user's menus hold."""

    route_base = "/procurement/overview"
    page_title = N_("资质概览")
    export_endpoint = "QualificationOverviewView.export"

    def held_kinds(self) -> list[str]:
        sm = self.appbuilder.sm
        return [k.key for k in overview.record_kinds() if sm.has_access("can_list", k.list_view)]

    def build(self):
        unit_id = current_unit_id()
        if unit_id == NO_UNIT:
            abort(404)
        kinds = {k.key: k for k in overview.record_kinds()}
        return overview.qualification_page(
            unit_id, utcnow().date(), self.held_kinds(),
            link_state=lambda kind, state: url_for(kind.list_endpoint, state=state),
            link_expiry=lambda key, bucket: url_for(kinds[key].list_endpoint, expires=bucket),
            link_flag=lambda flag: url_for("ConsumableProductView.list", flag=flag))

    @expose("/")
    @has_access
    def index(self):
        return self.show_page(kind="qualification")

    @expose("/export/<string:chart_key>/<string:fmt>")
    @has_access
    @permission_name("index")
    def export(self, chart_key, fmt):
        return super().export(chart_key, fmt)


def register(appbuilder) -> None:
    from app.views.admin import ADMIN_CATEGORY

    appbuilder.add_view(PlatformOverviewView, "平台概览", icon="fa-bar-chart", category=ADMIN_CATEGORY,
                        category_icon="fa-cogs")
    appbuilder.add_view(ReviewOverviewView, bundles.REVIEW_OVERVIEW_MENU, icon="fa-bar-chart",
                        category=bundles.REVIEW_CATEGORY, category_icon="fa-gavel")
    appbuilder.add_view_no_menu(QualificationOverviewView())
