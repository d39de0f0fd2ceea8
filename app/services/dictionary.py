"""数据字典 (计量单位 / 包装单位): add, rename, disable / enable, delete.

An entry that is *in use* — referenced by any business record — cannot be
deleted (disable it instead).  The features that reference units register a
usage checker here (``register_usage_checker``), so this module never needs
to know their tables; ``unit_in_use`` asks every checker.
"""
from __future__ import annotations

from typing import Callable

from sqlalchemy import func, select

from app.extensions import db
from app.i18n import Msg, N_
from app.models.dictionary import DICTIONARY_CATEGORIES, MEASURE_UNIT, PACKAGE_UNIT, DictionaryEntry
from app.models.mixins import utcnow
from app.services import audit
from app.services.errors import DomainError, ValidationFailed

NAME_MAX = 20

# SPEC §7: no public unit dictionary exists; a sensible starting list.
DEFAULT_MEASURE_UNITS = ("个", "支", "根", "条", "只", "片", "张", "块", "贴", "枚", "颗", "粒", "副", "把",
                         "套", "组", "包", "袋", "瓶", "卷", "米", "厘米", "毫升", "克", "台")
DEFAULT_PACKAGE_UNITS = ("盒", "箱", "包", "袋", "瓶", "桶", "卷", "套", "支", "个", "板", "件")

#: checker(category, name) -> a short description of what uses it, or None
UsageChecker = Callable[[str, str], "str | None"]
_checkers: list[UsageChecker] = []
#: hook(category, old_name, new_name): lets users of a unit follow a rename
RenameHook = Callable[[str, str, str], None]
_rename_hooks: list[RenameHook] = []


def register_usage_checker(checker: UsageChecker) -> UsageChecker:
    """Register ``checker(category, name)``; it returns what uses the unit (e.g. "产品包装 3 条") or None."""
    if checker not in _checkers:
        _checkers.append(checker)
    return checker


def unregister_usage_checker(checker: UsageChecker) -> None:
    if checker in _checkers:
        _checkers.remove(checker)


def register_rename_hook(hook: RenameHook) -> RenameHook:
    if hook not in _rename_hooks:
        _rename_hooks.append(hook)
    return hook


def unregister_rename_hook(hook: RenameHook) -> None:
    if hook in _rename_hooks:
        _rename_hooks.remove(hook)


def usages(name: str, category: str | None = None) -> list[str]:
    """What references the unit ``name`` (in ``category``, or in any category)."""
    categories = [category] if category else list(DICTIONARY_CATEGORIES)
    found = []
    for cat in categories:
        for checker in list(_checkers):
            use = checker(cat, name)
            if use:
                found.append(use)
    return found


def unit_in_use(name: str, category: str | None = None) -> bool:
    return bool(usages(name, category))


# -- queries ----------------------------------------------------------------------
def entries(category: str, include_inactive: bool = True) -> list[DictionaryEntry]:
    stmt = select(DictionaryEntry).where(DictionaryEntry.category == category)
    if not include_inactive:
        stmt = stmt.where(DictionaryEntry.active.is_(True))
    return list(db.session.scalars(stmt.order_by(DictionaryEntry.sort_order, DictionaryEntry.id)))


def active_names(category: str) -> list[str]:
    """The choices offered by forms, templates and imports (enabled entries, in order)."""
    return [e.name for e in entries(category, include_inactive=False)]


def find(category: str, name: str) -> DictionaryEntry | None:
    return db.session.scalar(select(DictionaryEntry).where(DictionaryEntry.category == category,
                                                           DictionaryEntry.name == (name or "").strip()))


def _check_category(category: str) -> None:
    if category not in DICTIONARY_CATEGORIES:
        raise DomainError(N_("未知的字典类型"), field="category")


def _check_name(category: str, name: str, field: str = "name") -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed({field: N_("请填写单位名称")})
    if len(name) > NAME_MAX:
        raise ValidationFailed({field: Msg("单位名称不能超过%(n)s个字符", n=NAME_MAX)})
    if any(ch.isspace() for ch in name) or any(ch in name for ch in ",，;；/\\\"'<>=+@"):
        raise ValidationFailed({field: N_("单位名称不能包含空格或特殊字符")})
    if find(category, name) is not None:
        raise ValidationFailed({field: Msg("%(category)s“%(name)s”已存在", category=DICTIONARY_CATEGORIES[category], name=name)})
    return name


def _get(category: str, name: str) -> DictionaryEntry:
    _check_category(category)
    entry = find(category, name)
    if entry is None:
        raise DomainError(N_("字典项不存在或已被删除"))
    return entry


# -- verbs ------------------------------------------------------------------------
def add(category: str, name: str, user=None) -> DictionaryEntry:
    _check_category(category)
    name = _check_name(category, name)
    last = db.session.scalar(select(func.max(DictionaryEntry.sort_order))
                             .where(DictionaryEntry.category == category)) or 0
    entry = DictionaryEntry(category=category, name=name, sort_order=last + 1, active=True)
    db.session.add(entry)
    audit.record("dictionary_added", user=user, detail=f"{DICTIONARY_CATEGORIES[category]} {name}")
    db.session.commit()
    return entry


def rename(category: str, name: str, new_name: str, user=None) -> DictionaryEntry:
    entry = _get(category, name)
    new_name = _check_name(category, new_name, field="new_name")
    old = entry.name
    entry.name = new_name
    entry.updated_at = utcnow()
    for hook in list(_rename_hooks):
        hook(category, old, new_name)
    audit.record("dictionary_renamed", user=user, detail=f"{DICTIONARY_CATEGORIES[category]} {old} → {new_name}")
    db.session.commit()
    return entry


def set_active(category: str, name: str, active: bool, user=None) -> DictionaryEntry:
    entry = _get(category, name)
    entry.active = active
    entry.updated_at = utcnow()
    audit.record("dictionary_enabled" if active else "dictionary_disabled", user=user,
                 detail=f"{DICTIONARY_CATEGORIES[category]} {entry.name}")
    db.session.commit()
    return entry


def delete(category: str, name: str, user=None) -> None:
    entry = _get(category, name)
    used = usages(entry.name, category)
    if used:
        raise DomainError(Msg("%(category)s“%(name)s”已被使用（%(uses)s），不能删除，可停用",
                              category=DICTIONARY_CATEGORIES[category], name=entry.name, uses="；".join(used)))
    db.session.delete(entry)
    audit.record("dictionary_deleted", user=user, detail=f"{DICTIONARY_CATEGORIES[category]} {entry.name}")
    db.session.commit()


def seed_defaults() -> int:
    """Insert the starting unit lists where a category is still empty (idempotent)."""
    added = 0
    for category, names in ((MEASURE_UNIT, DEFAULT_MEASURE_UNITS), (PACKAGE_UNIT, DEFAULT_PACKAGE_UNITS)):
        if db.session.scalar(select(DictionaryEntry.id).where(DictionaryEntry.category == category).limit(1)):
            continue
        db.session.add_all(DictionaryEntry(category=category, name=n, sort_order=i, active=True)
                           for i, n in enumerate(names, start=1))
        added += len(names)
    db.session.commit()
    return added
