"""Friendly Chinese error pages; rate-limit breaches are audited."""
from __future__ import annotations

from flask import render_template
from flask_wtf.csrf import CSRFError


def _refuse_unknown_actions(app) -> None:
    """FAB's action/action_post crash (500) on an action name the view lacks: 404 instead."""
    from flask import abort, request

    views = {type(v).__name__: v for v in app.appbuilder.baseviews}

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


def register_error_handlers(app) -> None:
    _refuse_unknown_actions(app)

    def page(code: int, title: str, message: str):
        return render_template("error.html", appbuilder=app.appbuilder, base_template=app.appbuilder.base_template, code=code,
                               title=title, message=message), code

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return page(400, "请求无效", "页面已过期或请求缺少安全令牌（CSRF），请刷新页面后重试。")

    @app.errorhandler(429)
    def too_many(exc):
        from app.extensions import db
        from app.services import audit

        audit.record("rate_limited", detail=str(getattr(exc, "description", "")))
        db.session.commit()
        return page(429, "请求过于频繁", "操作过于频繁，请稍后再试。")

    @app.errorhandler(403)
    def forbidden(exc):
        return page(403, "无权访问", "您没有访问该页面的权限。")

    @app.errorhandler(404)
    def not_found(exc):
        return page(404, "页面不存在", "您访问的页面不存在或已被删除。")

    @app.errorhandler(500)
    def server_error(exc):
        from app.extensions import db

        db.session.rollback()
        return page(500, "系统错误", "系统繁忙，请稍后再试。")
