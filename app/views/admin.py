"""Platform admin area: units, ceilings, SMS outbox, audit log, CA bindings."""
from __future__ import annotations

import datetime as dt

from flask import abort, current_app, g, redirect, request
from flask_appbuilder import ModelView
from flask_appbuilder.actions import action
from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, DateTimePickerWidget, Select2ManyWidget
from flask_appbuilder.fields import QuerySelectMultipleField
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.views import (
    ResetPasswordView,
    RoleListWidget,
    RoleModelView,
    UserDBModelView,
    UserGroupModelView,
    UserModelView,
    UserStatsChartView,
)
from flask_appbuilder.validators import PasswordComplexityValidator
from flask_appbuilder.widgets import ShowWidget
from flask_babel import gettext, lazy_gettext as _l
from wtforms import DateTimeField, PasswordField, SelectField
from wtforms.validators import DataRequired, EqualTo

from app.extensions import db
from app.i18n import Msg, N_
from app.models import UNIT_ROLE_LABELS, AccountRole, AuditLog, CaBinding, RoleCeiling, SmsMessage, Unit, UnitRole
from app.models.sms import PURPOSE_LABELS, STATUS_LABELS
from app.security import bundles
from app.security.roles import REVIEWER_FINAL, REVIEWER_INITIAL, UNIT_ACCOUNT_ROLE, sync_unit_role
from app.services import audit, units
from app.views.forms import notify

ADMIN_CATEGORY = "平台管理"


# -- display formatters (FAB ``formatters_columns``: list and show pages) -----
def fmt_datetime(value) -> str:
    """``2026-11-23 11:24:23`` (no microseconds); empty when unset."""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return "" if value is None else str(value)


def fmt_blank(value):
    return "" if value is None else value


def fmt_enabled(value) -> str:
    return gettext("已启用") if value else gettext("已停用")


def fmt_label(labels: dict):
    """A formatter showing the (translated) label of a stored code."""
    def formatter(value) -> str:
        if value is None:
            return ""
        label = labels.get(value)
        return gettext(label) if label else str(value)
    return formatter


# -- FAB role names -> what admins read -----------------------------------------
ROLE_LABELS = {
    REVIEWER_INITIAL: N_("初审员"),
    REVIEWER_FINAL: N_("复审员"),
    UNIT_ACCOUNT_ROLE: N_("单位账号"),
}
UNIT_ROLE_PREFIX = "单位角色:"  # app.security.roles.unit_role_fab_name
ACCOUNT_ROLE_PREFIX = "账号角色:"  # app.security.roles.account_role_fab_name


def role_label(role) -> str:
    """Chinese label of a FAB role (the role keeps its name: code looks roles up by it)."""
    name = getattr(role, "name", role)
    if name is None:
        return ""
    config = current_app.config
    if name == config.get("AUTH_ROLE_ADMIN", "Admin"):
        return gettext("平台管理员")
    if name == config.get("AUTH_ROLE_PUBLIC", "Public"):
        return gettext("匿名访问")
    if name in ROLE_LABELS:
        return gettext(ROLE_LABELS[name])
    if name.startswith(UNIT_ROLE_PREFIX):
        code = name[len(UNIT_ROLE_PREFIX):]
        try:
            label = gettext(UNIT_ROLE_LABELS[UnitRole(code)])
        except ValueError:
            return name
        return gettext("单位角色：%(label)s", label=label)
    if name.startswith(ACCOUNT_ROLE_PREFIX):
        try:
            _unit_id, role_id = name[len(ACCOUNT_ROLE_PREFIX):].split(":")
            account_role = db.session.get(AccountRole, int(role_id))
        except ValueError:
            account_role = None
        if account_role is None:
            return name
        return gettext("账号角色：%(unit)s / %(name)s", unit=account_role.unit.name, name=account_role.name)
    return name


def fmt_roles(roles) -> str:
    return "，".join(role_label(r) for r in roles or [])


def datetime_search_field(label) -> DateTimeField:
    """A search field for a timestamp column: empty at first (FAB prefills the
    column default, e.g. ``utcnow()`` with microseconds)."""
    return DateTimeField(label, widget=DateTimePickerWidget())


def roles_field(datamodel, label, description=None, validators=()) -> QuerySelectMultipleField:
    """FAB's roles select, showing the roles' Chinese labels."""
    roles = datamodel.get_related_interface("roles")
    return QuerySelectMultipleField(
        label, description=description, query_func=lambda: roles.query()[1],
        get_pk_func=roles.get_pk_value, get_label=role_label, validators=list(validators),
        widget=Select2ManyWidget(),
    )


class UnitAdminView(ModelView):
    datamodel = SQLAInterface(Unit)
    route_base = "/admin/units"
    list_title = show_title = "单位列表"
    base_permissions = ["can_list", "can_show", "can_disable", "can_enable", "can_release"]
    list_columns = ["name", "category_label", "shown_credit_code", "unit_role_label", "verified_name", "active",
                    "created_at", "released_at"]
    show_columns = ["name", "category_label", "shown_credit_code", "unit_role_label", "certified_at",
                    "verified_name", "verified_at", "contact_name", "masked_contact_id_number", "contact_phone", "active",
                    "created_at", "released_at"]
    search_columns = ["name", "credit_code", "released_credit_code", "category", "unit_role", "active"]
    label_columns = {
        "name": "单位名称", "category": "注册类别", "category_label": "注册类别",
        "credit_code": "统一社会信用代码", "shown_credit_code": "统一社会信用代码",
        "released_credit_code": "已释放的信用代码", "unit_role": "单位角色", "unit_role_label": "单位角色",
        "certified_at": "认证时间", "contact_name": "经办人姓名", "masked_contact_id_number": "经办人身份证号码",
        "contact_phone": "经办人手机号码", "active": "启用", "created_at": "注册时间",
        "verified_name": "CA验证名称", "verified_at": "CA验证时间", "released_at": "信用代码释放时间",
    }
    formatters_columns = {"active": fmt_enabled, "certified_at": fmt_datetime, "created_at": fmt_datetime,
                          "verified_name": fmt_blank, "verified_at": fmt_datetime, "released_at": fmt_datetime}
    base_order = ("id", "desc")

    def _set(self, items, active: bool):
        items = items if isinstance(items, list) else [items]
        for item in items:
            unit = db.session.get(Unit, item.id)  # re-load; never trust a stale row
            if unit is not None:
                units.set_active(unit, active, g.user)
        notify(Msg("已启用 %(n)s 个单位", n=len(items)) if active else Msg("已停用 %(n)s 个单位", n=len(items)), "success")
        return redirect(self.get_redirect())

    @action("disable", "停用", "确定停用所选单位？停用后该单位所有账号无法登录。", "fa-ban")
    def disable(self, items):
        return self._set(items, False)

    @action("enable", "启用", "确定启用所选单位？", "fa-check")
    def enable(self, items):
        return self._set(items, True)

    @action("release", "释放信用代码",
            "确定释放所选单位占用的信用代码？仅限从未认证、从未绑定CA的注册；释放后该注册停用，真实企业可用此代码注册。",
            "fa-unlock", single=True)
    def release(self, items):
        from app.services.errors import DomainError

        items = items if isinstance(items, list) else [items]
        done = 0
        for item in items:
            unit = db.session.get(Unit, item.id)
            if unit is None:
                continue
            try:
                units.release_credit_code(unit, g.user)
            except DomainError as exc:
                db.session.rollback()
                notify(gettext("%(name)s：%(reason)s", name=unit.name, reason=gettext(exc.message)), "danger")
            else:
                done += 1
        if done:
            notify(gettext("已释放 %(n)s 个单位的信用代码", n=done), "success")
        return redirect(self.get_redirect())


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
    """Every SMS with its delivery state; passwords and codes show as ****** (never stored).

    In development (``SMS_DEV_OUTBOX``) the text this process sent is shown in full,
    which is how demo users read their SMS; production never has it.
    """
    datamodel = SQLAInterface(SmsMessage)
    route_base = "/admin/sms"
    list_title = show_title = "短信发件箱"
    base_permissions = ["can_list", "can_show"]
    list_columns = ["created_at", "phone", "purpose", "shown_content", "status", "attempts", "last_error"]
    show_columns = ["created_at", "phone", "purpose", "shown_content", "status", "attempts", "sent_at",
                    "last_error"]
    search_columns = ["phone", "purpose", "content", "status", "created_at"]
    label_columns = {"created_at": "发送时间", "phone": "手机号码", "purpose": "用途",
                     "content": "短信内容", "shown_content": "短信内容", "status": "状态",
                     "attempts": "尝试次数", "sent_at": "送达时间", "last_error": "失败原因"}
    formatters_columns = {"created_at": fmt_datetime, "sent_at": fmt_datetime, "purpose": fmt_label(PURPOSE_LABELS),
                          "status": fmt_label(STATUS_LABELS), "last_error": fmt_blank}
    base_order = ("id", "desc")

    def __init__(self, **kwargs):
        # 状态 as a choice of the labels (发送失败 …), not the stored code
        self.search_form_extra_fields = {
            "created_at": datetime_search_field("发送时间"),
            "status": SelectField(_l("状态"), choices=[(code, _l(label)) for code, label in STATUS_LABELS.items()]),
        }
        super().__init__(**kwargs)


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
    search_form_extra_fields = {"created_at": datetime_search_field("时间")}
    formatters_columns = {"created_at": fmt_datetime, "event_label": gettext, "username": fmt_blank,
                          "user_id": fmt_blank, "unit_id": fmt_blank, "ip": fmt_blank, "detail": fmt_blank}
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
    search_form_extra_fields = {"bound_at": datetime_search_field("绑定时间")}
    formatters_columns = {"not_before": fmt_datetime, "not_after": fmt_datetime, "bound_at": fmt_datetime,
                          "unbound_at": fmt_datetime}
    base_order = ("id", "desc")


# -- FAB's security views, in Chinese (PlatformSecurityManager plugs them in) ----
# FAB's zh catalog lacks several of their strings; Chinese msgids here, the
# English catalog translates them.  User groups are not used by this platform:
# their field is left off the user forms and their menu entry hidden.
USER_LABELS = {
    **UserModelView.label_columns,
    "active": _l("启用"),
}
USER_DESCRIPTIONS = {
    **{k: v for k, v in UserModelView.description_columns.items() if k != "groups"},
    "active": _l("不建议删除用户，停用即可"),
    "roles": _l("用户的角色，决定其可使用的菜单和操作"),
}


class PlatformUserView(UserDBModelView):
    class_permission_name = "UserDBModelView"  # FAB's permission names stay (no re-sync needed)
    label_columns = USER_LABELS
    description_columns = USER_DESCRIPTIONS
    list_columns = ["first_name", "last_name", "username", "email", "active", "roles"]
    search_columns = [c for c in UserModelView.search_columns if c != "groups"]
    add_columns = ["first_name", "last_name", "username", "active", "email", "roles", "password", "conf_password"]
    edit_columns = ["first_name", "last_name", "username", "active", "email", "roles"]
    validators_columns = {"roles": [DataRequired(message=_l("请至少选择一个角色"))]}
    formatters_columns = {
        "active": fmt_enabled, "roles": fmt_roles, "last_login": fmt_datetime, "created_on": fmt_datetime,
        "changed_on": fmt_datetime, "created_by": fmt_blank, "changed_by": fmt_blank,
    }
    add_form_extra_fields = edit_form_extra_fields = {}

    def _roles_field(self):
        return roles_field(self.datamodel, USER_LABELS["roles"], USER_DESCRIPTIONS["roles"],
                           self.validators_columns["roles"])

    def __init__(self, **kwargs):
        self.add_form_extra_fields = {
            "roles": self._roles_field(),
            "password": PasswordField(
                _l("密码"), description=_l("用户登录密码"),
                validators=[DataRequired(), PasswordComplexityValidator()], widget=BS3PasswordFieldWidget(),
            ),
            "conf_password": PasswordField(
                _l("确认密码"), description=_l("请再次输入密码"),
                validators=[DataRequired(), EqualTo("password", message=_l("两次输入的密码不一致"))],
                widget=BS3PasswordFieldWidget(),
            ),
        }
        self.edit_form_extra_fields = {"roles": self._roles_field()}
        self.search_form_extra_fields = user_search_fields(self.datamodel)
        super().__init__(**kwargs)

    # FAB's self-service actions lead to views this platform does not register
    # (a new password without the old one; README, Security model): not actions here.
    def resetmypassword(self, item):
        abort(404)

    def userinfoedit(self, item):
        abort(404)

    def userinfo(self):
        abort(404)


class PlatformResetPasswordView(ResetPasswordView):
    """平台管理 → 用户 → 重置密码, through the password service: the password rule,
    every session of that user ended, 修改密码 required at the next login, audited."""

    class_permission_name = "ResetPasswordView"

    def form_post(self, form) -> None:
        from app.services import auth
        from app.services.errors import ValidationFailed

        user = db.session.get(self.appbuilder.sm.user_model, int(request.args.get("pk") or 0))
        if user is None:
            abort(404)
        try:
            auth.admin_set_password(user, form.password.data, actor=g.user)
        except ValidationFailed as exc:
            db.session.rollback()
            notify(gettext(next(iter(exc.errors.values()))), "danger")
            return
        notify(gettext("密码已重置，该用户下次登录须修改密码"), "info")


def user_search_fields(datamodel) -> dict:
    return {"roles": roles_field(datamodel, USER_LABELS["roles"]),
            "created_on": datetime_search_field(USER_LABELS["created_on"]),
            "changed_on": datetime_search_field(USER_LABELS["changed_on"])}


class PlatformRoleListWidget(RoleListWidget):
    """FAB's role list, with ``formatters_columns`` applied (role labels)."""
    template = "appbuilder/security/role_list.html"


class PlatformRoleView(RoleModelView):
    class_permission_name = "RoleModelView"
    list_widget = PlatformRoleListWidget
    show_widget = ShowWidget  # FAB's builtin (config) roles are not used here
    label_columns = {**RoleModelView.label_columns, "user": _l("用户")}
    search_columns = ["name", "permissions", "user"]
    formatters_columns = {"name": role_label}


class PlatformGroupView(UserGroupModelView):
    class_permission_name = "UserGroupModelView"
    list_title = _l("用户组列表")
    show_title = _l("查看用户组")
    add_title = _l("添加用户组")
    edit_title = _l("编辑用户组")
    label_columns = {"name": _l("名称"), "label": _l("显示名称"), "description": _l("说明"),
                     "users": _l("用户"), "roles": _l("角色")}


class PlatformUserStatsView(UserStatsChartView):
    class_permission_name = "UserStatsChartView"
    route_base = "/userstatschartview"
    label_columns = {**USER_LABELS, "login_count": _l("登录次数"), "fail_login_count": _l("登录失败次数")}
    search_columns = PlatformUserView.search_columns
    definitions = [
        {"label": _l("登录次数"), "group": "username", "series": ["login_count"]},
        {"label": _l("登录失败次数"), "group": "username", "series": ["fail_login_count"]},
    ]

    def __init__(self, **kwargs):
        self.search_form_extra_fields = user_search_fields(self.datamodel)
        super().__init__(**kwargs)
        # FAB overwrites the group/series labels with the chart label / prettified names
        self.label_columns = {**self.label_columns, "username": USER_LABELS["username"],
                              "login_count": _l("登录次数"), "fail_login_count": _l("登录失败次数")}


def register(appbuilder) -> None:
    for view, name, icon in (
        (UnitAdminView, "单位列表", "fa-building"),
        (RoleCeilingView, "单位角色权限上限", "fa-sitemap"),
        (SmsOutboxView, "短信发件箱", "fa-envelope"),
        (AuditLogView, "审计日志", "fa-list-alt"),
        (CaBindingAdminView, "CA证书绑定", "fa-certificate"),
    ):
        appbuilder.add_view(view, name, icon=icon, category=ADMIN_CATEGORY, category_icon="fa-cogs")
