"""SMS pumping guard: every send path asks :func:`allow` first (README, Security model).

Limits are configuration (``limits`` syntax, several separated by ``;``):

* ``SMS_LIMIT_PER_PHONE``: messages to one phone number,
* ``SMS_LIMIT_PER_UNIT``: messages caused by one unit (new operators, resets, recovery),
* ``SMS_LIMIT_PER_IDENTIFIER``: 忘记密码 requests for one typed identifier, known or not
  (so the answer, throttled or not, does not tell which accounts exist); the resend
  cooldown ``SMS_RESEND_COOLDOWN`` is one more limit of that kind.

Counters live in the rate limiter's storage (``RATELIMIT_STORAGE_URI``: Redis when
several app servers run), whose ``hit`` is atomic.  This module is separate from
``app.services.sms`` (storage and delivery) on purpose: senders call both.
"""
from __future__ import annotations

from flask import current_app
from flask_babel import gettext
from limits import RateLimitItem, parse_many

from app.i18n import N_
from app.services.errors import DomainError

MSG_THROTTLED = N_("短信发送过于频繁：%(scope)s每%(period)s最多发送%(amount)s条，请稍后再试")
SCOPES = {
    "phone": N_("同一手机号"),
    "unit": N_("同一单位"),
    "identifier": N_("同一账号"),
}
PERIODS = {"second": N_("秒"), "minute": N_("分钟"), "hour": N_("小时"), "day": N_("日"), "month": N_("月"),
           "year": N_("年")}


class SmsThrottled(DomainError):
    pass


def _strategy():
    return current_app.appbuilder.sm.limiter.limiter


def _items(scope: str) -> list[RateLimitItem]:
    cfg = current_app.config
    if scope == "identifier":
        seconds = int(cfg["SMS_RESEND_COOLDOWN"].total_seconds())
        spec = cfg["SMS_LIMIT_PER_IDENTIFIER"] + (f";1 per {seconds} second" if seconds > 0 else "")
    else:
        spec = cfg[f"SMS_LIMIT_PER_{scope.upper()}"]
    return list(parse_many(spec))


def _period(item: RateLimitItem) -> str:
    name = gettext(PERIODS.get(item.GRANULARITY.name, item.GRANULARITY.name))
    return name if item.multiples == 1 else gettext(N_("%(n)s%(unit)s"), n=item.multiples, unit=name)


def message(scope: str, item: RateLimitItem) -> str:
    return gettext(MSG_THROTTLED, scope=gettext(SCOPES[scope]), period=_period(item), amount=item.amount)


def allow(*, phone: str | None = None, unit_id: int | None = None, identifier: str | None = None,
          field: str | None = None) -> None:
    """Count one SMS against every given key, or raise :class:`SmsThrottled` (nothing counted
    when a limit is already reached)."""
    keys = [(scope, str(value)) for scope, value in
            (("identifier", (identifier or "").strip().lower() or None), ("phone", phone), ("unit", unit_id))
            if value is not None]
    strategy = _strategy()
    checks = [(scope, key, item) for scope, key in keys for item in _items(scope)]
    for scope, key, item in checks:
        if not strategy.test(item, "sms", scope, key):
            raise SmsThrottled(message(scope, item), field=field)
    for scope, key, item in checks:
        if not strategy.hit(item, "sms", scope, key):  # lost a race for the last one
            raise SmsThrottled(message(scope, item), field=field)
