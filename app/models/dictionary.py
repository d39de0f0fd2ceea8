"""数据字典: platform-maintained value lists (计量单位 / 包装单位)."""
from __future__ import annotations

import datetime as dt

from flask_appbuilder import Model
from sqlalchemy import Boolean, DateTime, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.mixins import utcnow

MEASURE_UNIT = "measure_unit"
PACKAGE_UNIT = "package_unit"
DICTIONARY_CATEGORIES = {MEASURE_UNIT: "计量单位", PACKAGE_UNIT: "包装单位"}


class DictionaryEntry(Model):
    __tablename__ = "dictionary_entry"
    __table_args__ = (UniqueConstraint("category", "name", name="uq_dictionary_entry_category_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(30), nullable=False)
    name: Mapped[str] = mapped_column(String(20), nullable=False)
    sort_order: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)

    @property
    def category_label(self) -> str:
        return DICTIONARY_CATEGORIES.get(self.category, self.category)
