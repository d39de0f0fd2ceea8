from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    """Naive UTC timestamp (portable between SQLite and PostgreSQL)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
