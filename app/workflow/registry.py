"""The record types the workflow engine serves, registered explicitly at start-up.

One :class:`RecordType` per model (委托授权, 注册证, 单件, 产品/包装): what the engine needs to
know of it.  ``app.services.record_types.register_all`` registers them when the app is created;
review menus and queues, reviewer permissions, metrics and the engine read them from here.
It imports nothing of the app but errors and the state data.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from flask import current_app

from app.i18n import N_
from app.errors import WorkflowError
from app.workflow.states import QUEUE_LABELS


@dataclass
class RecordType:
    """What the engine needs to know of one record type."""

    key: str  # e.g. "entrustment": URLs, history rows, config (REVIEW_LEVELS)
    model: type
    label: str  # e.g. "耗材委托授权"
    menu_key: str  # the procurement menu whose holders own the records (a key of bundles.MENUS_BY_KEY)
    review_label: str  # e.g. "委托授权": its review queues are 委托授权待初审 / 委托授权待复审
    #: the column the queues' 编号或编码 filter searches, and shown as the record's number
    number_field: str = "id"
    #: the number shown for a record where the column alone is not enough (e.g. code + 规格)
    describe: Callable[[Any], str] | None = None
    #: the columns the unit's list searches with its 查询 box (contains, case as typed)
    search_fields: tuple[str, ...] = ()
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

    def number_of(self, record) -> str:
        """What identifies one record to a person in queues and lists."""
        return self.describe(record) if self.describe else str(getattr(record, self.number_field) or "")

    def queue_menu(self, level: str) -> str:
        """The 审核管理 menu of one review queue (``level``: initial / final), e.g. 注册证待初审."""
        return self.review_label + QUEUE_LABELS[level]

    def levels(self) -> int:
        levels = current_app.config.get("REVIEW_LEVELS", {}).get(self.key, 2)
        return 1 if int(levels) == 1 else 2


_REGISTRY: dict[type, RecordType] = {}


def record_types() -> list[RecordType]:
    """Every registered record type, in registration order."""
    return list(_REGISTRY.values())


def by_key(key: str) -> RecordType | None:
    return next((r for r in _REGISTRY.values() if r.key == key), None)


def register_record_type(record_type: RecordType) -> RecordType:
    """Register (or re-register) one record type; keys are unique."""
    other = by_key(record_type.key)
    if other is not None and other.model is not record_type.model:
        raise ValueError(f"record type key {record_type.key!r} is already {other.model.__name__}'s")
    _REGISTRY[record_type.model] = record_type
    return record_type


def unregister_record_type(record_type: RecordType) -> None:
    _REGISTRY.pop(record_type.model, None)


def review_menus() -> list[tuple[str, str, str]]:
    """(menu name, record type key, level) of every review queue, in registry order."""
    return [(r.queue_menu(level), r.key, level) for r in _REGISTRY.values() for level in QUEUE_LABELS]


def record_type_of(record) -> RecordType:
    try:
        return _REGISTRY[type(record)]
    except KeyError:
        raise WorkflowError(N_("不支持的记录类型")) from None
