"""Permission ceilings: which procurement menus each unit role may ever have."""
from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column


class RoleCeiling(Model):
    __tablename__ = "role_ceiling"
    __table_args__ = (UniqueConstraint("unit_role", "menu_key", name="uq_role_ceiling"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_role: Mapped[str] = mapped_column(String(30), nullable=False, index=True)
    menu_key: Mapped[str] = mapped_column(String(60), nullable=False)

    @property
    def unit_role_label(self) -> str:
        from app.models.unit import UNIT_ROLE_LABELS, UnitRole

        try:
            return UNIT_ROLE_LABELS[UnitRole(self.unit_role)]
        except ValueError:
            return self.unit_role

    @property
    def menu_label(self) -> str:
        from app.security.bundles import MENUS_BY_KEY

        menu = MENUS_BY_KEY.get(self.menu_key)
        return f"{menu.line} / {menu.category} / {menu.label}" if menu else self.menu_key
