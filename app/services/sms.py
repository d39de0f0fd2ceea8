"""Sending SMS: stored without secrets, delivered through the job queue with retries.

``send(phone, text, purpose, **secrets)`` writes an ``sms_message`` row in the
caller's transaction, with every ``{name}`` placeholder of a secret (an initial
password, a verification code) replaced by :data:`~app.models.sms.SECRET_MARK`.
When the caller commits, the message is handed to the job queue (``app/jobs.py``:
RQ with Redis, a thread in development, at once in tests) with the full text
encrypted by the PII key, so not even Redis holds it in the clear; a rolled-back
transaction sends nothing.  The job tries the gateway ``SMS_MAX_ATTEMPTS`` times,
waiting ``SMS_RETRY_BACKOFF`` seconds between tries, and leaves the row 已发送 /
已存储 or 发送失败 with the last error (shown in 短信发件箱).

Gateways (``SMS_BACKEND``): ``database`` (default) delivers to the outbox table
itself; ``http`` posts ``{"phone", "content", "purpose"}`` as JSON to
``SMS_HTTP_URL``.  No text is ever logged.

In development (``SMS_DEV_OUTBOX``, never in production) the full text of the
messages this process sent is kept in its memory, so 短信发件箱 shows demo users
their passwords and codes.
"""
from __future__ import annotations

import json
import logging
import socket
import threading
import time
import urllib.error
import urllib.request
from collections import OrderedDict
from typing import Protocol

from flask import current_app, has_app_context
from sqlalchemy import event, update
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import SmsMessage
from app.models.mixins import utcnow
from app.models import sms as sms_model
from app.models.sms import SECRET_MARK
from app.ops import metrics
from app.ops.redact import mask_phone
from app.security import pii

log = logging.getLogger(__name__)

_PENDING = "sms_pending"  # Session.info key: messages to queue once the transaction commits
_DEV_OUTBOX = "sms_dev_outbox"  # app.extensions key
DEV_OUTBOX_SIZE = 500
_dev_lock = threading.Lock()
MSG_NO_QUEUE = "任务队列不可用"


class SmsGateway(Protocol):
    def send(self, phone: str, content: str, purpose: str) -> str:
        """Deliver the message; return the state reached (``sent`` / ``stored``) or raise."""


class DatabaseSmsGateway:
    """The outbox row is the delivery (development, or no gateway yet)."""

    def send(self, phone: str, content: str, purpose: str) -> str:
        return "stored"


class HttpSmsGateway:
    def __init__(self, url: str, timeout: float = 10.0):
        self.url = url
        self.timeout = timeout

    def send(self, phone: str, content: str, purpose: str) -> str:
        body = json.dumps({"phone": phone, "content": content, "purpose": purpose}).encode()
        req = urllib.request.Request(
            self.url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 (configured URL)
            resp.read()
        return "sent"


def gateway() -> SmsGateway:
    config = current_app.config
    if config.get("SMS_BACKEND") == "http":
        return HttpSmsGateway(config["SMS_HTTP_URL"], float(config.get("SMS_HTTP_TIMEOUT", 10)))
    return DatabaseSmsGateway()


def fill(text: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        text = text.replace("{%s}" % name, value)
    return text


def send(phone: str, text: str, purpose: str, **secrets: str) -> SmsMessage:
    """Store the message (secrets masked) and queue its delivery for when the caller commits."""
    message = SmsMessage(phone=phone, purpose=purpose, status="queued",
                         content=fill(text, {name: SECRET_MARK for name in secrets}))
    db.session.add(message)
    db.session.flush()
    db.session.info.setdefault(_PENDING, []).append((message.id, message.content, fill(text, secrets)))
    return message


@event.listens_for(Session, "after_commit")
def _queue_after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending and has_app_context():
        for message_id, stored, full_text in pending:
            _dispatch(message_id, stored, full_text)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def _dispatch(message_id: int, stored: str, full_text: str) -> None:
    from app import jobs

    if current_app.config.get("SMS_DEV_OUTBOX"):
        _remember(message_id, stored, full_text)
    try:
        jobs.enqueue(deliver, message_id, pii.encrypt(full_text), job_title="短信发送")
    except jobs.JobQueueUnavailable:
        _mark(message_id, status="failed", last_error=MSG_NO_QUEUE)


def _mark(message_id: int, **values) -> None:
    table = SmsMessage.__table__
    with db.engine.begin() as conn:
        conn.execute(update(table).where(table.c.id == message_id).values(**values))


def _describe(exc: Exception) -> str:
    """What went wrong, for the admin and the log: never the message text."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        return f"URLError: {reason.__class__.__name__ if isinstance(reason, Exception) else reason}"[:255]
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timeout"
    return exc.__class__.__name__


def deliver(message_id: int, token: str) -> dict:
    """The job: try the gateway with retries and backoff; the row says how it ended."""
    message = db.session.get(SmsMessage, message_id)
    if message is None:  # pruned, or the caller's transaction did not keep it
        return {"status": "missing"}
    if message.status in ("sent", "stored"):
        return {"status": message.status}
    text = pii.decrypt(token)
    config = current_app.config
    attempts = max(1, int(config.get("SMS_MAX_ATTEMPTS", 1)))
    backoff = list(config.get("SMS_RETRY_BACKOFF") or [0])
    gw = gateway()
    for attempt in range(1, attempts + 1):
        message.attempts = attempt
        try:
            state = gw.send(message.phone, text, message.purpose)
        except Exception as exc:  # noqa: BLE001 - every gateway failure is retried, then shown
            message.last_error = _describe(exc)
            log.warning("SMS %s to %s (%s): attempt %s of %s failed: %s", message.id, mask_phone(message.phone),
                        message.purpose, attempt, attempts, message.last_error)
            if attempt == attempts:
                message.status = "failed"
                db.session.commit()
                metrics.sms_event(message.purpose, "failed")
                return {"status": "failed", "attempts": attempt}
            db.session.commit()
            time.sleep(backoff[min(attempt - 1, len(backoff) - 1)])
            continue
        message.status, message.sent_at, message.last_error = state, utcnow(), None
        db.session.commit()
        metrics.sms_event(message.purpose, state)
        log.info("SMS %s to %s (%s): %s after %s attempt(s)", message.id, mask_phone(message.phone),
                 message.purpose, state, attempt)
        return {"status": state, "attempts": attempt}
    return {"status": message.status}


# -- development outbox (never in production) ------------------------------------
def _store() -> OrderedDict:
    return current_app.extensions.setdefault(_DEV_OUTBOX, OrderedDict())


def _remember(message_id: int, stored: str, full_text: str) -> None:
    with _dev_lock:
        store = _store()
        store[message_id] = (stored, full_text)
        while len(store) > DEV_OUTBOX_SIZE:
            store.popitem(last=False)


def dev_text(message: SmsMessage | None) -> str | None:
    """The full text of a message this process sent, in development only."""
    if message is None or not has_app_context() or not current_app.config.get("SMS_DEV_OUTBOX"):
        return None
    with _dev_lock:
        kept = _store().get(message.id)
    # an id reused after a deletion (SQLite) is another message: the stored text tells
    return kept[1] if kept is not None and kept[0] == message.content else None


sms_model.dev_text_lookup = dev_text  # 短信发件箱 shows this process's full texts in development
