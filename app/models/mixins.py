from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column


def utcnow() -> dt.datetime:
    """Naive UTC timestamp (portable between SQLite and PostgreSQL)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class ImportLogColumns:
    """The columns every import log shares (耗材产品包装导入, 国家数据导入): its token in URLs,
    when, who, which file, how many rows were rejected and the kept ones as JSON — a list of
    ``app.services.import_log.RejectedRow`` objects, one shape for every import."""

    token: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, default=utcnow, index=True)
    username: Mapped[Optional[str]] = mapped_column(String(128), nullable=True)
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    rejected: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    errors_json: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
