"""The model of a record type that exists only in the tests (issue 13): on a metadata of its own,
so no migration knows it; ``tests/unit/test_record_type_registry.py`` and
``tests/http/test_record_type_view.py`` declare it as a record type."""
from __future__ import annotations

from typing import Optional

from sqlalchemy import Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.models.workflow import WorkflowMixin


class SampleBase(DeclarativeBase):
    pass


class SampleRecord(WorkflowMixin, SampleBase):
    __tablename__ = "test_only_sample_record"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer, nullable=False)
    revision_of_id: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    number: Mapped[str] = mapped_column(String(40), nullable=False)
