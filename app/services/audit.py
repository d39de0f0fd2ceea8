"""Writing the append-only audit log (the caller commits).

Entries carry no ID number and no full mobile number: the account (an operator's
account is a phone) and the detail are masked (``app/ops/redact.py``); ``user_id``
still identifies the user exactly.
"""
from __future__ import annotations

from flask import g, has_app_context, has_request_context, request

from app.extensions import db
from app.models import AuditLog
from app.models.audit import EVENT_LABELS  # noqa: F401  (the audit events, read from here by views)
from app.services.text import scrub
from app.ops import metrics
from app.ops.redact import redact
from app.workflow import engine


def client_ip() -> str | None:
    return request.remote_addr if has_request_context() else None


def record(event: str, *, user=None, unit=None, username: str | None = None,
           detail: str = "") -> AuditLog:
    entry = AuditLog(
        event=event,
        username=redact(scrub(username or (getattr(user, "username", None)), 128)),
        user_id=getattr(user, "id", None),
        unit_id=getattr(unit, "id", None) or getattr(user, "unit_id", None),
        ip=client_ip(),
        detail=redact(scrub(detail, 4000)) or None,
        api_key=api_key_name(),
    )
    db.session.add(entry)
    metrics.audit_event(event)
    return entry


def api_key_name() -> str | None:
    """The name of the API key this request came with: every write through the API is
    audited with it (app/services/api_keys.py sets it once the key is accepted)."""
    return g.get("api_key_name") if has_app_context() else None


@engine.transition_written.connect
def _workflow_transition(rtype, *, user=None, event: str, detail: str) -> None:
    """Every audited workflow transition (the engine announces it; it does not know this module)."""
    record(event, user=user, unit=None, detail=detail)
