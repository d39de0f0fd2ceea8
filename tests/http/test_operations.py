"""Operations endpoints and request logging: /healthz, /readyz, /metrics, request ids."""
from __future__ import annotations

import json
import logging
import re

import pytest
from sqlalchemy import text as sql

from app.extensions import db
from config import TestConfig
from tests.conftest import login, text
from tests.factories import PASSWORD, make_unit_user


@pytest.fixture
def migrated(app):
    """The test schema is made by create_all: stamp it at the code's head for /readyz."""
    from flask_migrate import stamp

    stamp()
    yield
    db.session.remove()
    with db.engine.begin() as conn:
        conn.execute(sql("DROP TABLE IF EXISTS alembic_version"))


def test_healthz_answers_without_login(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200 and text(resp) == "ok\n"
    assert resp.headers["Cache-Control"] == "no-store"


def test_readyz_ok_when_database_reachable_and_migrated(client, migrated):
    resp = client.get("/readyz")
    assert resp.status_code == 200 and text(resp) == "ok\n"


def test_readyz_fails_when_migrations_are_behind(client, migrated):
    with db.engine.begin() as conn:
        conn.execute(sql("UPDATE alembic_version SET version_num = '0001'"))
    resp = client.get("/readyz")
    assert resp.status_code == 503
    assert text(resp) == "not ready\n"  # no detail for the caller


def test_readyz_fails_when_database_is_down(tmp_path):
    """A second app whose database cannot be reached: /readyz says 503, /healthz still 200."""
    from app import create_app

    class DownConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = (
            "postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=2"
            if TestConfig.SQLALCHEMY_DATABASE_URI.startswith("postgresql")
            else f"sqlite:///{tmp_path}/missing-dir/none.db")

    down = create_app(DownConfig)
    c = down.test_client()
    resp = c.get("/readyz")
    assert resp.status_code == 503 and text(resp) == "not ready\n"
    assert "127.0.0.1" not in text(resp) and "sqlite" not in text(resp)
    assert c.get("/healthz").status_code == 200


def test_readyz_fails_when_configured_redis_is_down(app, client, migrated, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/5")
    assert client.get("/readyz").status_code == 503


def test_every_response_has_a_request_id_and_one_log_line(client, caplog):
    caplog.set_level(logging.INFO, logger="app.request")
    resp = client.get("/login/?q=13812345678")
    rid = resp.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid)
    lines = [r for r in caplog.records if r.name == "app.request"]
    assert len(lines) == 1
    record = lines[0]
    assert record.request_id == rid and record.status == 200 and record.path == "/login/"
    assert record.duration_ms is not None
    assert "13812345678" not in record.getMessage()  # the query string is never logged


def test_request_id_from_the_load_balancer_is_kept_and_a_forged_one_replaced(client):
    assert client.get("/healthz", headers={"X-Request-ID": "lb-1234.abc"}).headers["X-Request-ID"] == "lb-1234.abc"
    forged = client.get("/healthz", headers={"X-Request-ID": "<script>" + "y" * 80})
    assert re.fullmatch(r"[0-9a-f]{32}", forged.headers["X-Request-ID"])


def test_request_log_names_the_user_and_unit(client, caplog):
    user = make_unit_user()
    login(client, user.username, PASSWORD)
    caplog.set_level(logging.INFO, logger="app.request")
    client.get("/hall/")
    record = [r for r in caplog.records if r.name == "app.request"][-1]
    assert record.user_id == user.id and record.unit_id == user.unit_id


def test_error_page_shows_the_request_id(client):
    resp = client.get("/no/such/page", headers={"X-Request-ID": "support-42"})
    assert resp.status_code == 404
    assert "support-42" in text(resp) and "请求编号" in text(resp)


def test_json_log_lines(app):
    from app.ops.requestlog import JsonFormatter

    record = logging.LogRecord("app.request", logging.INFO, __file__, 1, "GET %s %s", ("/x", 200), None)
    record.request_id, record.status, record.user_id = "abc", 200, 7
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "GET /x 200" and line["request_id"] == "abc"
    assert line["status"] == 200 and line["user_id"] == 7 and line["level"] == "INFO"


def test_logs_never_carry_id_numbers_or_full_phones(caplog):
    caplog.set_level(logging.INFO)
    logging.getLogger("app.somewhere").info("user %s id %s", "13812345678", "11010519491231002X")
    message = caplog.records[-1].getMessage()
    assert "13812345678" not in message and "11010519491231002X" not in message
    assert "138****5678" in message and "110105********002X" in message


def test_metrics_refused_to_strangers_and_served_to_allowed(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_ALLOWED_IPS", "10.0.0.0/8")
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "s3cret-token")
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
    ok = client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert ok.status_code == 200


def _sample(body: str, name: str, **labels) -> float:
    total = 0.0
    for line in body.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            if all(f'{k}="{v}"' in line for k, v in labels.items()):
                total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_count_requests_logins_lockouts_and_review_queues(app, client):
    from app.services import audit

    user = make_unit_user()
    before = text(client.get("/metrics"))
    login(client, user.username, PASSWORD)
    client.get("/no/such/page")
    audit.record("account_locked", user=user)
    db.session.commit()
    after = text(client.get("/metrics"))
    assert _sample(after, "yibao_logins_total", result="success") == _sample(before, "yibao_logins_total",
                                                                               result="success") + 1
    assert _sample(after, "yibao_lockouts_total") == _sample(before, "yibao_lockouts_total") + 1
    assert _sample(after, "flask_http_request_total", status="404") >= 1
    assert _sample(after, "flask_http_request_duration_seconds_count", endpoint="UnitLoginView.login",
                   method="POST") == _sample(before, "flask_http_request_duration_seconds_count",
                                             endpoint="UnitLoginView.login", method="POST") + 1
    assert 'yibao_review_queue{record_type="product",state="pending_initial"} 0.0' in after
