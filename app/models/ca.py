"""CA certificates bound to enterprise units (history kept: unbinding sets unbound_at)."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from flask_appbuilder import Model
from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.mixins import utcnow
from app.models.unit import Unit


class CaBinding(Model):
    __tablename__ = "ca_binding"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer, ForeignKey("unit.id"), nullable=False, index=True)
    subject: Mapped[str] = mapped_column(Text, nullable=False)
    issuer: Mapped[str] = mapped_column(Text, nullable=False)
    serial_number: Mapped[str] = mapped_column(String(80), nullable=False)
    fingerprint_sha256: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    not_before: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    not_after: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    bound_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    unbound_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime, nullable=True)

    unit: Mapped[Unit] = relationship(Unit)

    @property
    def is_active(self) -> bool:
        return self.unbound_at is None
