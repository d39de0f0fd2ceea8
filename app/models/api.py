"""The integration API's own state: idempotent replies (the keys are FAB's ``ab_api_key``)."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from flask_appbuilder import Model
from sqlalchemy import DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.mixins import utcnow


class ApiIdempotency(Model):
    """One ``Idempotency-Key`` of one user: the request it named and the reply it got.

    The row is written (``status`` NULL) and committed *before* the call runs, so a retry
    racing the first call hits the unique constraint instead of creating a duplicate; a
    finished call stores its reply, which every retry then receives again.
    """

    __tablename__ = "api_idempotency"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_api_idempotency_user_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    key: Mapped[str] = mapped_column(String(128), nullable=False)
    method: Mapped[str] = mapped_column(String(10), nullable=False)
    path: Mapped[str] = mapped_column(String(255), nullable=False)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    body: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow, index=True)
