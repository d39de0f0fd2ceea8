"""Security headers (issue 11 §7) and trusted reverse proxies (§8)."""
from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, UnitCategory, UnitRole
from config import ProductionConfig, TestConfig
from tests.conftest import IsolatedClient, csrf_token, login, text
from tests.factories import PASSWORD, make_certified, make_platform_user

SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\son(?:click|submit|change|load|error|mouseover|focus|blur|input|keyup|keydown)\s*=",
                            re.I)


def csp(resp) -> dict[str, str]:
    header = resp.headers.get("Content-Security-Policy", "")
    return {part.split()[0]: part for part in (p.strip() for p in header.split(";")) if part}


def assert_headers(resp) -> None:
    policy = csp(resp)
    assert "frame-ancestors 'none'" in policy["frame-ancestors"]
    script = policy["script-src"]
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script and "'nonce-" in script
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def assert_scripts_carry_the_nonce(resp, url) -> None:
    nonce = re.search(r"'nonce-([^']+)'", csp(resp)["script-src"]).group(1)
    html = text(resp)
    for attrs in SCRIPT_TAG.findall(html):
        if "src=" in attrs:
            src = re.search(r'src="([^"]+)"', attrs).group(1)
            assert src.startswith("/") and not src.startswith("//"), (url, src)  # the app's own files ('self')
        else:
            assert f'nonce="{nonce}"' in attrs, (url, attrs)  # inline script only with this request's nonce
    assert not INLINE_HANDLER.search(html), (url, INLINE_HANDLER.search(html).group(0))


def _simple_get_urls(app, prefixes):
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments or not rule.rule.startswith(prefixes):
            continue
        if rule.rule.endswith((".xlsx", ".csv", "/export", "/template", "/logout/")) or "download" in rule.rule:
            continue
        urls.append(rule.rule)
    return sorted(set(urls))


def test_public_pages_and_error_pages_carry_the_headers(client):
    for url in ("/", "/login/", "/register/unit", "/forgot-password/", "/no-such-page"):
        resp = client.get(url)
        assert_headers(resp)
        assert "Strict-Transport-Security" not in resp.headers  # development / test: plain HTTP
        assert_scripts_carry_the_nonce(resp, url)


def test_every_admin_page_keeps_its_scripts_under_the_policy(app, client):
    make_platform_user("admin1", "Admin")
    login(client, "admin1", PASSWORD)
    client.get("/")  # the first page after login settles the session (as a browser's redirect does)
    checked = 0
    for url in _simple_get_urls(app, ("/admin", "/users", "/roles", "/review", "/national", "/overview")):
        resp = client.get(url)
        if resp.status_code != 200 or "text/html" not in resp.content_type:
            continue
        assert_headers(resp)
        assert_scripts_carry_the_nonce(resp, url)
        checked += 1
    assert checked >= 8


def test_every_unit_page_keeps_its_scripts_under_the_policy(app, client):
    user = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    login(client, user.username, PASSWORD)
    checked = 0
    for url in _simple_get_urls(app, ("/hall", "/procurement", "/unit", "/overview")):
        resp = client.get(url)
        if resp.status_code != 200 or "text/html" not in resp.content_type:
            continue
        assert_headers(resp)
        assert_scripts_carry_the_nonce(resp, url)
        checked += 1
    assert checked >= 5


def test_hsts_in_production_only():
    from app import web

    assert ProductionConfig.HSTS_ENABLED and not TestConfig.HSTS_ENABLED
    flask_app = Flask("hsts")
    flask_app.config.from_object(TestConfig)
    flask_app.config["HSTS_ENABLED"] = True
    flask_app.add_url_rule("/", "index", lambda: "ok")
    web.install(flask_app)
    resp = flask_app.test_client().get("/", base_url="https://localhost")
    assert "max-age=" in resp.headers["Strict-Transport-Security"]


def test_forwarded_address_is_ignored_without_trusted_proxies(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "TRUSTED_PROXIES", 0)
    user = make_certified(UnitCategory.DESIGNATED, UnitRole.DESIGNATED_HOSPITAL)
    token = csrf_token(client)
    client.post("/login/", data={"csrf_token": token, "username": user.username, "password": "wrong1234"},
                headers={"X-Forwarded-For": "203.0.113.9"})
    entry = db.session.scalar(select(AuditLog).where(AuditLog.event == "login_failed"))
    assert entry is not None and entry.ip != "203.0.113.9"


def test_behind_one_trusted_proxy_the_client_address_is_the_forwarded_one(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "TRUSTED_PROXIES", 1)
    user = make_certified(UnitCategory.DESIGNATED, UnitRole.DESIGNATED_HOSPITAL)
    token = csrf_token(client)
    client.post("/login/", data={"csrf_token": token, "username": user.username, "password": "wrong1234"},
                headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.9", "X-Forwarded-Proto": "https",
                         # HTTPS (as the proxy says) makes Flask-WTF check the Referer, as browsers send it
                         "Referer": "https://localhost/login/"})
    entry = db.session.scalar(select(AuditLog).where(AuditLog.event == "login_failed"))
    assert entry.ip == "203.0.113.9"  # the spoofable first entry is not trusted


class ProxiedLowLimit(TestConfig):
    AUTH_RATE_LIMIT = "3 per minute"
    TRUSTED_PROXIES = 1


def test_per_ip_limit_counts_each_client_behind_the_proxy_separately():
    from app import create_app

    app = create_app(ProxiedLowLimit)
    with app.app_context():
        client = IsolatedClient(app, app.response_class, use_cookies=True)
        token = csrf_token(client)

        def post(ip, i):
            return client.post("/login/", data={"csrf_token": token, "username": f"nobody{i}a", "password": "x"},
                               headers={"X-Forwarded-For": ip}).status_code

        assert [post("10.1.1.1", i) for i in range(3)] == [200, 200, 200]
        assert post("10.1.1.1", 4) == 429
        assert post("10.1.1.2", 5) == 200  # a colleague behind the same proxy is not locked out
        db.session.remove()


def test_default_per_ip_limit_is_generous():
    from config import Config

    number, _, period = Config.AUTH_RATE_LIMIT.partition(" per ")
    assert int(number) >= 300 and period.strip() == "minute"
