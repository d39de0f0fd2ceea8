"""Review workflow columns (mixin), transition history and uploaded proof files."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from flask_appbuilder import Model
from sqlalchemy import DateTime, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from app.models.mixins import utcnow
from app.workflow.states import STATE_LABELS


def workflow_indexes(table: str) -> tuple[Index, ...]:
    """Indexes the overview pages aggregate on: records by state, platform-wide and per unit (roots
    only, both covering), and the review queues ranked by the time an item entered them."""
    return (
        Index(f"ix_{table}_state_root", "state", "revision_of_id"),
        Index(f"ix_{table}_unit_state", "unit_id", "state", "revision_of_id"),
        Index(f"ix_{table}_state_submitted", "state", "submitted_at"),
        Index(f"ix_{table}_state_reviewed", "state", "reviewed_at"),
    )


class WorkflowMixin:
    """Columns every reviewed record type carries.

    ``version`` is SQLAlchemy's ``version_id_col``: every UPDATE says
    ``WHERE version = :seen``, so of two people acting on one record at once
    exactly one wins and the other gets ``StaleDataError``.
    """

    state: Mapped[str] = mapped_column(String(20), nullable=False, default="draft", index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    submitted_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime, nullable=True)
    reviewed_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime, nullable=True)
    review_opinion: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)

    @declared_attr.directive
    def __mapper_args__(cls):
        return {"version_id_col": cls.__table__.c.version}


class WorkflowHistory(Model):
    __tablename__ = "workflow_history"
    __table_args__ = (Index("ix_workflow_history_record", "record_type", "record_id"),
                      Index("ix_workflow_history_user_created", "user_id", "created_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_type: Mapped[str] = mapped_column(String(40), nullable=False)
    record_id: Mapped[int] = mapped_column(Integer, nullable=False)
    unit_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    user_id: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    username: Mapped[Optional[str]] = mapped_column(String(128), nullable=True)
    actor_unit: Mapped[Optional[str]] = mapped_column(String(200), nullable=True)
    action: Mapped[str] = mapped_column(String(20), nullable=False)
    from_state: Mapped[Optional[str]] = mapped_column(String(20), nullable=True)
    to_state: Mapped[str] = mapped_column(String(20), nullable=False)
    opinion: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    diff: Mapped[Optional[str]] = mapped_column(Text, nullable=True)  # JSON [[label, old, new], ...]


class Attachment(Model):
    """A proof file, stored in the database so every app server sees it."""

    __tablename__ = "attachment"
    __table_args__ = (Index("ix_attachment_owner", "owner_type", "owner_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    owner_type: Mapped[Optional[str]] = mapped_column(String(40), nullable=True)
    owner_id: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    slot: Mapped[str] = mapped_column(String(40), nullable=False)
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    content_type: Mapped[str] = mapped_column(String(60), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
