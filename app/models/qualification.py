"""Consumable qualification records of manufacturers (SPEC §3.2, §3.3).

National certificates are referenced by their number (注册备案号), the natural
key of the national data, so re-imports never break a link.
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

from flask_appbuilder import Model
from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.i18n import Msg
from app.models.mixins import utcnow
from app.models.unit import Unit
from app.models.workflow import WorkflowMixin, workflow_indexes

ENTRUSTMENT_KINDS = {"contract": "被委托生产", "agent": "境外代理"}


class Entrustment(WorkflowMixin, Model):
    """耗材委托授权."""

    __tablename__ = "entrustment"
    __table_args__ = workflow_indexes("entrustment")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer, ForeignKey("unit.id"), nullable=False, index=True)
    number: Mapped[Optional[str]] = mapped_column(String(30), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    principal_name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    valid_from: Mapped[Optional[dt.date]] = mapped_column(Date, nullable=True)
    valid_to: Mapped[Optional[dt.date]] = mapped_column(Date, nullable=True)
    revision_of_id: Mapped[Optional[int]] = mapped_column(
        Integer, ForeignKey("entrustment.id"), nullable=True, index=True)

    unit: Mapped[Unit] = relationship(Unit)
    certificates: Mapped[list["EntrustmentCertificate"]] = relationship(
        "EntrustmentCertificate", cascade="all, delete-orphan", order_by="EntrustmentCertificate.id")

    @property
    def kind_label(self) -> str:
        return ENTRUSTMENT_KINDS.get(self.kind, self.kind)

    @property
    def cert_numbers(self) -> list[str]:
        return [c.cert_no for c in self.certificates]

    @property
    def validity(self) -> str:
        if not self.valid_from or not self.valid_to:
            return ""
        return Msg("%(start)s 至 %(end)s", start=f"{self.valid_from:%Y-%m-%d}", end=f"{self.valid_to:%Y-%m-%d}")


class EntrustmentCertificate(Model):
    __tablename__ = "entrustment_certificate"
    __table_args__ = (UniqueConstraint("entrustment_id", "cert_no", name="uq_entrustment_cert"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entrustment_id: Mapped[int] = mapped_column(Integer, ForeignKey("entrustment.id"), nullable=False, index=True)
    cert_no: Mapped[str] = mapped_column(String(60), nullable=False, index=True)


class QualCertificate(WorkflowMixin, Model):
    """耗材注册证: a national certificate the unit maintains, plus its own material."""

    __tablename__ = "qual_certificate"
    __table_args__ = workflow_indexes("qual_certificate")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer, ForeignKey("unit.id"), nullable=False, index=True)
    cert_no: Mapped[str] = mapped_column(String(60), nullable=False, index=True)
    contact_name: Mapped[str] = mapped_column(String(50), nullable=False, default="")
    contact_phone: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    remark: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    revision_of_id: Mapped[Optional[int]] = mapped_column(
        Integer, ForeignKey("qual_certificate.id"), nullable=True, index=True)

    unit: Mapped[Unit] = relationship(Unit)


class ExpiryReminder(Model):
    """One reminder sent (or one expiry flagged) for one validity end of one record: each once.

    ``days`` is 90 / 30 / 7 for the SMS reminders before 有效期结束 and 0 for the day the
    record was found expired.  A 变更 that moves the end date starts a new series.
    """

    __tablename__ = "expiry_reminder"
    __table_args__ = (UniqueConstraint("record_type", "record_id", "valid_to", "days", name="uq_expiry_reminder"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_type: Mapped[str] = mapped_column(String(20), nullable=False)
    record_id: Mapped[int] = mapped_column(Integer, nullable=False)
    unit_id: Mapped[int] = mapped_column(Integer, ForeignKey("unit.id"), nullable=False, index=True)
    valid_to: Mapped[dt.date] = mapped_column(Date, nullable=False)
    days: Mapped[int] = mapped_column(Integer, nullable=False)
    phone: Mapped[Optional[str]] = mapped_column(String(20), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
