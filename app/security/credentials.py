"""Every route that takes a password, in one place (README, Security model).

``CHECKS`` verify an existing password, and all of them do it through
``app.services.auth.verify_password``: the same failure counter, lockout,
disabled-unit check (on login, and on every request through the session
loader) and audit.  ``SETS`` only choose a new password (registration, SMS
reset, the admin's forms) through the password rule of ``app.services``.
``tests/http/test_one_way_in.py`` walks the URL map and fails on any route
that shows a password field or answers a credential POST and is not listed here.

Per-IP limits (Flask-Limiter, counters in ``RATELIMIT_STORAGE_URI``) come from
configuration so they can be tuned per deployment.
"""
from __future__ import annotations

from flask import current_app

CHECKS = {
    "UnitLoginView.login": "AUTH_RATE_LIMIT",  # 单位登录
    "HallView.password": "AUTH_RATE_LIMIT",  # 修改密码 (the old password)
}
SETS = {
    "UnitLoginView.reset": "AUTH_RATE_LIMIT",  # 忘记密码 → new password with the SMS code
    "RegisterView.unit": "REGISTRATION_RATE_LIMIT",  # 单位注册
    "PlatformUserView.add": None,  # platform admin creates a platform user
    "PlatformResetPasswordView.this_form_get": None,  # platform admin resets a password
    "PlatformResetPasswordView.this_form_post": None,
}


def _limit(name: str):
    return lambda: current_app.config[name]


def apply_limits(app, limiter) -> None:
    """Per-IP POST limits on the listed routes (UnitLoginView's blueprint is limited by FAB)."""
    for endpoint, setting in {**CHECKS, **SETS}.items():
        if setting is None or endpoint.startswith("UnitLoginView."):
            continue
        app.view_functions[endpoint] = limiter.limit(_limit(setting), methods=["POST"])(
            app.view_functions[endpoint])
