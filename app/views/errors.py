"""Friendly Chinese error pages that never crash; rate-limit breaches are audited.

Every error page first tries the normal layout (navbar, user menu).  That layout needs
the database (the logged-in user, the menu permissions); when it fails - PostgreSQL is
down, or the error came before the user was loaded - the page falls back to a
stand-alone template that touches nothing but the translations and static files.
"""
from __future__ import annotations

import logging
import re

from flask import abort, g, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy import exc as sa_exc

from app.i18n import N_
from app.services.text import has_control

log = logging.getLogger(__name__)

# FAB list parameters: page_<view>, psize_<view>, _oc_<view>, _od_<view>, _flt_<i>_<col>.
PAGE_ARG = re.compile(r"^(page|psize)_(.*)$")
MAX_PAGE = 1_000_000
MAX_PAGE_SIZE = 100
MAX_QUERY_VALUE = 2000
MAINTENANCE_TITLE = N_("系统维护中")
MAINTENANCE_MESSAGE = N_("系统维护中，请稍后再试")


class _Views:
    """FAB's views by endpoint name, read when asked: a view added after start-up (before the
    first request) is guarded like the others, never missed by a snapshot."""

    def __init__(self, app):
        self.app = app
        self._by_name: dict = {}
        self._count = -1

    def get(self, name: str):
        baseviews = self.app.appbuilder.baseviews
        if len(baseviews) != self._count:
            self._by_name = {type(v).__name__: v for v in baseviews}
            self._count = len(baseviews)
        return self._by_name.get(name)


def _refuse_unknown_actions(app) -> None:
    """FAB's action/action_post crash (500) on an action name the view lacks: 404 instead."""
    views = _Views(app)

    @app.before_request
    def check_action_name():
        endpoint = request.endpoint or ""
        if not endpoint.endswith((".action", ".action_post")):
            return None
        view = views.get(endpoint.split(".")[0])
        name = (request.view_args or {}).get("name") or request.form.get("action")
        if view is None or name not in getattr(view, "actions", {}):
            abort(404)
        return None


def _refuse_junk_list_args(app) -> None:
    """FAB's list views turn ``page_``/``psize_`` with ``int()``, order by any ``_oc_`` name
    and index filters by ``_flt_<i>``: junk there is a 400, never a 500."""
    from flask_appbuilder.views import ModelView

    views = _Views(app)

    @app.before_request
    def check_list_args():
        if not request.args:
            return None
        for name, value in request.args.items(multi=True):
            m = PAGE_ARG.match(name)
            if m:
                if not value.isascii() or not value.isdigit():
                    abort(400)
                number = int(value)
                if m.group(1) == "page" and number > MAX_PAGE:
                    abort(400)
                if m.group(1) == "psize" and not 1 <= number <= MAX_PAGE_SIZE:
                    abort(400)
            elif name.startswith("_od_"):
                if value not in ("asc", "desc"):
                    abort(400)
            elif name.startswith("_oc_"):
                view = views.get(name[4:])
                if view is None or value not in (getattr(view, "order_columns", None) or []):
                    abort(400)
            elif name.startswith("_flt_"):
                m = re.match(r"^_flt_(\d+)_(.*)$", name)
                view = views.get((request.endpoint or "").split(".")[0])
                if not m or view is None or not hasattr(view, "_filters"):
                    continue
                filters = view._filters.get_search_filters().get(m.group(2))
                if filters is not None and int(m.group(1)) >= len(filters):
                    abort(400)
        return None

    @app.before_request
    def refuse_control_characters_in_query():
        # Search filters and paging: NUL is an error on PostgreSQL, the rest is never
        # meaningful.  Forms refuse the same characters next to their fields (SafeForm).
        for name, value in request.args.items(multi=True):
            if name in ("next", "back"):  # normalised by app.urls.local_path where used
                continue
            if has_control(value) or len(value) > MAX_QUERY_VALUE:
                abort(400)
        return None

    @app.before_request
    def unit_pages_need_a_unit():
        # Unit-owned lists scope by the user's unit; a platform account has none (the
        # admin role holds every permission, but these pages are not the admin's).
        from flask_login import current_user

        from app.tenancy import UnitScopedModelView

        view = views.get((request.endpoint or "").split(".")[0])
        if isinstance(view, UnitScopedModelView) and current_user.is_authenticated \
                and not getattr(current_user, "unit_id", None):
            abort(403)
        return None

    @app.before_request
    def refuse_file_folder_download():
        # FAB's ModelView.download serves UPLOAD_FOLDER; files here live in the database.
        endpoint = request.endpoint or ""
        if endpoint.endswith(".download"):
            view = views.get(endpoint.split(".")[0])
            if view is not None and getattr(type(view), "download", None) is ModelView.download:
                abort(404)
        return None


def _db_unreachable(exc: Exception) -> bool:
    """A connection-level failure (server down, restarting, refused), not a query's error."""
    if isinstance(exc, (sa_exc.InterfaceError, sa_exc.TimeoutError)):
        return True
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, sa_exc.OperationalError) and not _db_timeout(exc)


def _db_timeout(exc: Exception) -> bool:
    """statement_timeout / lock_timeout (PostgreSQL) or a busy SQLite file."""
    orig = getattr(exc, "orig", None)
    try:
        from psycopg import errors as pg_errors

        if isinstance(orig, (pg_errors.QueryCanceled, pg_errors.LockNotAvailable)):
            return True
    except ImportError:  # pragma: no cover - psycopg is a requirement
        pass
    return "database is locked" in str(orig or "")


def _rollback_quietly() -> None:
    from app.extensions import db

    try:
        db.session.rollback()
    except Exception:  # the connection may be gone; the pool discards it
        _invalidate()


def _invalidate() -> None:
    """Drop the session's connection (its server is gone): the pool opens a new one next time."""
    from app.extensions import db

    try:
        db.session.invalidate()
    except Exception:  # noqa: BLE001 - nothing more can be done with a dead connection
        log.warning("could not invalidate the session's connection", exc_info=True)


def plain_page(app, code: int, title: str, message: str):
    """The stand-alone page, rendered without Flask's context processors: Flask-Login's
    would load the user from the database."""
    html = app.jinja_env.get_template("error_plain.html").render(
        app_name=app.config.get("APP_NAME", ""), code=code, title=title, message=message)
    return html, code


def render_error(app, code: int, title: str, message: str):
    """The error page in the normal layout if it renders, else the stand-alone one."""
    from flask_login import current_user

    try:
        if not hasattr(g, "user"):
            # The error came before FAB's before_request (e.g. CSRF): load the user now.
            g.user = current_user._get_current_object()
        html = render_template("error.html", appbuilder=app.appbuilder,
                               base_template=app.appbuilder.base_template,
                               code=code, title=title, message=message)
    except Exception:
        app.logger.exception("error page %s fell back to the stand-alone page", code)
        _rollback_quietly()
        return plain_page(app, code, title, message)
    return html, code


def remove_session_quietly(exc=None) -> None:
    """End the request's session even when its connection died mid-request.

    Flask-SQLAlchemy's own teardown rolls back on the connection; with PostgreSQL gone that
    ROLLBACK raised after the response was chosen, and gunicorn answered 500.  Registered after
    ``db.init_app``, this runs first (teardowns run in reverse), so the library's finds nothing left.
    """
    from app.extensions import db

    try:
        db.session.remove()
    except sa_exc.DBAPIError as err:
        log.warning("database connection lost while closing the session: %s", getattr(err, "orig", err))
        _invalidate()
        db.session.registry.clear()


def _is_api() -> bool:
    from flask import has_request_context

    return has_request_context() and request.path.startswith("/api/") and not request.path.startswith("/api/v1/docs")


def register_error_handlers(app) -> None:
    app.teardown_appcontext(remove_session_quietly)
    _refuse_unknown_actions(app)
    _refuse_junk_list_args(app)

    def page(code: int, title: str, message: str):
        if _is_api():  # the integration API answers in JSON: {"message": …}
            from flask import jsonify
            from flask_babel import gettext

            return jsonify(message=gettext(message)), code
        return render_error(app, code, title, message)

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return page(400, N_("请求无效"), N_("页面已过期或请求缺少安全令牌（CSRF），请刷新页面后重试。"))

    @app.errorhandler(400)
    def bad_request(exc):
        return page(400, N_("请求无效"), N_("请求参数无效，请返回上一页重试。"))

    @app.errorhandler(429)
    def too_many(exc):
        from app.extensions import db
        from app.services import audit

        try:
            audit.record("rate_limited", detail=str(getattr(exc, "description", ""))[:500])
            db.session.commit()
        except Exception:  # noqa: BLE001 - the 429 page matters more than its audit line
            log.warning("rate_limited not audited", exc_info=True)
            _rollback_quietly()
        return page(429, N_("请求过于频繁"), N_("操作过于频繁，请稍后再试。"))

    @app.errorhandler(403)
    def forbidden(exc):
        return page(403, N_("无权访问"), N_("您没有访问该页面的权限。"))

    @app.errorhandler(404)
    def not_found(exc):
        return page(404, N_("页面不存在"), N_("您访问的页面不存在或已被删除。"))

    @app.errorhandler(405)
    def not_allowed(exc):
        return page(405, N_("请求无效"), N_("不支持该请求方式。"))

    @app.errorhandler(413)
    def too_large(exc):
        return page(413, N_("文件过大"), N_("上传的内容超过了大小限制。"))

    @app.errorhandler(sa_exc.DBAPIError)
    def database_error(exc):
        _rollback_quietly()
        if _db_timeout(exc):
            log.warning("database timeout on %s %s: %s", request.method, request.path, exc.orig)
            return page(503, N_("请求超时"), N_("数据库繁忙，本次请求已超时取消，请稍后再试。"))
        if _db_unreachable(exc):
            log.error("database unreachable on %s %s: %s", request.method, request.path, exc.orig)
            return plain_page(app, 503, MAINTENANCE_TITLE, MAINTENANCE_MESSAGE)
        if isinstance(exc, sa_exc.DataError):
            # A value the database refuses (a filter on a typed column, say): the request's fault.
            log.warning("data error on %s %s: %s", request.method, request.path, exc.orig)
            return page(400, N_("请求无效"), N_("输入的数据无效，请检查后重试。"))
        raise exc

    @app.errorhandler(sa_exc.PendingRollbackError)
    def pending_rollback(exc):
        _rollback_quietly()
        return plain_page(app, 503, MAINTENANCE_TITLE, MAINTENANCE_MESSAGE)

    @app.errorhandler(500)
    def server_error(exc):
        _rollback_quietly()
        return page(500, N_("系统错误"), N_("系统繁忙，请稍后再试。"))
