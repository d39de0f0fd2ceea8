"""One log line per request, with a request id; plain text or JSON.

The id comes from the load balancer's ``X-Request-ID`` when it looks like one
(letters, digits, ``.-_``, at most 64), otherwise it is made here; it is returned
in the ``X-Request-ID`` header, shown on error pages and stamped on every log
record written during the request.  Query strings are never logged (searches
may carry phones or names).
"""
from __future__ import annotations

import json
import logging
import re
import time
import uuid

from flask import g, has_request_context, request
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import NoInspectionAvailable

from app.ops.redact import RedactingFilter

log = logging.getLogger("app.request")

_INCOMING_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_QUIET_PATHS = ("/healthz", "/readyz")
_HANDLER_MARK = "_yibao_handler"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def current_request_id() -> str | None:
    if has_request_context():
        return g.get("request_id")
    return None


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request fields."""

    FIELDS = ("request_id", "method", "path", "endpoint", "status", "duration_ms", "user_id", "unit_id",
              "remote_addr")

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in self.FIELDS:
            value = getattr(record, field, None)
            if value is not None and value != "-":
                out[field] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def configure_logging(app) -> None:
    """Root handler to stderr (gunicorn/systemd collect it), text or JSON by ``LOG_FORMAT``."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, _HANDLER_MARK, False)), None)
    if handler is None:
        handler = logging.StreamHandler()
        setattr(handler, _HANDLER_MARK, True)
        handler.addFilter(RequestIdFilter())
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
    if app.config.get("LOG_FORMAT") == "json":
        formatter = JsonFormatter()
        formatter.converter = time.gmtime
    else:
        formatter = logging.Formatter(TEXT_FORMAT)
    handler.setFormatter(formatter)
    root.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    logging.getLogger("flask_appbuilder").setLevel(logging.WARNING)
    _install_record_factory()


def _install_record_factory() -> None:
    """Every record, whichever handler takes it (gunicorn's, pytest's), carries the
    request id and has ID numbers and phones masked: filters on our handler alone
    would miss the others."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, _HANDLER_MARK, False):
        return

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        RequestIdFilter().filter(record)
        _REDACT.filter(record)
        return record

    setattr(factory, _HANDLER_MARK, True)
    logging.setLogRecordFactory(factory)


_REDACT = RedactingFilter()


def _user_ids() -> tuple[int | None, int | None]:
    """The ids of the user this request already loaded, read without ever querying.

    After an error handler rolled the session back the user object is expired: touching its
    attributes would reload it, and with the database gone that reload turned the 503 page
    into a 500.  The identity map and the instance's own dict need no database.
    """
    user = g.get("_login_user")
    if g.get("_api_key_user"):  # an integration API call: the key's owner
        user = g.get("user")
    if user is None:
        return None, None
    try:
        state = sa_inspect(user)
    except NoInspectionAvailable:  # FAB's anonymous user
        return None, None
    identity = state.identity
    return (identity[0] if identity else None), state.dict.get("unit_id")


def init_app(app) -> None:
    configure_logging(app)

    @app.before_request
    def assign_request_id():
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _INCOMING_ID.match(incoming) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def log_request(response):
        request_id = g.get("request_id") or uuid.uuid4().hex
        response.headers["X-Request-ID"] = request_id
        started = g.get("request_started")
        duration_ms = round((time.perf_counter() - started) * 1000, 1) if started else None
        user_id, unit_id = _user_ids()
        quiet = request.path in _QUIET_PATHS and response.status_code < 400
        log.log(
            logging.DEBUG if quiet else logging.INFO,
            "%s %s %s %sms user=%s unit=%s",
            request.method, request.path, response.status_code, duration_ms,
            user_id if user_id is not None else "-", unit_id if unit_id is not None else "-",
            extra={"method": request.method, "path": request.path,
                   "endpoint": request.endpoint, "status": response.status_code,
                   "duration_ms": duration_ms, "user_id": user_id, "unit_id": unit_id,
                   "remote_addr": request.remote_addr},
        )
        return response

    @app.context_processor
    def request_id_in_templates():
        return {"request_id": current_request_id()}
