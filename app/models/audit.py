"""Append-only audit log of security events (and, later, workflow transitions)."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from flask_appbuilder import Model
from sqlalchemy import DateTime, Integer, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from app.i18n import N_
from app.models.mixins import utcnow


EVENT_LABELS = {
    "login": N_("登录成功"),
    "login_failed": N_("登录失败"),
    "account_locked": N_("账号锁定"),
    "login_refused": N_("登录被拒绝"),
    "rate_limited": N_("请求过于频繁"),
    "logout": N_("退出登录"),
    "register": N_("单位注册"),
    "password_changed": N_("修改密码"),
    "password_reset_code": N_("发送找回密码验证码"),
    "password_reset": N_("找回密码"),
    "password_reset_failed": N_("找回密码失败"),
    "password_reset_by_admin": N_("管理员重置密码"),
    "role_certified": N_("角色认证"),
    "ca_bound": N_("绑定CA"),
    "ca_unbound": N_("解绑CA"),
    "unit_disabled": N_("停用单位"),
    "unit_enabled": N_("启用单位"),
    "credit_code_released": N_("释放信用代码"),
    "ceiling_changed": N_("修改权限上限"),
    "operator_added": N_("新增经办人"),
    "operator_disabled": N_("停用经办人"),
    "operator_enabled": N_("启用经办人"),
    "operator_password_reset": N_("重置经办人密码"),
    "account_role_added": N_("添加账号角色"),
    "account_role_changed": N_("修改账号角色"),
    "account_role_deleted": N_("删除账号角色"),
    "account_role_assigned": N_("分配账号"),
    "account_role_unassigned": N_("取消分配账号"),
    "product_import": N_("导入耗材产品"),
    "national_import": N_("导入国家数据"),
    "dictionary_added": N_("新增字典项"),
    "dictionary_renamed": N_("修改字典项名称"),
    "dictionary_enabled": N_("启用字典项"),
    "dictionary_disabled": N_("停用字典项"),
    "dictionary_deleted": N_("删除字典项"),
    # workflow transitions: audit.record(f"wf_{action}") in app/workflow/engine.py
    "wf_create": N_("新增业务记录"),
    "wf_import": N_("导入业务记录"),
    "wf_save": N_("保存业务记录"),
    "wf_submit": N_("提交审核"),
    "wf_withdraw": N_("撤回申请"),
    "wf_approve": N_("审核通过"),
    "wf_reject": N_("审核不通过"),
    "wf_change": N_("发起变更"),
    "wf_deactivate": N_("申请停用"),
    "wf_cancel_change": N_("撤销变更"),
    "wf_delete": N_("删除草稿"),
    "qualification_expired": N_("资质已过期"),
    "data_pruned": N_("清理过期数据"),
    "pii_rotated": N_("重新加密个人信息"),
    "api_key_created": N_("创建API密钥"),
    "api_key_revoked": N_("吊销API密钥"),
    "api_key_refused": N_("API密钥被拒绝"),
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
    #: the name of the API key the request came with (None: a page, the CLI, a job)
    api_key: Mapped[Optional[str]] = mapped_column(String(256), nullable=True)

    @property
    def event_label(self) -> str:
        """The Chinese msgid of the event (views translate it with ``gettext``)."""
        return event_label(self.event)


def event_label(event: str | None) -> str:
    return EVENT_LABELS.get(event or "", event or "")


class AuditLogIsAppendOnly(RuntimeError):
    pass


@event.listens_for(AuditLog, "before_update")
def _refuse_update(mapper, connection, target):  # pragma: no cover - guard
    raise AuditLogIsAppendOnly("audit log rows cannot be changed")


@event.listens_for(AuditLog, "before_delete")
def _refuse_delete(mapper, connection, target):  # pragma: no cover - guard
    raise AuditLogIsAppendOnly("audit log rows cannot be deleted")

