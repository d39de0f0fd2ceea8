"""Account roles (账号角色): a unit's own named bundle of procurement menus.

Stored as menu keys; ``app.security.roles.sync_account_role`` expands them (within
the unit's ceiling) into one namespaced FAB role that its operators hold.
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

from flask_appbuilder import Model
from flask_appbuilder.security.sqla.models import Role
from sqlalchemy import DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.mixins import utcnow
from app.models.unit import Unit


class AccountRole(Model):
    __tablename__ = "account_role"
    __table_args__ = (UniqueConstraint("unit_id", "name", name="uq_account_role_unit_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer, ForeignKey("unit.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(50), nullable=False)
    fab_role_id: Mapped[Optional[int]] = mapped_column(Integer, ForeignKey("ab_role.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)

    unit: Mapped[Unit] = relationship(Unit)
    fab_role: Mapped[Optional[Role]] = relationship(Role)
    menus: Mapped[list["AccountRoleMenu"]] = relationship(
        "AccountRoleMenu", cascade="all, delete-orphan", order_by="AccountRoleMenu.id"
    )

    @property
    def menu_keys(self) -> list[str]:
        return [m.menu_key for m in self.menus]

    @property
    def menu_labels(self) -> str:
        from app.security.bundles import MENUS_BY_KEY

        return "、".join(MENUS_BY_KEY[k].label for k in self.menu_keys if k in MENUS_BY_KEY)

    def __repr__(self) -> str:
        return self.name


class AccountRoleMenu(Model):
    __tablename__ = "account_role_menu"
    __table_args__ = (UniqueConstraint("account_role_id", "menu_key", name="uq_account_role_menu"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_role_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("account_role.id"), nullable=False, index=True
    )
    menu_key: Mapped[str] = mapped_column(String(60), nullable=False)
