"""FAB's ``ab_user`` extended with the unit, the phone and lockout state.

Registered through the security manager's ``user_model`` (FAB's
extendsecurity pattern): single-table inheritance on ``ab_user``.
"""
from __future__ import annotations

import datetime as dt
import enum
from typing import Optional

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from app.models.account_role import AccountRole  # noqa: F401  (relationship target)
from app.models.unit import Unit
from app.ops.redact import mask_id_number
from app.security.pii import EncryptedString, keyed_hash


class UserKind(str, enum.Enum):
    PLATFORM = "platform"  # admins and reviewers
    UNIT = "unit"  # 单位账号
    OPERATOR = "operator"  # 经办人


class AppUser(User):
    __tablename__ = "ab_user"
    # One natural person is one operator of a unit: the ID number's keyed hash is unique per unit.
    __table_args__ = (UniqueConstraint("unit_id", "id_number_hash", name="uq_ab_user_unit_id_number"),
                      {"extend_existing": True})

    kind: Mapped[str] = mapped_column(
        String(16), nullable=False, default=UserKind.PLATFORM.value,
        server_default=UserKind.PLATFORM.value,
    )
    unit_id: Mapped[Optional[int]] = mapped_column(
        Integer, ForeignKey("unit.id", name="fk_ab_user_unit_id"), nullable=True, index=True
    )
    phone: Mapped[Optional[str]] = mapped_column(String(11), nullable=True, unique=True)
    # 身份证号: encrypted at rest (app/security/pii.py); looked up by its keyed hash.
    id_number: Mapped[Optional[str]] = mapped_column(EncryptedString(), nullable=True)
    id_number_hash: Mapped[Optional[str]] = mapped_column(String(64), nullable=True, index=True)
    account_role_id: Mapped[Optional[int]] = mapped_column(
        Integer, ForeignKey("account_role.id", name="fk_ab_user_account_role_id"), nullable=True, index=True
    )
    must_change_password: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false()
    )
    first_failed_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime, nullable=True)
    locked_until: Mapped[Optional[dt.datetime]] = mapped_column(DateTime, nullable=True)
    # Bumped by a password change or a logout: older session cookies are refused.
    session_epoch: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")

    unit: Mapped[Optional[Unit]] = relationship(Unit, foreign_keys=[unit_id])
    account_role: Mapped[Optional["AccountRole"]] = relationship(
        "AccountRole", foreign_keys=[account_role_id]
    )

    @property
    def is_unit_user(self) -> bool:
        return self.kind in (UserKind.UNIT.value, UserKind.OPERATOR.value)

    @validates("id_number")
    def _hash_id_number(self, key, value):
        self.id_number_hash = keyed_hash(value)
        return value

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def account_role_name(self) -> str:
        return self.account_role.name if self.account_role else ""

    @property
    def status_label(self) -> str:
        return "正常" if self.active else "已停用"

    def get_full_name(self) -> str:
        if self.kind == UserKind.UNIT.value and self.unit is not None:
            return f"{self.unit.name}（{self.username}）"
        return f"{self.first_name}{self.last_name}".strip() or self.username
