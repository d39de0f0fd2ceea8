"""Our security manager: only overrides (FAB's extendsecurity pattern)."""
from __future__ import annotations

from flask import current_app, g, has_app_context
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.sqla.models import assoc_permissionview_role as assoc
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.models import AppUser
from app.views.admin import PlatformGroupView, PlatformRoleView, PlatformUserStatsView, PlatformUserView
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

    # FAB menu entry of the (unused) user groups
    hidden_security_menus = ("List Groups",)

    def __init__(self, appbuilder):
        super().__init__(appbuilder)
        current_app.before_request(forget_role_permissions)

    def register_views(self):
        """FAB's security views, less the menu entries this platform does not use
        (user groups: roles are given to users directly)."""
        super().register_views()
        security = self.appbuilder.menu.find("Security")
        if security is not None:
            security.childs = [item for item in security.childs
                               if getattr(item, "name", None) not in self.hidden_security_menus]

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
