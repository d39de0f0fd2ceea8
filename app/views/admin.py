"""Platform admin area: units, ceilings, SMS outbox, audit log, CA bindings."""
from __future__ import annotations

from flask import flash, g, redirect
from flask_appbuilder import ModelView
from flask_appbuilder.actions import action
from flask_appbuilder.models.sqla.interface import SQLAInterface
from wtforms import SelectField

from app.extensions import db
from app.models import UNIT_ROLE_LABELS, AuditLog, CaBinding, RoleCeiling, SmsMessage, Unit, UnitRole
from app.security import bundles
from app.security.roles import sync_unit_role
from app.services import audit, units

ADMIN_CATEGORY = "平台管理"


class UnitAdminView(ModelView):
    datamodel = SQLAInterface(Unit)
    route_base = "/admin/units"
    list_title = show_title = "单位列表"
    base_permissions = ["can_list", "can_show", "can_disable", "can_enable"]
    list_columns = ["name", "category_label", "credit_code", "unit_role_label", "active", "created_at"]
    show_columns = ["name", "category_label", "credit_code", "unit_role_label", "certified_at",
                    "contact_name", "contact_id_number", "contact_phone", "active", "created_at"]
    search_columns = ["name", "credit_code", "category", "unit_role", "active"]
    label_columns = {
        "name": "单位名称", "category": "注册类别", "category_label": "注册类别",
        "credit_code": "统一社会信用代码", "unit_role": "单位角色", "unit_role_label": "单位角色",
        "certified_at": "认证时间", "contact_name": "经办人姓名", "contact_id_number": "经办人身份证号码",
        "contact_phone": "经办人手机号码", "active": "启用", "created_at": "注册时间",
    }
    base_order = ("id", "desc")

    def _set(self, items, active: bool):
        items = items if isinstance(items, list) else [items]
        for item in items:
            unit = db.session.get(Unit, item.id)  # re-load; never trust a stale row
            if unit is not None:
                units.set_active(unit, active, g.user)
        flash(("已启用" if active else "已停用") + f" {len(items)} 个单位", "success")
        return redirect(self.get_redirect())

    @action("disable", "停用", "确定停用所选单位？停用后该单位所有账号无法登录。", "fa-ban")
    def disable(self, items):
        return self._set(items, False)

    @action("enable", "启用", "确定启用所选单位？", "fa-check")
    def enable(self, items):
        return self._set(items, True)


class RoleCeilingView(ModelView):
    datamodel = SQLAInterface(RoleCeiling)
    route_base = "/admin/ceilings"
    list_title = show_title = add_title = edit_title = "单位角色权限上限"
    list_columns = ["unit_role_label", "menu_label"]
    add_columns = edit_columns = ["unit_role", "menu_key"]
    search_columns = ["unit_role", "menu_key"]
    label_columns = {"unit_role": "单位角色", "unit_role_label": "单位角色",
                     "menu_key": "菜单", "menu_label": "菜单"}
    add_form_extra_fields = edit_form_extra_fields = {}
    base_order = ("unit_role", "asc")

    def _ceiling_fields(self):
        return {
            "unit_role": SelectField("单位角色", choices=[(r.value, UNIT_ROLE_LABELS[r]) for r in UnitRole]),
            "menu_key": SelectField("菜单", choices=bundles.menu_choices()),
        }

    def __init__(self, **kwargs):
        self.add_form_extra_fields = self._ceiling_fields()
        self.edit_form_extra_fields = self._ceiling_fields()
        super().__init__(**kwargs)

    def _resync(self, item):
        sync_unit_role(item.unit_role)
        audit.record("ceiling_changed", user=g.user,
                     detail=f"{UNIT_ROLE_LABELS.get(UnitRole(item.unit_role))} {item.menu_key}")
        db.session.commit()

    def post_add(self, item):
        self._resync(item)

    def post_update(self, item):
        self._resync(item)
        for role in UnitRole:  # an edit may have moved the row between roles
            sync_unit_role(role)

    def post_delete(self, item):
        self._resync(item)


class SmsOutboxView(ModelView):
    datamodel = SQLAInterface(SmsMessage)
    route_base = "/admin/sms"
    list_title = show_title = "短信发件箱"
    base_permissions = ["can_list", "can_show"]
    list_columns = ["created_at", "phone", "purpose", "content", "status"]
    search_columns = ["phone", "purpose", "content"]
    label_columns = {"created_at": "发送时间", "phone": "手机号码", "purpose": "用途",
                     "content": "短信内容", "status": "状态"}
    base_order = ("id", "desc")


class AuditLogView(ModelView):
    datamodel = SQLAInterface(AuditLog)
    route_base = "/admin/audit"
    list_title = show_title = "审计日志"
    base_permissions = ["can_list", "can_show"]
    list_columns = ["created_at", "event_label", "username", "unit_id", "ip", "detail"]
    show_columns = ["created_at", "event", "event_label", "username", "user_id", "unit_id", "ip", "detail"]
    search_columns = ["event", "username", "unit_id", "ip", "created_at"]
    label_columns = {"created_at": "时间", "event": "事件代码", "event_label": "事件", "username": "账号",
                     "user_id": "用户ID", "unit_id": "单位ID", "ip": "IP地址", "detail": "详情"}
    base_order = ("id", "desc")


class CaBindingAdminView(ModelView):
    datamodel = SQLAInterface(CaBinding)
    route_base = "/admin/ca"
    list_title = show_title = "CA证书绑定"
    base_permissions = ["can_list", "can_show"]
    list_columns = ["unit", "serial_number", "not_before", "not_after", "bound_at", "unbound_at"]
    label_columns = {"unit": "单位", "subject": "证书主题", "issuer": "颁发者", "serial_number": "序列号",
                     "fingerprint_sha256": "SHA-256指纹", "not_before": "生效时间", "not_after": "失效时间",
                     "bound_at": "绑定时间", "unbound_at": "解绑时间"}
    base_order = ("id", "desc")


def register(appbuilder) -> None:
    for view, name, icon in (
        (UnitAdminView, "单位列表", "fa-building"),
        (RoleCeilingView, "单位角色权限上限", "fa-sitemap"),
        (SmsOutboxView, "短信发件箱", "fa-envelope"),
        (AuditLogView, "审计日志", "fa-list-alt"),
        (CaBindingAdminView, "CA证书绑定", "fa-certificate"),
    ):
        appbuilder.add_view(view, name, icon=icon, category=ADMIN_CATEGORY, category_icon="fa-cogs")
