"""Append-only audit log of security events (and, later, workflow transitions)."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from flask_appbuilder import Model
from sqlalchemy import DateTime, Integer, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from app.models.mixins import utcnow


EVENT_LABELS = {
    "login": "登录成功",
    "login_failed": "登录失败",
    "account_locked": "账号锁定",
    "login_refused": "登录被拒绝",
    "rate_limited": "请求过于频繁",
    "logout": "退出登录",
    "register": "单位注册",
    "password_changed": "修改密码",
    "password_reset_code": "发送找回密码验证码",
    "password_reset": "找回密码",
    "password_reset_failed": "找回密码失败",
    "role_certified": "角色认证",
    "ca_bound": "绑定CA",
    "ca_unbound": "解绑CA",
    "unit_disabled": "停用单位",
    "unit_enabled": "启用单位",
    "ceiling_changed": "修改权限上限",
    "operator_added": "新增经办人",
    "operator_disabled": "停用经办人",
    "operator_enabled": "启用经办人",
    "operator_password_reset": "重置经办人密码",
    "account_role_added": "添加账号角色",
    "account_role_changed": "修改账号角色",
    "account_role_deleted": "删除账号角色",
    "account_role_assigned": "分配账号",
    "account_role_unassigned": "取消分配账号",
}


class AuditLog(Model):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow, index=True)
    event: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    username: Mapped[Optional[str]] = mapped_column(String(128), nullable=True)
    user_id: Mapped[Optional[int]] = mapped_column(Integer, nullable=True, index=True)
    unit_id: Mapped[Optional[int]] = mapped_column(Integer, nullable=True, index=True)
    ip: Mapped[Optional[str]] = mapped_column(String(64), nullable=True)
    detail: Mapped[Optional[str]] = mapped_column(Text, nullable=True)

    @property
    def event_label(self) -> str:
        return EVENT_LABELS.get(self.event, self.event)


class AuditLogIsAppendOnly(RuntimeError):
    pass


@event.listens_for(AuditLog, "before_update")
def _refuse_update(mapper, connection, target):  # pragma: no cover - guard
    raise AuditLogIsAppendOnly("audit log rows cannot be changed")


@event.listens_for(AuditLog, "before_delete")
def _refuse_delete(mapper, connection, target):  # pragma: no cover - guard
    raise AuditLogIsAppendOnly("audit log rows cannot be deleted")

