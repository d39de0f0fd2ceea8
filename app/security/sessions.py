"""Sessions that end (README, Security model).

A login writes the user's **session epoch** and two timestamps into the signed
session cookie.  Every request loads the user through :func:`accept`, which
refuses the session when

* the user's unit is disabled (disabled users are refused by FAB's loader),
* the epoch in the cookie is not the user's current one: a password change
  (self, SMS reset, reset by the unit account or an admin) and a logout bump it,
  so every other copy of the cookie, and a copy replayed later, is dead,
* the session was idle longer than ``SESSION_IDLE_TIMEOUT`` or is older than
  ``SESSION_ABSOLUTE_LIFETIME``.

:func:`require_password_change` is the one global check of the first-login
password change: a user still on an initial password reaches only the
修改密码 page and 退出.
"""
from __future__ import annotations

import time

from flask import current_app, redirect, request, session, url_for
from flask_login import current_user

from app.i18n import N_, notify

EPOCH, LOGIN_AT, SEEN_AT = "_epoch", "_login_at", "_seen_at"
# Refresh the idle timestamp at most this often: fewer cookie rewrites.
SEEN_RESOLUTION = 60

MSG_UNIT_DISABLED = N_("该单位已被停用，无法继续使用，请联系平台管理员")
MSG_ENDED = N_("登录状态已失效（密码已修改或已在其他地方退出），请重新登录")
MSG_EXPIRED = N_("登录已超时，请重新登录")
MSG_CHANGE_FIRST = N_("首次登录请先修改初始密码")

# Endpoints a user who must change the initial password can still reach.
PASSWORD_CHANGE_ALLOWED = {"HallView.password", "UnitLoginView.logout", "static", "appbuilder.static",
                           "LocaleView.index"}


def start(user) -> None:
    """Call right after ``login_user``: bind the cookie to the user's epoch."""
    now = int(time.time())
    session.permanent = True
    session[EPOCH] = user.session_epoch or 0
    session[LOGIN_AT] = now
    session[SEEN_AT] = now


def keep_current(user) -> None:
    """After the user's own password change: this session lives on, the others end."""
    session[EPOCH] = user.session_epoch or 0


def _refusal(user) -> str | None:
    if user.unit_id is not None and (user.unit is None or not user.unit.active):
        return MSG_UNIT_DISABLED
    if session.get(EPOCH) != (user.session_epoch or 0):
        return MSG_ENDED
    cfg = current_app.config
    now = time.time()
    login_at, seen_at = session.get(LOGIN_AT), session.get(SEEN_AT)
    if not isinstance(login_at, int) or not isinstance(seen_at, int):
        return MSG_ENDED
    if now - login_at > cfg["SESSION_ABSOLUTE_LIFETIME"].total_seconds():
        return MSG_EXPIRED
    if now - seen_at > cfg["SESSION_IDLE_TIMEOUT"].total_seconds():
        return MSG_EXPIRED
    return None


def forget() -> None:
    for key in ("_user_id", "_fresh", "_id", EPOCH, LOGIN_AT, SEEN_AT):
        session.pop(key, None)


def accept(user):
    """The user if this session may go on, else None (and the session forgets the login)."""
    if user is None:
        forget()
        return None
    reason = _refusal(user)
    if reason is not None:
        forget()
        notify(reason, "warning")
        return None
    now = int(time.time())
    if now - session[SEEN_AT] >= SEEN_RESOLUTION:
        session[SEEN_AT] = now
    return user


def require_password_change():
    """before_request: an initial password must be changed before anything else."""
    if request.endpoint in PASSWORD_CHANGE_ALLOWED or request.endpoint is None:
        return None
    if not current_user.is_authenticated or not getattr(current_user, "must_change_password", False):
        return None
    notify(MSG_CHANGE_FIRST, "warning")
    return redirect(url_for("HallView.password"), code=303)
