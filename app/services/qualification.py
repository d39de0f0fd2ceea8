"""耗材委托授权 and 耗材注册证: verbs of the unit side (SPEC §3.2, §3.3).

Every verb loads through the unit's scope, collects every field error at once,
and runs in one transaction; the review transitions go through the one
workflow engine.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from sqlalchemy import select

from app.extensions import db
from app.models import (ENTRUSTMENT_KINDS, AppUser, Attachment, Entrustment, EntrustmentCertificate,
                        QualCertificate)
from app.i18n import Msg, N_, translate
from app.services import attachments, ca, chain, national
from app.services.errors import DomainError, ValidationFailed
from app.services.scope import own
from app.workflow import engine
from app.workflow.engine import RecordType, State, WorkflowError

SUBMITTED_OR_EFFECTIVE = (State.PENDING_INITIAL.value, State.PENDING_FINAL.value, State.EFFECTIVE.value)
LIVE = (State.DRAFT.value, State.REJECTED.value, State.PENDING_INITIAL.value, State.PENDING_FINAL.value,
        State.EFFECTIVE.value)

SLOT_LABELS = {
    "proof": "证明材料",
    "letter_en": "代理授权书（英文）",
    "letter_zh": "代理授权书（中文翻译件）",
    "scan": "注册证扫描件",
}


# -- shared helpers -----------------------------------------------------------
def files_of(record) -> list[Attachment]:
    return attachments.of(type(record).__tablename__, record.id)


def files_by_slot(record) -> dict[str, list[Attachment]]:
    out: dict[str, list[Attachment]] = {}
    for a in files_of(record):
        out.setdefault(a.slot, []).append(a)
    return out


def _replace_slot(record, slot: str, new: Attachment) -> None:
    for old in files_of(record):
        if old.slot == slot:
            db.session.delete(old)
    attachments.attach(new, type(record).__tablename__, record.id)


def _describe_files(record) -> dict[str, str]:
    out = {}
    for slot, items in files_by_slot(record).items():
        out[SLOT_LABELS.get(slot, slot)] = "；".join(f"{a.filename}（SHA-256 {a.sha256[:12]}…）" for a in items)
    return out


def _copy_files(source, target) -> None:
    for a in files_of(source):
        attachments.attach(attachments.copy(a), type(target).__tablename__, target.id)


def _merge_files(original, revision) -> None:
    for a in files_of(original):
        db.session.delete(a)
    for a in files_of(revision):
        attachments.attach(attachments.copy(a), type(original).__tablename__, original.id)


# -- 耗材委托授权 -------------------------------------------------------------
def _entrustment_extras(record) -> dict[str, str]:
    out = {"关联注册证": "、".join(sorted(record.cert_numbers))}
    out.update(_describe_files(record))
    return out


def _entrustment_complete(record) -> None:
    errors = entrustment_errors(record.kind, record.principal_name, record.valid_from, record.valid_to,
                                record.cert_numbers, set(files_by_slot(record)), for_submit=True)
    if errors:
        raise WorkflowError(Msg("信息不完整，不能提交：%(reasons)s", reasons="；".join(map(translate, errors.values()))))


def _entrustment_clone(record) -> Entrustment:
    clone = Entrustment(unit_id=record.unit_id, number=record.number, kind=record.kind,
                        principal_name=record.principal_name, valid_from=record.valid_from,
                        valid_to=record.valid_to)
    clone.certificates = [EntrustmentCertificate(cert_no=n) for n in record.cert_numbers]
    db.session.add(clone)
    db.session.flush()
    _copy_files(record, clone)
    return clone


def _entrustment_merge(original: Entrustment, revision: Entrustment) -> None:
    original.kind = revision.kind
    original.principal_name = revision.principal_name
    original.valid_from = revision.valid_from
    original.valid_to = revision.valid_to
    # keep the rows of certificates that stay linked: replacing the whole collection would
    # INSERT the new rows before the old ones are DELETEd and break uq_entrustment_cert
    wanted = revision.cert_numbers
    kept = [c for c in original.certificates if c.cert_no in wanted]
    original.certificates = kept + [EntrustmentCertificate(cert_no=n) for n in wanted
                                    if n not in {c.cert_no for c in kept}]
    original.reviewed_at = revision.reviewed_at
    _merge_files(original, revision)


ENTRUSTMENT = RecordType(
    key="entrustment", model=Entrustment, label="耗材委托授权", menu_key="consumable_entrustment",
    review_label=N_("委托授权"), number_field="number", search_fields=("number", "principal_name"),
    diff_fields=(("kind_label", "委托授权类型"), ("principal_name", "委托方/境外注册人"),
                 ("valid_from", "有效期开始"), ("valid_to", "有效期结束")),
    diff_extras=_entrustment_extras, check_complete=_entrustment_complete,
    clone=_entrustment_clone, merge=_entrustment_merge, after_transition=chain.after_transition,
)


def entrustment_errors(kind, principal, valid_from, valid_to, cert_nos, slots: set[str],
                       for_submit: bool = False, kept: frozenset[str] | set[str] = frozenset()) -> dict[str, str]:
    """Every reason an entrustment is refused, by field. ``kept``: certificates already linked
    (a certificate that expired since may stay linked; a newly linked one must not be 已过期)."""
    errors: dict[str, str] = {}
    if kind not in ENTRUSTMENT_KINDS:
        errors["kind"] = N_("请选择委托授权类型")
    if not (principal or "").strip():
        errors["principal_name"] = N_("请填写委托方（境外注册人）名称")
    if not valid_from:
        errors["valid_from"] = N_("请填写有效期开始日期")
    if not valid_to:
        errors["valid_to"] = N_("请填写有效期结束日期")
    elif valid_from and valid_to < valid_from:
        errors["valid_to"] = N_("有效期结束日期不能早于开始日期")
    elif chain.is_expired(valid_to):
        errors["valid_to"] = N_("有效期结束日期已过，不能维护已过期的委托授权")
    if kind == "agent":
        if "letter_en" not in slots:
            errors["letter_en"] = N_("境外代理须上传代理授权书（英文）")
        if "letter_zh" not in slots:
            errors["letter_zh"] = N_("境外代理须上传代理授权书（中文翻译件）；若无中文翻译件，可上传同一份授权书")
    elif kind == "contract" and "proof" not in slots:
        errors["proof"] = N_("请上传委托生产证明材料")
    problems = []
    for no in cert_nos:
        cert = national.certificate(no)
        if cert is None:
            problems.append(Msg("%(no)s不在国家医保耗材注册证数据中", no=no))
        elif kind == "agent" and not national.is_imported(cert):
            problems.append(Msg("%(no)s为境内注册证，境外代理只能关联进口注册证", no=no))
        elif no not in kept and chain.is_expired(cert.valid_to):
            problems.append(Msg("%(no)s已过期（有效期至%(date)s），不能关联", no=no, date=f"{cert.valid_to:%Y-%m-%d}"))
    if problems:
        errors["certificates"] = Msg.join(problems)
    elif for_submit and not cert_nos:
        errors["certificates"] = N_("请点击关联注册证，至少选择一个注册证")
    return errors


@dataclass
class EntrustmentInput:
    kind: str
    principal_name: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    cert_nos: list[str]
    #: slot → (filename, bytes) of newly uploaded files
    uploads: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    zh_same_as_en: bool = False
    #: slot → id of a file kept from a refused attempt (attachments.keep_pending)
    kept: dict[str, str] = field(default_factory=dict)


def _refuse_keeping_files(errors: dict[str, str], unit_id: int, uploads: dict[str, tuple[str, bytes]],
                          kept: dict[str, Attachment]) -> None:
    """Roll back, keep every valid chosen file for the next attempt, raise the field errors."""
    db.session.rollback()
    out: dict[str, tuple[int, str]] = {}
    for slot, a in kept.items():
        if slot not in errors and slot not in uploads:
            out[slot] = (a.id, a.filename)
    for slot, (name, blob) in uploads.items():
        if slot not in errors:
            a = attachments.keep_pending(unit_id, slot, name, blob)
            out[slot] = (a.id, a.filename)
    exc = ValidationFailed(errors)
    exc.kept = out
    raise exc


def save_entrustment(actor: AppUser, record: Entrustment | None, data: EntrustmentInput,
                     submit: bool = False) -> Entrustment:
    """保存 (and 提交 when ``submit``): creates or edits a draft; nothing saved on any error."""
    if record is not None:
        own(record, actor)
        engine.assert_editable(record)
    cert_nos = list(dict.fromkeys(n.strip() for n in data.cert_nos if n and n.strip()))
    existing = set(files_by_slot(record)) if record is not None else set()
    errors: dict[str, str] = {}
    stored: dict[str, Attachment] = {}
    kept: dict[str, Attachment] = {}
    for slot, pk in data.kept.items():
        if slot not in data.uploads and (a := attachments.take_pending(actor.unit_id, pk, slot)) is not None:
            kept[slot] = stored[slot] = a
    for slot, (name, blob) in data.uploads.items():
        try:
            stored[slot] = attachments.store(actor.unit_id, slot, name, blob, field=slot)
        except DomainError as exc:
            errors[slot] = exc.message
    if data.kind == "agent" and data.zh_same_as_en and "letter_zh" not in stored and "letter_en" in stored:
        stored["letter_zh"] = attachments.copy(stored["letter_en"])
        stored["letter_zh"].slot = "letter_zh"
    slots = (existing | set(stored)) - set(errors)
    if data.kind != "agent":
        slots -= {"letter_en", "letter_zh"}
    errors.update({k: e for k, e in entrustment_errors(
        data.kind, data.principal_name, data.valid_from, data.valid_to, cert_nos, slots,
        for_submit=submit, kept=set(record.cert_numbers) if record is not None else set()).items()
        if k not in errors})
    if errors:
        _refuse_keeping_files(errors, actor.unit_id, data.uploads, kept)
    new = record is None
    if new:
        record = Entrustment(unit_id=actor.unit_id, state=State.DRAFT.value)
        db.session.add(record)
    record.kind = data.kind
    record.principal_name = data.principal_name.strip()
    record.valid_from = data.valid_from
    record.valid_to = data.valid_to
    record.certificates = [c for c in record.certificates if c.cert_no in cert_nos] + [
        EntrustmentCertificate(cert_no=n) for n in cert_nos if n not in record.cert_numbers]
    db.session.flush()
    if not record.number:
        record.number = f"WT{dt.date.today():%Y%m%d}{record.id:06d}"
    for slot, attachment in stored.items():
        _replace_slot(record, slot, attachment)
    if data.kind != "agent":
        for a in files_of(record):
            if a.slot in ("letter_en", "letter_zh"):
                db.session.delete(a)
    if new:
        engine.record_created(record, actor)
    return engine.commit_saved(record, actor, submit)


# -- 耗材注册证 ---------------------------------------------------------------
def _certificate_extras(record) -> dict[str, str]:
    return _describe_files(record)


def _certificate_complete(record) -> None:
    errors = certificate_errors(record.contact_name, record.contact_phone, set(files_by_slot(record)))
    if errors:
        raise WorkflowError(Msg("注册证%(number)s信息不完整，不能提交：%(reasons)s", number=record.cert_no,
                                reasons="；".join(map(translate, errors.values()))))


def _certificate_clone(record) -> QualCertificate:
    clone = QualCertificate(unit_id=record.unit_id, cert_no=record.cert_no, contact_name=record.contact_name,
                            contact_phone=record.contact_phone, remark=record.remark)
    db.session.add(clone)
    db.session.flush()
    _copy_files(record, clone)
    return clone


def _certificate_merge(original: QualCertificate, revision: QualCertificate) -> None:
    original.contact_name = revision.contact_name
    original.contact_phone = revision.contact_phone
    original.remark = revision.remark
    original.reviewed_at = revision.reviewed_at
    _merge_files(original, revision)


CERTIFICATE = RecordType(
    key="certificate", model=QualCertificate, label="耗材注册证", menu_key="consumable_certificate",
    review_label=N_("注册证"), number_field="cert_no", search_fields=("cert_no",),
    diff_fields=(("cert_no", "注册备案号"), ("contact_name", "联系人"), ("contact_phone", "联系电话"),
                 ("remark", "备注")),
    diff_extras=_certificate_extras, check_complete=_certificate_complete,
    clone=_certificate_clone, merge=_certificate_merge, after_transition=chain.after_transition,
)

PHONE_OR_LANDLINE = re.compile(r"^(1\d{10}|0\d{2,3}-?\d{7,8})$")


def certificate_errors(contact_name, contact_phone, slots: set[str]) -> dict[str, str]:
    errors = {}
    if not (contact_name or "").strip():
        errors["contact_name"] = N_("请填写联系人")
    if not PHONE_OR_LANDLINE.match((contact_phone or "").strip()):
        errors["contact_phone"] = N_("联系电话应为11位手机号码或带区号的固定电话")
    if "scan" not in slots:
        errors["scan"] = N_("请上传注册证扫描件")
    return errors


def maintainable_cert_numbers(actor: AppUser) -> set[str]:
    """Registrant is the unit (its CA-verified name: a free-text name proves nothing), or
    linked by a submitted / effective entrustment."""
    own = national.numbers_registered_to(ca.verified_name(actor.unit) or "")
    linked = set(db.session.scalars(
        select(EntrustmentCertificate.cert_no).join(Entrustment)
        .where(Entrustment.unit_id == actor.unit_id, Entrustment.state.in_(SUBMITTED_OR_EFFECTIVE))))
    return set(own) | linked


def _listed_cert_numbers(actor: AppUser) -> set[str]:
    return set(db.session.scalars(select(QualCertificate.cert_no).where(
        QualCertificate.unit_id == actor.unit_id, QualCertificate.revision_of_id.is_(None))))


def selectable_certificates(actor: AppUser, number: str = "", name: str = "", validity: str = "") -> list:
    """What 新增 offers: maintainable national certificates not yet in the unit's list and not
    已过期, searched by 注册备案号, 产品名称 and validity (``soon``: ending within 90 days)."""
    listed = _listed_cert_numbers(actor)
    chosen = (national.certificate(n) for n in sorted(maintainable_cert_numbers(actor)) if n not in listed)
    out = [c for c in chosen if c is not None and not chain.is_expired(c.valid_to)
           and not c.is_deactivated]  # 已停用: visible, never offered
    if number.strip():
        out = [c for c in out if number.strip().upper() in c.number.upper()]
    if name.strip():
        out = [c for c in out if name.strip().lower() in (c.product_name or "").lower()]
    if validity == "soon":
        out = [c for c in out if c.valid_to is not None and chain.days_left(c.valid_to) <= 90]
    return out


def add_certificates(actor: AppUser, cert_nos: list[str]) -> list[QualCertificate]:
    """新增: one draft per chosen national certificate; all refused if any is not allowed."""
    cert_nos = list(dict.fromkeys(n.strip() for n in cert_nos if n and n.strip()))
    if not cert_nos:
        raise ValidationFailed({"certificates": N_("请至少选择一个注册证")})
    allowed = maintainable_cert_numbers(actor)
    bad = [n for n in cert_nos if n not in allowed]
    if bad:
        raise ValidationFailed({"certificates": Msg("%(numbers)s 不是本单位注册的注册证，也未被本单位已提交或已生效的委托授权关联。"
                                                   "如在当前列表中未找到，请前往国家平台进行增补。", numbers="、".join(bad))})
    expired = [n for n in cert_nos if (c := national.certificate(n)) is not None and chain.is_expired(c.valid_to)]
    if expired:
        raise ValidationFailed({"certificates": Msg("%(numbers)s 已过期，不能新增", numbers="、".join(expired))})
    stopped = [n for n in cert_nos if (c := national.certificate(n)) is not None and c.is_deactivated]
    if stopped:
        raise ValidationFailed({"certificates": Msg("%(numbers)s 已被国家平台停用，不能新增", numbers="、".join(stopped))})
    existing = _listed_cert_numbers(actor)
    dup = [n for n in cert_nos if n in existing]
    if dup:
        raise ValidationFailed({"certificates": Msg("%(numbers)s 已在本单位注册证列表中", numbers="、".join(dup))})
    created = []
    for no in cert_nos:
        record = QualCertificate(unit_id=actor.unit_id, cert_no=no, state=State.DRAFT.value,
                                 contact_name="", contact_phone="", remark="")
        db.session.add(record)
        db.session.flush()
        engine.record_created(record, actor)
        created.append(record)
    db.session.commit()
    return created


def save_certificate(actor: AppUser, record: QualCertificate, contact_name: str, contact_phone: str,
                     remark: str, scan: tuple[str, bytes] | None, submit: bool = False,
                     kept_scan: str | None = None) -> QualCertificate:
    """编辑 → 保存 / 提交. National fields are not inputs at all: they cannot be changed."""
    own(record, actor)
    engine.assert_editable(record)
    errors: dict[str, str] = {}
    stored = None
    kept: dict[str, Attachment] = {}
    if scan is None and kept_scan and (a := attachments.take_pending(actor.unit_id, kept_scan, "scan")):
        kept["scan"] = stored = a
    if scan is not None:
        try:
            stored = attachments.store(actor.unit_id, "scan", scan[0], scan[1], field="scan")
        except DomainError as exc:
            errors["scan"] = exc.message
    slots = set(files_by_slot(record)) | ({"scan"} if stored is not None else set())
    if submit:
        errors.update({k: e for k, e in certificate_errors(contact_name, contact_phone, slots).items()
                       if k not in errors})
    elif (contact_phone or "").strip() and not PHONE_OR_LANDLINE.match(contact_phone.strip()):
        errors["contact_phone"] = N_("联系电话应为11位手机号码或带区号的固定电话")
    if len((remark or "")) > 500:
        errors["remark"] = N_("备注不超过500字")
    if errors:
        _refuse_keeping_files(errors, actor.unit_id, {"scan": scan} if scan is not None else {}, kept)
    record.contact_name = (contact_name or "").strip()
    record.contact_phone = (contact_phone or "").strip()
    record.remark = (remark or "").strip()
    if stored is not None:
        _replace_slot(record, "scan", stored)
    return engine.commit_saved(record, actor, submit)
