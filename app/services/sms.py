"""One small SMS gateway interface with two backends.

``database`` (default) stores each message in the outbox table and logs it;
``http`` posts ``{"phone", "content"}`` as JSON to ``SMS_HTTP_URL``.
"""
from __future__ import annotations

import json
import logging
import urllib.request
from typing import Protocol

from flask import current_app

from app.extensions import db
from app.models import SmsMessage

log = logging.getLogger(__name__)


class SmsGateway(Protocol):
    def send(self, phone: str, content: str, purpose: str) -> None: ...


class DatabaseSmsGateway:
    def send(self, phone: str, content: str, purpose: str) -> None:
        db.session.add(SmsMessage(phone=phone, content=content, purpose=purpose))
        log.info("SMS to %s (%s): %s", phone, purpose, content)


class HttpSmsGateway:
    def __init__(self, url: str):
        self.url = url

    def send(self, phone: str, content: str, purpose: str) -> None:
        body = json.dumps({"phone": phone, "content": content, "purpose": purpose}).encode()
        req = urllib.request.Request(
            self.url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 (configured URL)
            resp.read()
        db.session.add(SmsMessage(phone=phone, content=content, purpose=purpose, status="sent"))


def gateway() -> SmsGateway:
    if current_app.config.get("SMS_BACKEND") == "http":
        return HttpSmsGateway(current_app.config["SMS_HTTP_URL"])
    return DatabaseSmsGateway()


def send(phone: str, content: str, purpose: str) -> None:
    gateway().send(phone, content, purpose)
