"""The services' one ownership check (the pages scope again through ``app.tenancy``)."""
from __future__ import annotations

from app.i18n import N_
from app.services.errors import DomainError


def own(record, actor, missing: str = N_("记录不存在")):
    """``record`` if it belongs to ``actor``'s unit; otherwise :class:`DomainError` saying
    ``missing`` (as if it did not exist: another unit's ids are not confirmed)."""
    unit_id = getattr(actor, "unit_id", None)
    if record is None or unit_id is None or getattr(record, "unit_id", None) != unit_id:
        raise DomainError(missing)
    return record
