"""The one registry of procurement menus and the FAB permissions each needs.

Account roles and ceilings store *menu keys*; this registry expands a key to
every FAB (permission, view-menu) pair its pages need.  Nobody but a platform
admin ever ticks raw FAB permissions.  Later features add their views' pairs
to their menu here, and ``flask sync-roles`` rebuilds the roles.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from app.models.unit import UnitRole
from app.workflow import registry

# Business lines of the menu tree (药品 / 耗材).
LINE_CONSUMABLE = "耗材"
LINE_DRUG = "药品"

CRUD = ("can_list", "can_show", "can_add", "can_edit", "can_delete")


@dataclass(frozen=True)
class Menu:
    key: str
    label: str
    line: str
    category: str
    view_permissions: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    # Flask endpoint of the menu's landing page, once the feature exists.
    endpoint: str | None = None

    @property
    def permissions(self) -> tuple[tuple[str, str], ...]:
        """(permission, view_menu) pairs: menu access first, then its views."""
        return (("menu_access", self.label),) + self.view_permissions


def _view(view: str, *perms: str) -> tuple[tuple[str, str], ...]:
    return tuple((p, view) for p in perms)


QUALIFICATION = "耗材统一资质管理"
QUERY = "耗材查询"

# 资质概览 belongs to whoever holds any 耗材统一资质管理 menu: each of the four bundles carries it,
# and the page shows only the record types of the menus the user holds.
QUALIFICATION_OVERVIEW = _view("QualificationOverviewView", "can_index")

MENUS: tuple[Menu, ...] = (
    Menu("consumable_entrustment", "耗材委托授权列表", LINE_CONSUMABLE, QUALIFICATION,
         _view("ConsumableEntrustmentView", *CRUD) + QUALIFICATION_OVERVIEW, endpoint="ConsumableEntrustmentView.list"),
    Menu("consumable_certificate", "耗材注册证列表", LINE_CONSUMABLE, QUALIFICATION,
         _view("ConsumableCertificateView", *CRUD) + QUALIFICATION_OVERVIEW, endpoint="ConsumableCertificateView.list"),
    Menu("consumable_item", "耗材单件列表", LINE_CONSUMABLE, QUALIFICATION,
         _view("ConsumableItemView", *CRUD) + QUALIFICATION_OVERVIEW, endpoint="ConsumableItemView.list"),
    Menu("consumable_product", "耗材产品列表", LINE_CONSUMABLE, QUALIFICATION,
         _view("ConsumableProductView", *CRUD) + QUALIFICATION_OVERVIEW, endpoint="ConsumableProductView.list"),
    Menu("consumable_product_query", "耗材产品查询", LINE_CONSUMABLE, QUERY,
         _view("ConsumableProductQueryView", "can_list"), endpoint="ConsumableProductQueryView.list"),
    Menu("certificate_query", "注册证查询", LINE_CONSUMABLE, QUERY,
         _view("CertificateQueryView", "can_list", "can_show"), endpoint="CertificateQueryView.list"),
)

MENUS_BY_KEY = {m.key: m for m in MENUS}

# 用户基础设置 belongs to every unit account, outside any ceiling.
UNIT_ACCOUNT_MENUS: tuple[Menu, ...] = (
    Menu("account_roles", "账号角色管理", "用户基础设置", "用户基础设置",
         _view("AccountRoleView", *CRUD, "can_assign"), endpoint="AccountRoleView.list"),
)

# 单位管理 → 单位经办人: hall pages of the unit account (never of operators).
UNIT_ACCOUNT_PERMISSIONS: tuple[tuple[str, str], ...] = _view(
    "OperatorView", "can_list", "can_show", "can_add", "can_disable", "can_enable", "can_resetpassword"
)

DEFAULT_CEILINGS: dict[UnitRole, tuple[str, ...]] = {
    UnitRole.MANUFACTURER: (
        "consumable_entrustment",
        "consumable_certificate",
        "consumable_item",
        "consumable_product",
        "consumable_product_query",
    ),
    UnitRole.DISTRIBUTOR: ("consumable_product_query", "certificate_query"),
    UnitRole.DESIGNATED_HOSPITAL: ("consumable_product_query", "certificate_query"),
    UnitRole.DESIGNATED_PHARMACY: ("consumable_product_query", "certificate_query"),
    UnitRole.NON_DESIGNATED_HOSPITAL: ("consumable_product_query",),
    UnitRole.NON_DESIGNATED_PHARMACY: ("consumable_product_query",),
}


def expand(menu_keys: Iterable[str]) -> set[tuple[str, str]]:
    """Every FAB (permission, view_menu) pair the given menus need."""
    pairs: set[tuple[str, str]] = set()
    for key in menu_keys:
        menu = MENUS_BY_KEY.get(key)
        if menu is None:
            raise KeyError(f"unknown menu {key!r}")
        pairs.update(menu.permissions)
    return pairs


def menu_choices() -> list[tuple[str, str]]:
    return [(m.key, f"{m.line} / {m.category} / {m.label}") for m in MENUS]


def menu_tree(keys: Iterable[str]) -> dict[str, dict[str, list[Menu]]]:
    """Menus grouped by business line then category, in registry order."""
    wanted = set(keys)
    tree: dict[str, dict[str, list[Menu]]] = {}
    for menu in MENUS:
        if menu.key in wanted:
            tree.setdefault(menu.line, {}).setdefault(menu.category, []).append(menu)
    return tree


# 审核管理: what each reviewer level needs (queues, detail, decisions, files).
REVIEW_CATEGORY = "审核管理"
REVIEW_OVERVIEW_MENU = "我的待办"
REVIEW_API_KEYS_MENU = "我的API密钥"  # reviewers' keys of the integration API (app/views/api_keys.py)
_REVIEW_OVERVIEW = _view("ReviewOverviewView", "can_index") + (("menu_access", REVIEW_OVERVIEW_MENU),
                                                               ("menu_access", REVIEW_API_KEYS_MENU))
_REVIEW_PAGES = _view("ReviewView", "can_list", "can_show", "can_edit")


def reviewer_permissions(level: str) -> tuple[tuple[str, str], ...]:
    """What a reviewer of ``level`` (initial / final) needs: the queue menus of every registered
    record type (委托授权待初审 …), the review pages, 我的待办 and 我的API密钥."""
    queues = tuple(("menu_access", r.queue_menu(level)) for r in registry.record_types())
    return _REVIEW_PAGES + (("menu_access", REVIEW_CATEGORY),) + queues + _REVIEW_OVERVIEW
