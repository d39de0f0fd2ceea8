"""数据字典: add, rename, disable, and no deletion of a unit in use."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog
from app.models.dictionary import MEASURE_UNIT, PACKAGE_UNIT
from app.services import dictionary
from app.services.errors import DomainError, ValidationFailed


def test_default_lists_are_seeded_once(app):
    added = dictionary.seed_defaults()
    assert added == len(dictionary.DEFAULT_MEASURE_UNITS) + len(dictionary.DEFAULT_PACKAGE_UNITS)
    assert dictionary.seed_defaults() == 0
    assert {"支", "个", "片", "根", "条", "套", "只", "袋", "瓶", "包", "卷", "副", "台"} <= set(
        dictionary.active_names(MEASURE_UNIT))
    assert {"盒", "箱"} <= set(dictionary.active_names(PACKAGE_UNIT))


def test_add_rename_disable_enable(app):
    dictionary.add(MEASURE_UNIT, " 支 ")
    dictionary.add(MEASURE_UNIT, "片")
    assert dictionary.active_names(MEASURE_UNIT) == ["支", "片"]
    dictionary.rename(MEASURE_UNIT, "片", "贴")
    assert dictionary.active_names(MEASURE_UNIT) == ["支", "贴"]
    dictionary.set_active(MEASURE_UNIT, "支", False)
    assert dictionary.active_names(MEASURE_UNIT) == ["贴"]
    assert [e.name for e in dictionary.entries(MEASURE_UNIT)] == ["支", "贴"]  # still listed for admins
    dictionary.set_active(MEASURE_UNIT, "支", True)
    assert dictionary.active_names(MEASURE_UNIT) == ["支", "贴"]
    events = db.session.scalars(select(AuditLog.event)).all()
    assert {"dictionary_added", "dictionary_renamed", "dictionary_disabled", "dictionary_enabled"} <= set(events)


def test_the_same_name_may_be_a_measure_and_a_package_unit(app):
    dictionary.add(MEASURE_UNIT, "盒")
    dictionary.add(PACKAGE_UNIT, "盒")
    with pytest.raises(ValidationFailed) as exc:
        dictionary.add(PACKAGE_UNIT, "盒")
    assert "已存在" in exc.value.errors["name"]


@pytest.mark.parametrize("name,message", [("", "请填写"), ("单" * 21, "不能超过20个字符"), ("盒 装", "特殊字符"),
                                          ("=1+1", "特殊字符")])
def test_invalid_names(app, name, message):
    with pytest.raises(ValidationFailed) as exc:
        dictionary.add(MEASURE_UNIT, name)
    assert message in exc.value.errors["name"]


def test_rename_to_an_existing_name_is_refused(app):
    dictionary.add(MEASURE_UNIT, "支")
    dictionary.add(MEASURE_UNIT, "根")
    with pytest.raises(ValidationFailed) as exc:
        dictionary.rename(MEASURE_UNIT, "根", "支")
    assert "new_name" in exc.value.errors


def test_unknown_category_or_entry(app):
    with pytest.raises(DomainError):
        dictionary.add("colour", "红")
    with pytest.raises(DomainError, match="不存在"):
        dictionary.delete(MEASURE_UNIT, "不存在的单位")


def test_an_unused_unit_can_be_deleted(app):
    dictionary.add(PACKAGE_UNIT, "桶")
    assert not dictionary.unit_in_use("桶")
    dictionary.delete(PACKAGE_UNIT, "桶")
    assert dictionary.find(PACKAGE_UNIT, "桶") is None


@pytest.fixture
def packaging_uses_box():
    """A feature that references 包装单位 registers its checker (as packaging will)."""

    def checker(category, name):
        return "产品包装 3 条" if (category, name) == (PACKAGE_UNIT, "盒") else None

    dictionary.register_usage_checker(checker)
    yield checker
    dictionary.unregister_usage_checker(checker)


def test_a_unit_in_use_cannot_be_deleted_but_can_be_disabled(app, packaging_uses_box):
    dictionary.add(PACKAGE_UNIT, "盒")
    dictionary.add(MEASURE_UNIT, "盒")
    assert dictionary.unit_in_use("盒") and dictionary.unit_in_use("盒", PACKAGE_UNIT)
    assert not dictionary.unit_in_use("盒", MEASURE_UNIT)
    with pytest.raises(DomainError) as exc:
        dictionary.delete(PACKAGE_UNIT, "盒")
    assert "已被使用" in exc.value.message and "产品包装 3 条" in exc.value.message
    db.session.rollback()
    assert dictionary.find(PACKAGE_UNIT, "盒") is not None
    dictionary.set_active(PACKAGE_UNIT, "盒", False)
    dictionary.delete(MEASURE_UNIT, "盒")  # the measure unit of the same name is not in use


def test_rename_hooks_let_users_follow(app):
    seen = []

    def hook(category, old, new):
        seen.append((category, old, new))

    dictionary.register_rename_hook(hook)
    try:
        dictionary.add(MEASURE_UNIT, "只")
        dictionary.rename(MEASURE_UNIT, "只", "枚")
    finally:
        dictionary.unregister_rename_hook(hook)
    assert seen == [(MEASURE_UNIT, "只", "枚")]
