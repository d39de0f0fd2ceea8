"""The HTTP edge: trusted reverse proxies and security headers (issue 11 §7, §8).

* ``TRUSTED_PROXIES`` (count) tells Werkzeug's ProxyFix how many proxies in front of
  the app append to ``X-Forwarded-For`` / ``X-Forwarded-Proto``.  With 0 (the default)
  those headers are ignored, so a client cannot pick its own address; behind nginx set 1.
  Rate limits, the audit log and secure cookies/redirects then see the real client.
* Flask-Talisman sets the Content-Security-Policy (scripts only from the app's own
  static files or carrying the per-request nonce, no inline handlers, no framing),
  Referrer-Policy, X-Content-Type-Options and, in production, HSTS.
"""
from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix


class ConfiguredProxyFix:
    """ProxyFix with the counts read from the app's config on each request."""

    def __init__(self, app: Flask, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        count = int(self.app.config.get("TRUSTED_PROXIES") or 0)
        if count <= 0:
            return self.wsgi_app(environ, start_response)
        return ProxyFix(self.wsgi_app, x_for=count, x_proto=count,
                        x_host=count if self.app.config.get("TRUST_FORWARDED_HOST") else 0,
                        x_port=0, x_prefix=0)(environ, start_response)


def install(app: Flask) -> None:
    from flask_talisman import Talisman

    app.wsgi_app = ConfiguredProxyFix(app, app.wsgi_app)
    Talisman(
        app,
        content_security_policy=app.config["CONTENT_SECURITY_POLICY"],
        content_security_policy_nonce_in=["script-src"],
        force_https=app.config.get("FORCE_HTTPS", False),
        frame_options="DENY",
        strict_transport_security=app.config.get("HSTS_ENABLED", False),
        strict_transport_security_max_age=app.config.get("HSTS_MAX_AGE", 31536000),
        strict_transport_security_include_subdomains=False,
        referrer_policy="strict-origin-when-cross-origin",
        session_cookie_secure=app.config.get("SESSION_COOKIE_SECURE", False),
        session_cookie_http_only=True,
        session_cookie_samesite=app.config.get("SESSION_COOKIE_SAMESITE", "Lax"),
        x_content_type_options=True,
    )
