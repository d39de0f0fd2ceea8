"""The integration API under /api/v1 (README, API): FAB ``BaseApi`` resources over the
same services as the pages, FAB's API keys as the one credential, a rate limit per key."""
from __future__ import annotations

import hashlib

from flask import current_app, g, request


def _per_key() -> str:
    """Flask-Limiter's key: the API key itself (hashed), else the client address."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return "apikey:" + hashlib.sha256(header[7:].strip().encode()).hexdigest()[:32]
    return "ip:" + (request.remote_addr or "")


def _forget_key_of_previous_request() -> None:
    """A request's key must never be seen by the next one sharing its app context (tests)."""
    for name in ("api_key_name", "api_key_id", "_api_key_user"):
        g.pop(name, None)


def register(appbuilder) -> None:
    from app.api.docs import ApiDocsView, ApiSpecApi
    from app.api.resources import RESOURCES

    app = current_app
    app.before_request_funcs.setdefault(None, []).insert(0, _forget_key_of_previous_request)
    limiter = appbuilder.sm.limiter
    limit = limiter.limit(lambda: current_app.config["API_RATE_LIMIT"], key_func=_per_key)
    for resource in RESOURCES + (ApiSpecApi,):
        view = appbuilder.add_api(resource)
        limit(view.blueprint)
    appbuilder.add_view_no_menu(ApiDocsView())


def is_api_request() -> bool:
    return request.path.startswith("/api/")
