"""SMS: no secret at rest or in a log; delivery through the job queue with retries."""
from __future__ import annotations

import http.server
import json
import logging
import re
import threading
import time

import pytest
from sqlalchemy import select, text as sql

from app import jobs
from app.extensions import db
from app.models import SmsMessage, UnitCategory, UnitRole
from app.models.sms import SECRET_MARK
from app.services import operators, password_reset, sms
from tests.conftest import login, text
from tests.factories import PASSWORD, make_certified, make_platform_user, make_unit_user, new_id_number, new_phone, sms_text


def _raw_sms_rows() -> list[str]:
    """Every column of every sms_message row as SQL returns it, joined per row."""
    return [" | ".join(str(v) for v in row) for row in db.session.execute(sql("SELECT * FROM sms_message")).all()]


def _all_log_text(caplog) -> str:
    return "\n".join(r.getMessage() for r in caplog.records)


def test_initial_password_is_not_stored_nor_logged(caplog):
    caplog.set_level(logging.DEBUG)
    unit_user = make_certified(UnitCategory.DESIGNATED, UnitRole.DESIGNATED_HOSPITAL)
    phone = new_phone()
    operators.add_operator(unit_user, "王五", new_id_number(), phone)
    password = re.search(r"密码：([A-Za-z0-9]+)", sms_text(phone)).group(1)
    rows = _raw_sms_rows()
    assert len(rows) == 1 and password not in rows[0]
    stored = db.session.scalar(select(SmsMessage.content))
    assert f"密码：{SECRET_MARK}" in stored and f"登录账号：{phone}" in stored  # template and phone kept
    assert password not in _all_log_text(caplog)


def test_reset_password_and_verification_code_are_not_stored_nor_logged(caplog):
    caplog.set_level(logging.DEBUG)
    unit_user = make_certified(UnitCategory.DESIGNATED, UnitRole.DESIGNATED_HOSPITAL)
    operator = operators.add_operator(unit_user, "王五", new_id_number(), new_phone())
    operators.reset_password(operator, unit_user)
    reset = re.search(r"密码：([A-Za-z0-9]+)", sms_text(operator.phone)).group(1)
    other = make_unit_user()
    password_reset.request_code(other.username)
    code = re.search(r"验证码：(\d{6})", sms_text(other.unit.contact_phone)).group(1)
    rows = "\n".join(_raw_sms_rows())
    assert reset not in rows and f"验证码：{SECRET_MARK}" in rows
    assert not re.search(r"验证码：\d", rows)
    logs = _all_log_text(caplog)
    assert reset not in logs and f"验证码：{code}" not in logs


def test_queued_job_carries_the_text_encrypted(monkeypatch):
    """With RQ the job's arguments sit in Redis: the text travels encrypted with the PII key."""
    seen = []
    real_enqueue = jobs.enqueue

    def spy(func, *args, **kwargs):
        seen.append(args)
        return real_enqueue(func, *args, **kwargs)

    monkeypatch.setattr(jobs, "enqueue", spy)
    user = make_unit_user()
    password_reset.request_code(user.username)
    code = re.search(r"验证码：(\d{6})", sms_text()).group(1)
    assert len(seen) == 1
    assert code not in json.dumps(seen[0], default=str) and "验证码" not in json.dumps(seen[0], ensure_ascii=False)


def test_rolled_back_transaction_sends_nothing(app, monkeypatch):
    queued = []
    monkeypatch.setattr(jobs, "enqueue", lambda *a, **k: queued.append(a))
    sms.send("13900000001", "验证码：{code}", "password_reset", code="123456")
    db.session.rollback()
    db.session.commit()
    assert db.session.scalar(select(SmsMessage)) is None and queued == []


def test_outbox_page_shows_the_text_in_development_only(app, client, monkeypatch):
    make_platform_user("smsadmin", "Admin")
    unit_user = make_certified(UnitCategory.DESIGNATED, UnitRole.DESIGNATED_HOSPITAL)
    phone = new_phone()
    operators.add_operator(unit_user, "王五", new_id_number(), phone)
    password = re.search(r"密码：([A-Za-z0-9]+)", sms_text(phone)).group(1)
    login(client, "smsadmin", PASSWORD)
    assert password in text(client.get("/admin/sms/list/"))  # development: demo users read it here
    monkeypatch.setitem(app.config, "SMS_DEV_OUTBOX", False)  # production
    page = text(client.get("/admin/sms/list/"))
    assert password not in page and SECRET_MARK in page and phone in page
    message_id = db.session.scalar(select(SmsMessage.id))
    show = text(client.get(f"/admin/sms/show/{message_id}"))
    assert password not in show and SECRET_MARK in show


def test_production_config_has_no_development_outbox():
    from config import ProductionConfig

    assert ProductionConfig.SMS_DEV_OUTBOX is False


# -- delivery through the queue ---------------------------------------------------
class _Gateway(http.server.BaseHTTPRequestHandler):
    plan: list = []  # per request: an HTTP status, or ("sleep", seconds)
    received: list = []

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append(body)
        step = type(self).plan.pop(0) if type(self).plan else 200
        if isinstance(step, tuple):
            time.sleep(step[1])
            step = 200
        self.send_response(step)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway(app, monkeypatch):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Gateway.plan, _Gateway.received = [], []
    monkeypatch.setitem(app.config, "SMS_BACKEND", "http")
    monkeypatch.setitem(app.config, "SMS_HTTP_URL", f"http://127.0.0.1:{server.server_port}/sms")
    monkeypatch.setitem(app.config, "SMS_MAX_ATTEMPTS", 3)
    yield _Gateway
    server.shutdown()
    server.server_close()


def _message() -> SmsMessage:
    db.session.expire_all()
    return db.session.scalar(select(SmsMessage).order_by(SmsMessage.id.desc()))


def test_failing_gateway_is_retried_then_shown_failed_to_the_admin(app, client, gateway, monkeypatch, caplog):
    waits = []
    monkeypatch.setattr(sms.time, "sleep", waits.append)
    monkeypatch.setitem(app.config, "SMS_RETRY_BACKOFF", [5, 30])
    gateway.plan = [500, 503, 500]
    user = make_unit_user()
    password_reset.request_code(user.username)  # the page's service answers; the job ran (sync in tests)
    message = _message()
    assert message.status == "failed" and message.attempts == 3 and message.last_error == "HTTP 500"
    assert len(gateway.received) == 3 and waits == [5, 30]  # backoff between the tries
    assert re.search(r"验证码：\d{6}", gateway.received[0]["content"])  # the gateway got the real text
    make_platform_user("smsadmin", "Admin")
    login(client, "smsadmin", PASSWORD)
    page = text(client.get("/admin/sms/list/"))
    assert "发送失败" in page and "HTTP 500" in page
    assert "验证码：" + gateway.received[0]["content"].split("验证码：")[1][:6] not in _all_log_text(caplog)


def test_gateway_that_recovers_delivers_on_a_retry(app, gateway, monkeypatch):
    monkeypatch.setattr(sms.time, "sleep", lambda s: None)
    gateway.plan = [500, 200]
    user = make_unit_user()
    password_reset.request_code(user.username)
    message = _message()
    assert message.status == "sent" and message.attempts == 2 and message.sent_at is not None
    assert message.last_error is None


def test_page_answers_at_once_while_a_slow_gateway_is_tried(app, client, gateway, monkeypatch):
    """In development without Redis the job is a thread of the web process: the request does not wait."""
    monkeypatch.setitem(app.config, "JOB_QUEUE", "thread")
    gateway.plan = [("sleep", 1.5)]
    unit_user = make_certified(UnitCategory.DESIGNATED, UnitRole.DESIGNATED_HOSPITAL)
    login(client, unit_user.username, PASSWORD)
    form = text(client.get("/unit/operators/add"))
    token = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', form).group(1)
    phone = new_phone()
    started = time.monotonic()
    resp = client.post("/unit/operators/add", data={"csrf_token": token, "name": "王五",
                                                    "id_number": new_id_number(), "phone": phone})
    elapsed = time.monotonic() - started
    assert resp.status_code == 302 and elapsed < 1.2
    deadline = time.monotonic() + 15
    while _message().status == "queued" and time.monotonic() < deadline:
        time.sleep(0.1)
    message = _message()
    assert message.status == "sent" and message.phone == phone and len(gateway.received) == 1


def test_queue_down_marks_the_message_failed(app, monkeypatch):
    def down(*args, **kwargs):
        raise jobs.JobQueueUnavailable(jobs.MSG_NO_QUEUE)

    monkeypatch.setattr(jobs, "enqueue", down)
    user = make_unit_user()
    password_reset.request_code(user.username)
    message = _message()
    assert message.status == "failed" and message.last_error == sms.MSG_NO_QUEUE


def test_admin_finds_the_failed_messages(client):
    db.session.add_all([SmsMessage(phone="13900000011", purpose="password_reset", content="验证码：******", status="failed",
                                   attempts=4, last_error="HTTP 503"),
                        SmsMessage(phone="13900000012", purpose="password_reset", content="验证码：******", status="sent",
                                   attempts=1)])
    db.session.commit()
    make_platform_user("smsadmin", "Admin")
    login(client, "smsadmin", PASSWORD)
    page = text(client.get("/admin/sms/list/?_flt_3_status=failed"))
    assert "13900000011" in page and "HTTP 503" in page and "13900000012" not in page
    assert "发送失败" in text(client.get("/admin/sms/list/"))  # the search offers the label
