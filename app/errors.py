"""Domain errors, in one neutral place every layer may raise (it imports nothing of the app).

Views translate them to messages next to fields or to flashes.
"""
from __future__ import annotations


class DomainError(Exception):
    """A refused action, with a message (Chinese msgid) for the user."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationFailed(DomainError):
    """Several field errors at once: ``{field: message}``."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("；".join(errors.values()))
        self.errors = errors


class ImportRefused(DomainError):
    """An imported file refused as a whole (too large, wrong template, no rows …); nothing saved.
    Every import (耗材产品, 国家数据) raises this one."""


class WorkflowError(Exception):
    """A workflow transition refused (wrong state, not allowed, stale version …)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def violates_unique(exc: Exception, constraint: str, column: str) -> bool:
    """Whether a database IntegrityError is the unique rule ``constraint`` on ``column``
    (``table.column``): PostgreSQL names the constraint, SQLite the column.  Any other database
    error must never be shown as that field's message."""
    text = str(getattr(exc, "orig", exc))
    return constraint in text or f"UNIQUE constraint failed: {column}" in text
