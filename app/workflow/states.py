"""The review workflow's states, actions and transitions as plain data (SPEC §3.1).

Import-free on purpose: models, the engine, services, views and metrics all read it, and it
reads nothing of the app (guarded by ``tests/unit/test_layers.py``).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass


class State(str, enum.Enum):
    DRAFT = "draft"
    PENDING_INITIAL = "pending_initial"
    PENDING_FINAL = "pending_final"
    EFFECTIVE = "effective"
    REJECTED = "rejected"
    MERGED = "merged"  # an approved change revision, folded into its record
    DEACTIVATED = "deactivated"  # 已停用 through an approved 停用 request (history kept)


STATE_LABELS = {
    State.DRAFT.value: "待提交",
    State.PENDING_INITIAL.value: "待初审",
    State.PENDING_FINAL.value: "待复审",
    State.EFFECTIVE.value: "已生效",
    State.REJECTED.value: "审核不通过",
    State.MERGED.value: "已合并",
    State.DEACTIVATED.value: "已停用",
}

ACTION_LABELS = {
    "create": "新增", "import": "导入", "save": "保存", "submit": "提交", "withdraw": "撤回", "approve": "审核通过",
    "reject": "审核不通过", "change": "变更", "deactivate": "停用", "cancel_change": "撤销变更",
    "delete": "删除",
}


class Actor(str, enum.Enum):
    OWNER = "owner"  # a user of the record's unit holding the record type's menu
    INITIAL = "initial"  # 初审
    FINAL = "final"  # 复审


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[str]
    target: str
    actor: Actor


TRANSITIONS: tuple[Transition, ...] = (
    Transition("submit", frozenset({State.DRAFT, State.REJECTED}), State.PENDING_INITIAL, Actor.OWNER),
    Transition("withdraw", frozenset({State.PENDING_INITIAL}), State.DRAFT, Actor.OWNER),
    Transition("approve", frozenset({State.PENDING_INITIAL}), State.PENDING_FINAL, Actor.INITIAL),
    Transition("reject", frozenset({State.PENDING_INITIAL}), State.REJECTED, Actor.INITIAL),
    Transition("approve", frozenset({State.PENDING_FINAL}), State.EFFECTIVE, Actor.FINAL),
    Transition("reject", frozenset({State.PENDING_FINAL}), State.REJECTED, Actor.FINAL),
    Transition("change", frozenset({State.EFFECTIVE}), State.DRAFT, Actor.OWNER),
)

EDITABLE = frozenset({State.DRAFT.value, State.REJECTED.value})


#: the review queues (levels) and the suffix of their menus (委托授权 + 待初审)
QUEUE_LABELS = {"initial": "待初审", "final": "待复审"}
#: the state a record waits in, per queue
QUEUE_STATES = {"initial": State.PENDING_INITIAL.value, "final": State.PENDING_FINAL.value}

#: the platform roles whose holders act as each review level
REVIEWER_ROLES = {Actor.INITIAL: "初审员", Actor.FINAL: "复审员"}
