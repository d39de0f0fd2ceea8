"""Operations: request ids and request logs, health checks, metrics, redaction, retention.

``init_app(app)`` is called by the factory before FAB registers its own hooks, so
the request id exists for everything that logs during a request.
"""
from __future__ import annotations


def init_app(app) -> None:
    from app.ops import health, metrics, requestlog

    requestlog.init_app(app)
    health.init_app(app)
    metrics.init_app(app)
