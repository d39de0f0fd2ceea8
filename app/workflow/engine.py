"""Review workflow (SPEC §3.1), Frappe-style: transitions are data.

``allowed_actions(record, user)`` decides the buttons; ``apply`` refuses
anything else with a clear message, refuses self-approval and stale
versions, and writes every transition to ``workflow_history``.  A change
(变更) of an effective record is a separate revision row that is reviewed
while the effective version stays in force; approving it copies its fields
onto the effective record and records the field-level diff.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable

from blinker import Namespace
from flask import current_app
from sqlalchemy import ARRAY, DateTime, Integer, String, any_, bindparam, func, literal, null, select, text
from sqlalchemy.orm.exc import StaleDataError

from app.i18n import Msg, N_
from app.extensions import db
from app.models import UserKind
from app.models.mixins import utcnow
from app.models.workflow import WorkflowHistory
from app.security import bundles
from app.security.roles import role_names
from app.workflow.states import (  # noqa: F401  (the engine's names for them)
    ACTION_LABELS, EDITABLE, REVIEWER_ROLES, STATE_LABELS, TRANSITIONS, Actor, State, Transition,
)
from app.workflow.registry import (  # noqa: F401
    _REGISTRY, RecordType, record_type_of, record_types, register_record_type,
)
from app.errors import WorkflowError  # noqa: F401

#: sent after every history row written with ``audited``: (record type, user=…, event=…, detail=…);
#: the audit log subscribes (``app.services.audit``), so the engine needs nothing above it
transition_written = Namespace().signal("workflow-transition-written")


# -- who may act -------------------------------------------------------------
def _reviewer_level(user) -> set[Actor]:
    names = role_names(user)
    return {actor for actor, role in REVIEWER_ROLES.items() if role in names}


def _is_owner(record, user, rtype: RecordType) -> bool:
    if user is None or getattr(user, "kind", None) not in (UserKind.UNIT.value, UserKind.OPERATOR.value):
        return False
    if user.unit_id != record.unit_id:
        return False
    if not user.active:
        return False
    sm = current_app.appbuilder.sm
    return ("menu_access", bundles.MENUS_BY_KEY[rtype.menu_key].label) in sm.get_user_permissions(user)


def _may(transition: Transition, record, user, rtype: RecordType) -> bool:
    if transition.actor is Actor.OWNER:
        return _is_owner(record, user, rtype)
    if getattr(user, "unit_id", None) is not None and user.unit_id == record.unit_id:
        return False  # never review a record of one's own unit
    if getattr(user, "kind", None) != UserKind.PLATFORM.value:
        return False
    return transition.actor in _reviewer_level(user)


def _target(transition: Transition, rtype: RecordType) -> str:
    if transition.action == "approve" and transition.target == State.PENDING_FINAL and rtype.levels() == 1:
        return State.EFFECTIVE.value
    return State(transition.target).value


def _find(record, action: str) -> Transition | None:
    for t in TRANSITIONS:
        if t.action == action and record.state in {s.value for s in t.sources}:
            return t
    return None


def allowed_actions(record, user) -> list[str]:
    rtype = record_type_of(record)
    out = []
    for t in TRANSITIONS:
        if record.state in {s.value for s in t.sources} and _may(t, record, user, rtype):
            if t.action == "change" and (getattr(record, "revision_of_id", None) or pending_revision(record)):
                continue
            out.append(t.action)
    return out


# -- history -----------------------------------------------------------------
def _write_history(record, rtype: RecordType, user, action: str, before: str | None, after: str,
                   opinion: str | None = None, diff: list | None = None, audited: bool = True) -> None:
    target_id = getattr(record, "revision_of_id", None) or record.id
    unit = getattr(user, "unit", None)
    db.session.add(WorkflowHistory(
        record_type=rtype.key, record_id=target_id, unit_id=record.unit_id, user_id=getattr(user, "id", None),
        username=getattr(user, "username", None), actor_unit=unit.name if unit is not None else "平台",
        action=action, from_state=before, to_state=after, opinion=opinion,
        diff=json.dumps(diff, ensure_ascii=False) if diff else None,
    ))
    if audited:
        transition_written.send(rtype, user=user, event=f"wf_{action}",
                                detail=f"{rtype.label}#{target_id} {STATE_LABELS.get(before or '', '')}→{STATE_LABELS[after]}")


def record_created(record, user, action: str | None = None, audited: bool = True) -> None:
    """Call once when a record (or a change revision) is first saved.

    ``action`` names where it came from (e.g. ``import``); bulk paths pass
    ``audited=False`` and write one audit line for the whole batch.
    """
    rtype = record_type_of(record)
    db.session.flush()
    action = action or ("change" if getattr(record, "revision_of_id", None) else "create")
    _write_history(record, rtype, user, action, None, record.state, audited=audited)


def insert_records(model, rows: list[dict], user, action: str = "create") -> list[int]:
    """Bulk form of :func:`record_created` (imports): the records and their history rows
    written without ORM objects; returns the new ids in the order of ``rows``.

    On PostgreSQL the ids are drawn from the table's sequence first, so both INSERTs go
    through psycopg's pipelined ``executemany`` of one short statement (SQLAlchemy's
    multi-row VALUES with RETURNING would send statements of thousands of placeholders
    that psycopg re-parses on every batch); elsewhere one INSERT … RETURNING per batch.
    """
    if not rows:
        return []
    rtype = _REGISTRY.get(model)
    if rtype is None:
        raise WorkflowError(N_("不支持的记录类型"))
    table = model.__table__
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        sequence = conn.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name}).scalar_one()
        ids = list(conn.execute(text("SELECT nextval(:s) FROM generate_series(1, :n)"),
                                {"s": sequence, "n": len(rows)}).scalars())
        rows = [{**row, "id": new_id} for row, new_id in zip(rows, ids)]
        conn.execute(table.insert(), rows)
    else:
        ids = list(conn.execute(table.insert().returning(table.c.id, sort_by_parameter_order=True), rows).scalars())
    # their history rows: one INSERT … SELECT on the server, whatever the number of records
    unit = getattr(user, "unit", None)
    chosen = (table.c.id == any_(bindparam("ids", ids, type_=ARRAY(Integer)))
              if conn.dialect.name == "postgresql" else table.c.id.in_(ids))
    history = WorkflowHistory.__table__
    conn.execute(history.insert().from_select(
        ["record_type", "record_id", "unit_id", "created_at", "user_id", "username", "actor_unit", "action",
         "from_state", "to_state"],
        select(literal(rtype.key), table.c.id, table.c.unit_id, literal(utcnow(), DateTime),
               literal(getattr(user, "id", None), Integer), literal(getattr(user, "username", None), String),
               literal(unit.name if unit is not None else "平台"), literal(action), null(), table.c.state)
        .where(chosen).order_by(table.c.id)))
    return ids


def history_of(rtype_key: str, record_id: int) -> list[WorkflowHistory]:
    return list(db.session.scalars(
        select(WorkflowHistory).where(WorkflowHistory.record_type == rtype_key,
                                      WorkflowHistory.record_id == record_id)
        .order_by(WorkflowHistory.id)))


# -- revisions ---------------------------------------------------------------
def pending_revision(record):
    model = type(record)
    if not hasattr(model, "revision_of_id") or record.id is None:
        return None
    return db.session.scalar(select(model).where(
        model.revision_of_id == record.id, model.state != State.MERGED.value))


def snapshot(record, rtype: RecordType) -> dict[str, str]:
    values = {label: _fmt(getattr(record, attr)) for attr, label in rtype.diff_fields}
    if rtype.diff_extras:
        values.update(rtype.diff_extras(record))
    return values


def _fmt(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d")
    return str(value)


def diff(old: dict[str, str], new: dict[str, str]) -> list[list[str]]:
    return [[k, old.get(k, ""), new.get(k, "")] for k in dict.fromkeys([*old, *new])
            if old.get(k, "") != new.get(k, "")]


def open_change(record, user, action: str = "change"):
    """变更: a draft revision of an effective record; the record stays in force.

    ``action`` names the request in 变更记录 (``deactivate`` for a 停用 request)."""
    rtype = record_type_of(record)
    transition = _find(record, "change")
    if transition is None or record.state != State.EFFECTIVE.value:
        raise WorkflowError(N_("只有已生效的记录可以变更"))
    if not _may(transition, record, user, rtype):
        raise WorkflowError(N_("您无权对该记录执行变更"))
    if getattr(record, "revision_of_id", None):
        raise WorkflowError(N_("变更中的记录不能再次变更"))
    if pending_revision(record) is not None:
        raise WorkflowError(N_("该记录已有进行中的变更，请先完成或撤回"))
    revision = rtype.clone(record)
    revision.revision_of_id = record.id
    revision.unit_id = record.unit_id
    revision.state = State.DRAFT.value
    db.session.add(revision)
    db.session.flush()
    record_created(revision, user, action=action)
    db.session.commit()
    return revision


def cancel_change(revision, user) -> Any:
    """撤销变更: drop a change revision not yet approved (待提交 / 审核不通过); the effective
    version stays untouched. Returns the effective record."""
    rtype = record_type_of(revision)
    original_id = getattr(revision, "revision_of_id", None)
    if not original_id:
        raise WorkflowError(N_("只有变更中的记录可以撤销变更"))
    if revision.state not in EDITABLE:
        label = STATE_LABELS.get(revision.state, revision.state)
        raise WorkflowError(Msg("变更当前为“%(state)s”，不能撤销；待初审的变更请先撤回", state=label))
    if not _is_owner(revision, user, rtype):
        raise WorkflowError(N_("您无权对该记录执行“撤销变更”"))
    original = db.session.get(type(revision), original_id)
    _write_history(revision, rtype, user, "cancel_change", revision.state, original.state)
    _delete_with_files(revision)
    db.session.commit()
    return original


def removable_ids(rtype_key: str, rows) -> set[int]:
    """Ids of the drafts never submitted (their history holds only their creation): the rows
    删除 may remove — the rule :func:`delete_draft` applies, for a whole list at once."""
    drafts = [r.id for r in rows if r.state == State.DRAFT.value and not getattr(r, "revision_of_id", None)]
    if not drafts:
        return set()
    counts = dict(db.session.execute(
        select(WorkflowHistory.record_id, func.count(WorkflowHistory.id))
        .where(WorkflowHistory.record_type == rtype_key, WorkflowHistory.record_id.in_(drafts))
        .group_by(WorkflowHistory.record_id)).all())
    return {pk for pk in drafts if counts.get(pk, 0) <= 1}


def delete_draft(record, user) -> None:
    """删除 of a draft that was never submitted (its history holds only its creation)."""
    rtype = record_type_of(record)
    if not _is_owner(record, user, rtype):
        raise WorkflowError(N_("您无权对该记录执行“删除”"))
    if getattr(record, "revision_of_id", None):
        raise WorkflowError(N_("变更中的记录请使用“撤销变更”"))
    if record.state != State.DRAFT.value or len(history_of(rtype.key, record.id)) > 1:
        raise WorkflowError(N_("只能删除从未提交过的待提交记录；已提交过的记录请撤回后修改"))
    _write_history(record, rtype, user, "delete", record.state, record.state)
    _delete_with_files(record)
    db.session.commit()


def _delete_with_files(record) -> None:
    from app.models.workflow import Attachment

    for a in db.session.scalars(select(Attachment).where(Attachment.owner_type == type(record).__tablename__,
                                                         Attachment.owner_id == record.id)):
        db.session.delete(a)
    db.session.delete(record)


# -- applying transitions ----------------------------------------------------
def assert_editable(record) -> None:
    if record.state not in EDITABLE:
        label = STATE_LABELS.get(record.state, record.state)
        if record.state == State.EFFECTIVE.value:
            raise WorkflowError(Msg("当前状态为“%(state)s”，不能编辑；已生效的记录请使用“变更”", state=label))
        raise WorkflowError(Msg("当前状态为“%(state)s”，不能编辑", state=label))


def apply(record, action: str, user, opinion: str | None = None, expected_version: int | None = None):
    """Perform one transition and commit, or raise WorkflowError and change nothing."""
    rtype = record_type_of(record)
    if action == "change":
        return open_change(record, user)
    if expected_version is not None and record.version != expected_version:
        raise WorkflowError(N_("记录已被他人修改，请刷新后重试"))
    transition = _find(record, action)
    label = STATE_LABELS.get(record.state, record.state)
    if transition is None:
        raise WorkflowError(Msg("当前状态为“%(state)s”，不能%(action)s", state=label, action=ACTION_LABELS.get(action, action)))
    if not _may(transition, record, user, rtype):
        raise WorkflowError(Msg("您无权对该记录执行“%(action)s”", action=ACTION_LABELS.get(action, action)))
    opinion = (opinion or "").strip() or None
    if action == "reject" and not opinion:
        raise WorkflowError(N_("审核不通过时必须填写审核意见"))
    if action == "submit" and rtype.check_complete:
        rtype.check_complete(record)
    before = record.state
    after = _target(transition, rtype)
    if action == "approve" and after == State.EFFECTIVE.value and rtype.check_approve:
        rtype.check_approve(record)
    now = utcnow()
    record.state = after
    if action == "submit":
        record.submitted_at = now
        record.review_opinion = None
    if action in ("approve", "reject"):
        record.reviewed_at = now
        record.review_opinion = opinion
    changes = None
    try:
        if after == State.EFFECTIVE.value and getattr(record, "revision_of_id", None):
            original = db.session.get(type(record), record.revision_of_id)
            old = snapshot(original, rtype)
            rtype.merge(original, record)
            original.version  # noqa: B018  (loaded: the original's UPDATE is version-checked too)
            changes = diff(old, snapshot(record, rtype))
            record.state = State.MERGED.value
            if original.state == State.DEACTIVATED.value:  # an approved 停用 request
                after = original.state
        elif after == State.EFFECTIVE.value:
            changes = diff({}, snapshot(record, rtype))
        _write_history(record, rtype, user, action, before, after, opinion, changes)
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise WorkflowError(N_("记录已被他人修改，请刷新后重试")) from None
    if rtype.after_transition:
        rtype.after_transition(record)
    return record


def commit_saved(record, user, submit: bool = False):
    """保存 / 保存并提交 of a draft the caller has changed: one transaction, one commit.

    With ``submit`` the 提交 is applied before anything is committed, so a refused submission
    (incomplete, not allowed, changed by someone else) rolls the whole save back: nothing is
    saved half-way and the page can show the user's input again with the reason."""
    if not submit:
        db.session.commit()
        return record
    try:
        return apply(record, "submit", user)
    except WorkflowError:
        db.session.rollback()
        raise


@dataclass
class BatchResult:
    ok: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)


def batch(records: Iterable, action: str, user, opinion: str | None = None) -> BatchResult:
    """批量提交 / 批量审核: one transaction per record; successes and failures with reasons."""
    result = BatchResult()
    for record in records:
        try:
            apply(record, action, user, opinion)
        except WorkflowError as exc:
            db.session.rollback()
            result.failed.append((record.id, exc.message))
        else:
            result.ok.append(record.id)
    return result
