"""我的API密钥: named keys with an expiry that act as their owner (FAB 5.3's API keys).

FAB's ``ab_api_key`` holds the keys: the secret (``sst_…``) is shown once, stored as a
salted hash plus a keyed lookup hash, and can be revoked.  Only unit users (the unit
account and its operators) hold keys; a key acts with its owner's role and unit, and is
refused (401) once it is expired or revoked, its owner is disabled, or its unit is
disabled.  Password login through the API stays closed: a key is the only credential
``/api/v1`` accepts (README, Security model).
"""
from __future__ import annotations

import datetime as dt

from flask import current_app, g
from sqlalchemy import func, select

from app.extensions import db
from app.i18n import N_
from app.models import AppUser, UserKind
from app.services import audit
from app.services.errors import DomainError, ValidationFailed
from app.services.text import text_error

MAX_DAYS = 366  # a key lives at most a year: the owner makes a new one, the old one ends
MAX_ACTIVE_KEYS = 20
NAME_MAX = 50
UNIT_KINDS = (UserKind.UNIT.value, UserKind.OPERATOR.value)


def _model():
    return current_app.appbuilder.sm.api_key_model


def local_now() -> dt.datetime:
    """FAB compares ``expires_on`` with the server's local clock (``ApiKey.is_active``)."""
    return dt.datetime.now()


def keys_of(user: AppUser) -> list:
    model = _model()
    return list(db.session.scalars(select(model).where(model.user_id == user.id)
                                   .order_by(model.created_on.desc(), model.id.desc())))


def is_reviewer(user: AppUser) -> bool:
    """A platform reviewer (初审员 / 复审员) who is not also a platform admin: admins get no keys."""
    from app.security.roles import REVIEWER_FINAL, REVIEWER_INITIAL

    names = {r.name for r in user.roles}
    admin = current_app.appbuilder.sm.auth_role_admin
    return user.kind == UserKind.PLATFORM.value and bool(names & {REVIEWER_INITIAL, REVIEWER_FINAL}) \
        and admin not in names


def may_hold_keys(user: AppUser | None) -> bool:
    """Unit accounts and operators (acting for their unit), and platform reviewers (审核管理)."""
    if user is None:
        return False
    if user.kind in UNIT_KINDS:
        return user.unit is not None
    return is_reviewer(user)


def _check_owner(user: AppUser) -> None:
    if not may_hold_keys(user):
        raise DomainError(N_("只有单位账号、经办人和审核人员可以创建API密钥"))


def create(user: AppUser, name: str, expires: dt.date | None) -> dict:
    """A new key of ``user``; the returned dict carries the secret (``key``) this once."""
    _check_owner(user)
    errors: dict[str, str] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = N_("请填写密钥名称")
    elif text_error(name, NAME_MAX):
        errors["name"] = text_error(name, NAME_MAX)
    elif any(k.name == name and k.is_active for k in keys_of(user)):
        errors["name"] = N_("已有同名的有效密钥，请换一个名称")
    today = local_now().date()
    if expires is None:
        errors["expires"] = N_("请选择有效期至（日期）")
    elif expires < today:
        errors["expires"] = N_("有效期至不能早于今天")
    elif expires > today + dt.timedelta(days=MAX_DAYS):
        errors["expires"] = N_("有效期最长一年")
    active = sum(1 for k in keys_of(user) if k.is_active)
    if not errors and active >= MAX_ACTIVE_KEYS:
        errors["name"] = N_("有效密钥已达上限（20个），请先吊销不用的密钥")
    if errors:
        raise ValidationFailed(errors)
    sm = current_app.appbuilder.sm
    created = sm.create_api_key(user, name, expires_on=dt.datetime.combine(expires, dt.time(23, 59, 59)))
    if created is None:  # FAB logged why and rolled back
        raise DomainError(N_("创建API密钥失败，请稍后再试"))
    audit.record("api_key_created", user=user, detail=f"{name}（{created['uuid']}，有效期至{expires:%Y-%m-%d}）")
    db.session.commit()
    return created


def revoke(user: AppUser, key_uuid: str) -> None:
    """吊销 one of the user's own keys (another user's key is simply not found)."""
    model = _model()
    key = db.session.scalar(select(model).where(model.uuid == str(key_uuid or "")[:36], model.user_id == user.id))
    if key is None:
        raise DomainError(N_("密钥不存在"))
    if key.revoked_on is not None:
        raise DomainError(N_("该密钥已吊销"))
    key.revoked_on = local_now()
    audit.record("api_key_revoked", user=user, detail=f"{key.name}（{key.uuid}）")
    db.session.commit()


def status_label(key) -> str:
    if key.revoked_on is not None:
        return N_("已吊销")
    if not key.active or (key.expires_on is not None and key.expires_on < local_now()):
        return N_("已过期")
    return N_("有效")


def accept(key) -> AppUser | None:
    """The owner a valid key acts as, or None: expired / revoked keys, disabled owners and
    disabled units, and accounts that are not a unit's, are refused."""
    if key is None or not key.is_active:
        return None
    user = db.session.get(AppUser, key.user_id)
    if user is None or not user.active or not may_hold_keys(user):
        return None
    if user.kind in UNIT_KINDS and not user.unit.active:
        return None
    g.api_key_name = key.name
    g.api_key_id = key.id
    return user


def active_count(user: AppUser) -> int:
    model = _model()
    return db.session.scalar(select(func.count(model.id)).where(
        model.user_id == user.id, model.revoked_on.is_(None))) or 0


def purge_idempotency_replies(older_than: dt.datetime) -> int:
    """Stored ``Idempotency-Key`` replies older than the retry window (the daily run)."""
    from sqlalchemy import delete

    from app.models import ApiIdempotency

    result = db.session.execute(delete(ApiIdempotency).where(ApiIdempotency.created_at < older_than))
    return result.rowcount or 0
