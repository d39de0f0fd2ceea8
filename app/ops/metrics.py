"""Prometheus metrics (prometheus-flask-exporter plus the platform's own).

- ``flask_http_request_duration_seconds{method,endpoint,status}`` and
  ``flask_http_request_total{method,status}``: latency per endpoint, error counts
  (status 4xx/5xx), ``flask_http_request_exceptions_total``;
- ``yibao_logins_total{result}`` (success / failed / refused), ``yibao_lockouts_total``,
  ``yibao_audit_events_total{event}`` — counted where the audit log is written;
- ``yibao_imports_total{kind}`` and ``yibao_import_rows_total{kind,outcome}``;
- ``yibao_sms_total{purpose,status}``;
- ``yibao_review_queue{record_type,state}``: records waiting for 初审 / 复审, read at scrape.

Served on ``METRICS_PATH`` (``/metrics``; empty disables it) to the addresses in
``METRICS_ALLOWED_IPS`` or with ``Authorization: Bearer $METRICS_TOKEN``; anyone
else gets 404.  With several gunicorn workers set ``PROMETHEUS_MULTIPROC_DIR``
(README, 运维).
"""
from __future__ import annotations

import hmac
import ipaddress
import logging
import os

from flask import Response, abort, current_app, has_app_context, request

log = logging.getLogger(__name__)

_KEY = "yibao_metrics"

LOGIN_EVENTS = {"login": "success", "login_failed": "failed", "login_refused": "refused"}


class _Metrics:
    def __init__(self, registry):
        from prometheus_client import Counter

        self.registry = registry
        self.logins = Counter("yibao_logins", "Login attempts by result", ["result"], registry=registry)
        self.lockouts = Counter("yibao_lockouts", "Accounts locked after repeated failures", registry=registry)
        self.audit_events = Counter("yibao_audit_events", "Audit log entries by event", ["event"],
                                    registry=registry)
        self.imports = Counter("yibao_imports", "Excel/CSV imports run", ["kind"], registry=registry)
        self.import_rows = Counter("yibao_import_rows", "Rows seen by imports", ["kind", "outcome"],
                                   registry=registry)
        self.sms = Counter("yibao_sms", "SMS by purpose and outcome", ["purpose", "status"], registry=registry)


def _get() -> _Metrics | None:
    if not has_app_context():
        return None
    return current_app.extensions.get(_KEY)


def audit_event(event: str) -> None:
    """Called for every audit log entry: logins and lockouts are counted from there."""
    m = _get()
    if m is None:
        return
    m.audit_events.labels(event=event).inc()
    if event in LOGIN_EVENTS:
        m.logins.labels(result=LOGIN_EVENTS[event]).inc()
    elif event == "account_locked":
        m.lockouts.inc()


def import_done(kind: str, **rows: int) -> None:
    """One import of ``kind`` (product / national) with its row counts by outcome."""
    m = _get()
    if m is None:
        return
    m.imports.labels(kind=kind).inc()
    for outcome, count in rows.items():
        if count:
            m.import_rows.labels(kind=kind, outcome=outcome).inc(count)


def sms_event(purpose: str, status: str) -> None:
    m = _get()
    if m is not None:
        m.sms.labels(purpose=purpose, status=status).inc()


class ReviewQueueCollector:
    """Records waiting for review, counted when Prometheus scrapes (one GROUP BY per type)."""

    def __init__(self, app):
        self.app = app

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily
        from sqlalchemy import func, select

        from app.extensions import db
        from app.workflow.registry import record_types
        from app.workflow.states import State

        gauge = GaugeMetricFamily("yibao_review_queue", "Records waiting for review",
                                  labels=["record_type", "state"])
        pending = (State.PENDING_INITIAL.value, State.PENDING_FINAL.value)
        with self.app.app_context():
            try:
                for rtype in record_types():
                    counts = dict(db.session.execute(
                        select(rtype.model.state, func.count()).where(rtype.model.state.in_(pending))
                        .group_by(rtype.model.state)).all())
                    for state in pending:
                        gauge.add_metric([rtype.key, state], counts.get(state, 0))
            except Exception as exc:  # noqa: BLE001 - metrics never fail the scrape
                log.warning("review queue metrics unavailable (%s)", type(exc).__name__)
            finally:
                db.session.remove()
        yield gauge


def _allowed() -> bool:
    cfg = current_app.config
    token = cfg.get("METRICS_TOKEN") or ""
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), token.encode()):
        return True
    try:
        addr = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    for net in str(cfg.get("METRICS_ALLOWED_IPS") or "").split(","):
        net = net.strip()
        if net:
            try:
                if addr in ipaddress.ip_network(net, strict=False):
                    return True
            except ValueError:
                log.warning("METRICS_ALLOWED_IPS: %r is not an address or network", net)
    return False


def exposition(app) -> tuple[bytes, str]:
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

    registry = app.extensions[_KEY].registry
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(ReviewQueueCollector(app))
    return generate_latest(registry), CONTENT_TYPE_LATEST


def init_app(app) -> None:
    from prometheus_client import CollectorRegistry
    from prometheus_flask_exporter import PrometheusMetrics

    registry = CollectorRegistry()
    path = app.config.get("METRICS_PATH", "/metrics")
    quiet = [r"^/healthz$", r"^/readyz$", r"^/static/"] + ([f"^{path}$"] if path else [])
    PrometheusMetrics(app, path=None, registry=registry, group_by="endpoint", excluded_paths=quiet)
    app.extensions[_KEY] = _Metrics(registry)
    registry.register(ReviewQueueCollector(app))
    if not path:
        return

    def metrics_view():
        if not _allowed():
            abort(404)
        body, content_type = exposition(app)
        return Response(body, mimetype=None, content_type=content_type, headers={"Cache-Control": "no-store"})

    app.add_url_rule(path, "metrics", metrics_view, methods=["GET"])
