"""The domain errors under the name the services have always used (defined in :mod:`app.errors`)."""
from app.errors import DomainError, ValidationFailed  # noqa: F401
