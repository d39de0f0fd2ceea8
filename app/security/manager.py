"""Our security manager: only overrides (FAB's extendsecurity pattern)."""
from __future__ import annotations

from flask import current_app, g, has_app_context
from flask_appbuilder.const import AUTH_DB
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.sqla.models import assoc_permissionview_role as assoc
from flask_babel import lazy_gettext as fab_text  # FAB's own labels (its catalog translates them)
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.models import AppUser
from app.security import sessions
from app.views.admin import (
    PlatformGroupView, PlatformResetPasswordView, PlatformRoleView, PlatformUserStatsView, PlatformUserView,
)
from app.views.auth import UnitLoginView

_CACHE = "_role_permissions"


class PlatformSecurityManager(SecurityManager):
    user_model = AppUser
    authdbview = UnitLoginView
    # FAB's security views with Chinese labels/formatters (app/views/admin.py)
    userdbmodelview = PlatformUserView
    rolemodelview = PlatformRoleView
    groupmodelview = PlatformGroupView
    userstatschartview = PlatformUserStatsView
    resetpasswordview = PlatformResetPasswordView

    # FAB menu entry of the (unused) user groups
    hidden_security_menus = ("List Groups",)

    def __init__(self, appbuilder):
        super().__init__(appbuilder)
        current_app.before_request(forget_role_permissions)
        current_app.before_request(sessions.require_password_change)

    def register_views(self):
        """FAB's security views, less every other way in (README, Security model).

        FAB's own ``register_views`` adds its ``SecurityApi`` (``/api/v1/security/login``
        and ``/refresh``, logging in through ``auth_user_db``: no lockout, no disabled-unit
        check, no audit) whatever ``FAB_ADD_SECURITY_API`` says, the self-service
        ``resetmypassword`` (a new password without the old one) and ``userinfoedit``
        views, and, by ``AUTH_TYPE``, OAuth/OpenID/LDAP/remote-user/SAML login views.
        Here only 单位登录 (``UnitLoginView``, through ``app.services.auth.authenticate``)
        accepts a password; the admin's 重置密码 goes through the same password service.
        """
        if self.auth_type != AUTH_DB or current_app.config.get("AUTH_USER_REGISTRATION"):
            raise RuntimeError("only AUTH_TYPE = AUTH_DB without FAB self-registration is supported")
        self.user_view = self.userdbmodelview
        self.auth_view = self.authdbview()
        self.appbuilder.add_view_no_menu(self.auth_view)
        self.appbuilder.add_view_no_menu(self.resetpasswordview())
        if self.is_auth_limited:
            self.limiter.limit(self.auth_rate_limit, methods=["POST"])(self.auth_view.blueprint)
        self.user_view = self.appbuilder.add_view(
            self.user_view, "List Users", icon="fa-user", label=fab_text("List Users"),
            category="Security", category_icon="fa-cogs", category_label=fab_text("Security"),
        )
        role_view = self.appbuilder.add_view(
            self.rolemodelview, "List Roles", icon="fa-user-gear", label=fab_text("List Roles"),
            category="Security", category_icon="fa-cogs",
        )
        role_view.related_views = [self.user_view.__class__]
        self.appbuilder.add_view(self.groupmodelview, "List Groups", icon="fa-group",
                                 label=fab_text("List Groups"), category="Security", category_icon="fa-cogs")
        self.appbuilder.add_view(self.userstatschartview, "User's Statistics", icon="fa-bar-chart-o",
                                 label=fab_text("User's Statistics"), category="Security")
        self.appbuilder.menu.add_separator("Security")
        self.appbuilder.add_view(self.permissionmodelview, "Base Permissions", icon="fa-lock",
                                 label=fab_text("Base Permissions"), category="Security")
        self.appbuilder.add_view(self.viewmenumodelview, "Views/Menus", icon="fa-list-alt",
                                 label=fab_text("Views/Menus"), category="Security")
        self.appbuilder.add_view(self.permissionviewmodelview, "Permission on Views/Menus", icon="fa-link",
                                 label=fab_text("Permission on Views/Menus"), category="Security")
        security = self.appbuilder.menu.find("Security")
        if security is not None:
            security.childs = [item for item in security.childs
                               if getattr(item, "name", None) not in self.hidden_security_menus]

    def load_user(self, pk):
        """FAB's loader (active users only), then the session checks: unit disabled,
        session epoch (password changed, logged out elsewhere), idle and absolute age."""
        return sessions.accept(super().load_user(pk))

    def validate_api_key(self, api_key_string: str):
        """FAB's key check (keyed lookup hash, then the salted hash), then ours: the key is
        neither expired nor revoked, its owner is an active unit user of an active unit
        (app/services/api_keys.py).  Sets ``g.user`` as FAB does; the key's name goes on
        every audit line of the request."""
        from werkzeug.security import check_password_hash

        from app.services import api_keys, audit

        model = self.api_key_model
        key = self.session.scalar(select(model).where(model.lookup_hash == self._compute_lookup_hash(api_key_string)))
        if key is None or not check_password_hash(key.key_hash, api_key_string):
            return None
        user = api_keys.accept(key)
        if user is None:
            audit.record("api_key_refused", unit=None, username=key.user.username if key.user else None,
                         detail=f"{key.name}（{key.uuid}）")
            self.session.commit()
            return None
        now = api_keys.local_now()
        if key.last_used_on is None or (now - key.last_used_on).total_seconds() > 60:
            key.last_used_on = now  # at most one write a minute per key
            self.session.commit()
        g.user = user
        g._api_key_user = True
        return user

    def load_user_jwt(self, _jwt_header, jwt_data):
        """No bearer tokens: the token API is not registered, and a token signed with the
        secret key some other way must not bypass the session checks."""
        return None

    def reset_password(self, userid, password):
        """Anything that still calls FAB's reset goes through the password service."""
        from app.services import auth

        auth.admin_set_password(self.get_user_by_id(userid), password, actor=g.get("user"))

    def on_user_logout(self, user) -> None:
        from app.services import audit

        audit.record("logout", user=user)
        self.session.commit()

    def role_permission_pairs(self, role_ids) -> frozenset[tuple[str, str]]:
        """Every (view, permission) of the roles, read once per request.

        FAB asks ``exist_permission_on_roles`` once per navbar entry and per button
        (``is_menu_visible`` / ``is_item_visible``): one query each, dozens per page.
        One query per request and set look-ups give the same answers; the cache is
        dropped on every commit, so a permission change is seen at once.
        """
        key = frozenset(role_ids)
        cache = g.setdefault(_CACHE, {}) if has_app_context() else {}
        if key not in cache:
            pv = self.permissionview_model
            rows = self.session.execute(
                select(self.viewmenu_model.name, self.permission_model.name)
                .select_from(pv)
                .join(assoc, assoc.c.permission_view_id == pv.id)
                .join(self.viewmenu_model, pv.view_menu_id == self.viewmenu_model.id)
                .join(self.permission_model, pv.permission_id == self.permission_model.id)
                .where(assoc.c.role_id.in_(key))
            )
            cache[key] = frozenset((view, perm) for view, perm in rows)
        return cache[key]

    def exist_permission_on_roles(self, view_name: str, permission_name: str, role_ids) -> bool:
        return (view_name, permission_name) in self.role_permission_pairs(role_ids)


def forget_role_permissions(*_args) -> None:
    if has_app_context():
        g.pop(_CACHE, None)


event.listen(Session, "after_commit", forget_role_permissions)
event.listen(Session, "after_rollback", forget_role_permissions)
