"""The record types the workflow engine serves, registered explicitly at start-up.

One :class:`RecordType` per model (委托授权, 注册证, 单件, 产品/包装): what the engine needs to
know of it.  Metrics and the engine read the registry; it imports nothing of the app but errors.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from flask import current_app

from app.errors import WorkflowError


@dataclass
class RecordType:
    """What the engine needs to know of one record type."""

    key: str  # e.g. "entrustment"
    model: type
    label: str  # e.g. "耗材委托授权"
    menu_label: str  # the procurement menu whose holders own records (bundles.Menu.label)
    #: (attribute, label) pairs compared for the field-level diff
    diff_fields: tuple[tuple[str, str], ...] = ()
    #: extra things to compare (e.g. attachments by name+hash, linked certificates)
    diff_extras: Callable[[Any], dict[str, str]] | None = None
    #: raises WorkflowError when the record is not complete enough to submit
    check_complete: Callable[[Any], None] | None = None
    #: builds a change revision (a new, unsaved row) from an effective record
    clone: Callable[[Any], Any] | None = None
    #: copies a revision's content onto its effective record
    merge: Callable[[Any, Any], None] | None = None
    #: raises WorkflowError when the approval that makes the record effective must be refused
    check_approve: Callable[[Any], None] | None = None
    #: called after every committed transition (e.g. to refresh dependent records)
    after_transition: Callable[[Any], None] | None = None
    #: config key holding the number of review levels (1 or 2)
    levels_key: str = ""
    extra: dict = field(default_factory=dict)

    def levels(self) -> int:
        levels = current_app.config.get("REVIEW_LEVELS", {}).get(self.key, 2)
        return 1 if int(levels) == 1 else 2


_REGISTRY: dict[type, RecordType] = {}


def record_types() -> list[RecordType]:
    """Every registered record type, in registration order."""
    return list(_REGISTRY.values())


def register_record_type(record_type: RecordType) -> RecordType:
    _REGISTRY[record_type.model] = record_type
    return record_type


def record_type_of(record) -> RecordType:
    try:
        return _REGISTRY[type(record)]
    except KeyError:
        raise WorkflowError("不支持的记录类型") from None
