"""Our security manager: only overrides (FAB's extendsecurity pattern)."""
from __future__ import annotations

from flask_appbuilder.security.sqla.manager import SecurityManager

from app.models import AppUser
from app.views.auth import UnitLoginView


class PlatformSecurityManager(SecurityManager):
    user_model = AppUser
    authdbview = UnitLoginView

    def on_user_logout(self, user) -> None:
        from app.services import audit

        audit.record("logout", user=user)
        self.session.commit()
