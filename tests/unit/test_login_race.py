"""Counters that cannot be raced (issue 10 §4): threads on PostgreSQL.

Each thread is its own request with its own connection; a barrier releases them
together.  The spy counts how many guesses were actually compared with the
stored hash: never more than the configured limit.
"""
from __future__ import annotations

import os
import re
import threading

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AppUser, SmsCode
from app.services import auth, password_reset
from app.services.errors import DomainError
from tests.factories import PASSWORD, make_unit_user, sms_text

pytestmark = pytest.mark.skipif(
    not (os.environ.get("TEST_DATABASE_URL") or "").startswith("postgresql"),
    reason="row-level concurrency is exercised on PostgreSQL (SQLite serialises writers)")


def _race(app, n: int, work) -> list[str]:
    barrier = threading.Barrier(n)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run():
        with app.test_request_context():
            barrier.wait()
            try:
                work()
                result = "ok"
            except DomainError as exc:
                result = exc.message
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                result = f"error: {exc!r}"
            finally:
                db.session.remove()
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(outcomes) == n
    assert not [o for o in outcomes if o.startswith("error")], outcomes
    return outcomes


def _spy(monkeypatch, module, name="check_password_hash"):
    real = getattr(module, name)
    calls = []
    lock = threading.Lock()

    def counting(*args, **kwargs):
        with lock:
            calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counting)
    return calls


def test_twenty_concurrent_wrong_logins_check_at_most_five_guesses(app, monkeypatch):
    user = make_unit_user()
    limit = app.config["LOGIN_MAX_FAILURES"]
    username = user.username  # threads never touch this thread's session
    checked = _spy(monkeypatch, auth)
    outcomes = _race(app, 20, lambda: auth.authenticate(username, "Wrong-pass1"))
    assert "ok" not in outcomes
    assert len(checked) <= limit, f"{len(checked)} guesses checked, limit {limit}"
    db.session.expire_all()
    assert db.session.get(AppUser, user.id).locked_until is not None
    with pytest.raises(DomainError) as exc:
        auth.authenticate(user.username, PASSWORD)
    assert "锁定" in exc.value.message


def test_thirty_concurrent_wrong_sms_codes_compare_at_most_five(app, monkeypatch):
    user = make_unit_user()
    password_reset.request_code(user.username)
    code = re.search(r"验证码：(\d{6})", sms_text()).group(1)
    wrong = "000000" if code != "000000" else "111111"
    limit = app.config["SMS_CODE_MAX_ATTEMPTS"]
    username = user.username
    checked = _spy(monkeypatch, password_reset)
    outcomes = _race(app, 30, lambda: password_reset.reset_password(username, wrong, "Changed1234",
                                                                     "Changed1234"))
    assert "ok" not in outcomes
    assert len(checked) <= limit, f"{len(checked)} codes compared, limit {limit}"
    db.session.expire_all()
    row = db.session.scalar(select(SmsCode))
    assert row.attempts <= limit and row.used_at is not None  # spent: the right code is dead too


def test_two_concurrent_right_codes_reset_the_password_once(app):
    user = make_unit_user()
    password_reset.request_code(user.username)
    code = re.search(r"验证码：(\d{6})", sms_text()).group(1)
    username = user.username
    outcomes = _race(app, 6, lambda: password_reset.reset_password(username, code, "Changed1234",
                                                                    "Changed1234"))
    assert outcomes.count("ok") == 1, outcomes
