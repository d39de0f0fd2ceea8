"""Writing the append-only audit log (the caller commits)."""
from __future__ import annotations

from flask import g, has_app_context, has_request_context, request

from app.extensions import db
from app.models import AuditLog
from app.models.audit import EVENT_LABELS  # noqa: F401
from app.services.text import scrub
from app.ops import metrics


def client_ip() -> str | None:
    return request.remote_addr if has_request_context() else None


def record(event: str, *, user=None, unit=None, username: str | None = None,
           detail: str = "") -> AuditLog:
    entry = AuditLog(
        event=event,
        username=scrub(username or (getattr(user, "username", None)), 128),
        user_id=getattr(user, "id", None),
        unit_id=getattr(unit, "id", None) or getattr(user, "unit_id", None),
        ip=client_ip(),
        detail=scrub(detail, 4000) or None,
        api_key=api_key_name(),
    )
    db.session.add(entry)
    metrics.audit_event(event)
    return entry



def api_key_name() -> str | None:
    """The name of the API key this request came with: every write through the API is
    audited with it (app/services/api_keys.py sets it once the key is accepted)."""
    return g.get("api_key_name") if has_app_context() else None
