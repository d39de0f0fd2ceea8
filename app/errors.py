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


class WorkflowError(Exception):
    """A workflow transition refused (wrong state, not allowed, stale version …)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
