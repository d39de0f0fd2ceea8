"""耗材单件列表 and 耗材产品列表: single items, products with packaging, Excel import.

Rules of SPEC §3.4–3.6.  One validation function checks a packaging whether
it comes from the 新增包装 form or from a row of an imported workbook, so both
paths refuse the same things with the same words.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Iterable

from sqlalchemy import func, or_, select, update

from app.extensions import db
from app.models import AppUser, QualCertificate, QualItem, QualProduct
from app.models.dictionary import MEASURE_UNIT, PACKAGE_UNIT
from app.models.national import (STATUS_ACTIVE, STATUS_DEACTIVATED, NationalCertificate, NationalItem,
                                 NationalSpec, NationalTransfer)
from app.i18n import Msg, N_, translate
from app.services import chain, dictionary
from app.services.errors import DomainError, ValidationFailed
from app.services.scope import own
from app.workflow import engine
from app.workflow.engine import RecordType, State, WorkflowError

SUBMITTED_OR_EFFECTIVE = (State.PENDING_INITIAL.value, State.PENDING_FINAL.value, State.EFFECTIVE.value)
PLAIN_INTEGER = re.compile(r"[0-9]+")
DEACTIVATE = "deactivate"  # QualProduct.purpose of a 停用 request
LIVE_STATES = (State.DRAFT.value, State.REJECTED.value, State.PENDING_INITIAL.value, State.PENDING_FINAL.value,
               State.EFFECTIVE.value)


# -- record type for the workflow engine ----------------------------------------
def _product_complete(record: QualProduct) -> None:
    errors = packaging_errors(record.unit_id, record.code, record.min_unit, record.pack_unit, record.pack_ratio,
                              record.mid_unit, record.mid_ratio, exclude_ids=_self_ids(record))
    if errors:
        raise WorkflowError(Msg("产品%(code)s信息不完整，不能提交：%(reasons)s", code=record.code,
                                reasons="；".join(map(translate, errors.values()))))


def _product_clone(record: QualProduct) -> QualProduct:
    clone = QualProduct(unit_id=record.unit_id, item_id=record.item_id, code=record.code, min_unit=record.min_unit,
                        pack_unit=record.pack_unit, pack_ratio=record.pack_ratio, mid_unit=record.mid_unit,
                        mid_ratio=record.mid_ratio, source=record.source)
    db.session.add(clone)
    db.session.flush()
    return clone


def _product_merge(original: QualProduct, revision: QualProduct) -> None:
    if revision.purpose == DEACTIVATE:
        original.state = State.DEACTIVATED.value  # 停用: out of 耗材产品查询, history kept
    else:
        # code and item change only through 转码 (a revision opened by transfer_code)
        for attr in ("code", "item_id", "min_unit", "pack_unit", "pack_ratio", "mid_unit", "mid_ratio", "source"):
            setattr(original, attr, getattr(revision, attr))
    original.reviewed_at = revision.reviewed_at


def _product_check_approve(record: QualProduct) -> None:
    if record.purpose != DEACTIVATE:  # 停用 is always allowed
        chain.check_product_approval(record)


def _product_after(record: QualProduct) -> None:
    """Write the certificate flag of the product that just changed (its root version)."""
    target_id = record.revision_of_id or record.id
    target = db.session.get(QualProduct, target_id)
    if target is None:
        return
    flag = chain.product_standing(target).flag
    if target.cert_flag != flag:
        db.session.execute(update(QualProduct).where(QualProduct.id == target_id).values(cert_flag=flag)
                           .execution_options(synchronize_session=False))
        db.session.commit()
        db.session.expire(target, ["cert_flag"])


def _product_extras(record: QualProduct) -> dict[str, str]:
    return {"申请类型": "停用"} if record.purpose == DEACTIVATE else {}


PRODUCT = RecordType(
    key="product", model=QualProduct, label="耗材产品", menu_key="consumable_product",
    review_label=N_("产品"), number_field="code", search_fields=("code",),
    describe=lambda record: f"{record.code} {record.pack_spec}",
    diff_fields=(("code", "27位耗材医保编码"), ("min_unit", "最小计量单位"), ("pack_unit", "最小包装单位"),
                 ("pack_ratio", "最小包装转换比"), ("pack_spec", "最小包装规格"), ("mid_unit", "中包装单位"),
                 ("mid_ratio", "中包装转换比"), ("mid_spec", "中包装规格")),
    diff_extras=_product_extras, check_complete=_product_complete, clone=_product_clone, merge=_product_merge,
    check_approve=_product_check_approve, after_transition=_product_after,
)


# -- dictionary ---------------------------------------------------------------
def dictionary_units(category: str) -> list[str]:
    return dictionary.active_names(category)


@dictionary.register_usage_checker
def _packaging_usage(category: str, name: str) -> str | None:
    """数据字典: a unit used by any product packaging cannot be deleted."""
    if category == MEASURE_UNIT:
        used = QualProduct.min_unit == name
    elif category == PACKAGE_UNIT:
        used = (QualProduct.pack_unit == name) | (QualProduct.mid_unit == name)
    else:
        return None
    count = db.session.scalar(select(func.count(QualProduct.id)).where(used))
    return Msg("产品包装 %(count)s 条", count=count) if count else None


@dictionary.register_rename_hook
def _follow_rename(category: str, old: str, new: str) -> None:
    """Renaming a unit (e.g. a typo fix) renames it in every packaging too."""
    columns = {MEASURE_UNIT: ("min_unit",), PACKAGE_UNIT: ("pack_unit", "mid_unit")}.get(category, ())
    for column in columns:
        db.session.execute(update(QualProduct).where(getattr(QualProduct, column) == old)
                           .values({column: new}).execution_options(synchronize_session=False))


# -- single items ---------------------------------------------------------------
def certificate_of_item(item_code: str) -> NationalCertificate | None:
    return db.session.scalar(select(NationalCertificate).join(
        NationalItem, NationalItem.certificate_id == NationalCertificate.id).where(NationalItem.code == item_code))


def certificate_numbers_in_force(actor: AppUser) -> list[str]:
    """The unit's registration certificates that are submitted or effective."""
    return sorted(set(db.session.scalars(select(QualCertificate.cert_no).where(
        QualCertificate.unit_id == actor.unit_id, QualCertificate.state.in_(SUBMITTED_OR_EFFECTIVE)))))


def _not_expired():
    return or_(NationalCertificate.valid_to.is_(None), NationalCertificate.valid_to >= chain.today())


def selectable_items(actor: AppUser, name: str = "", limit: int = 200, code: str = "",
                     cert_no: str = "") -> list[NationalItem]:
    """新增单件: items under the unit's submitted or effective certificates that are not 已过期,
    searched by 单件名称, 20位码 prefix and 注册备案号."""
    numbers = certificate_numbers_in_force(actor)
    if not numbers:
        return []
    taken = select(QualItem.code).where(QualItem.unit_id == actor.unit_id)
    query = (select(NationalItem).join(NationalCertificate, NationalItem.certificate_id == NationalCertificate.id)
             .where(NationalCertificate.number.in_(numbers), NationalItem.code.not_in(taken),
                    _not_expired(), NationalItem.status == STATUS_ACTIVE))  # 已停用 items stay visible, never offered
    if name.strip():
        query = query.where(NationalItem.name.contains(name.strip(), autoescape=True))
    if code.strip():
        query = query.where(NationalItem.code.startswith(code.strip().upper(), autoescape=True))
    if cert_no.strip():
        query = query.where(NationalCertificate.number.contains(cert_no.strip(), autoescape=True))
    return list(db.session.scalars(query.order_by(NationalItem.code).limit(limit)))


def add_items(actor: AppUser, codes: Iterable[str]) -> list[QualItem]:
    codes = list(dict.fromkeys(c.strip() for c in codes if c and c.strip()))
    if not codes:
        raise ValidationFailed({"codes": N_("请至少选择一个单件")})
    numbers = set(certificate_numbers_in_force(actor))
    rows = dict(db.session.execute(
        select(NationalItem.code, NationalCertificate.number)
        .join(NationalCertificate, NationalItem.certificate_id == NationalCertificate.id)
        .where(NationalItem.code.in_(codes))).all())
    expired = set(db.session.scalars(
        select(NationalItem.code).join(NationalCertificate, NationalItem.certificate_id == NationalCertificate.id)
        .where(NationalItem.code.in_(codes), ~_not_expired())))
    if expired:
        raise ValidationFailed({"codes": Msg("%(codes)s 所属注册证已过期，不能新增", codes="、".join(sorted(expired)))})
    bad = [c for c in codes if rows.get(c) not in numbers]
    if bad:
        raise ValidationFailed({"codes": Msg("%(codes)s 不属于本单位已提交或已生效的注册证。如在当前列表中未找到，请前往国家平台进行增补。",
                                                              codes="、".join(bad))})
    stopped = list(db.session.scalars(select(NationalItem.code).where(
        NationalItem.code.in_(codes), NationalItem.status == STATUS_DEACTIVATED)))
    if stopped:
        raise ValidationFailed({"codes": Msg("%(codes)s 已被国家平台停用，不能新增", codes="、".join(stopped))})
    existing = set(db.session.scalars(select(QualItem.code).where(QualItem.unit_id == actor.unit_id,
                                                                  QualItem.code.in_(codes))))
    created = [QualItem(unit_id=actor.unit_id, code=c) for c in codes if c not in existing]
    db.session.add_all(created)
    db.session.commit()
    return created


# -- packaging rules --------------------------------------------------------------
def parse_ratio(value: Any, label: str, required: bool) -> tuple[int | None, str | None]:
    """An integer ≥ 1 (Excel may hand 10.0); otherwise a reason naming the column."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, (Msg("%(label)s必填", label=Msg(label)) if required else None)
    if isinstance(value, bool):
        return None, Msg("%(label)s必须为大于等于1的整数", label=Msg(label))
    if isinstance(value, float):
        if not value.is_integer():
            return None, Msg("%(label)s必须为大于等于1的整数（不能为小数）", label=Msg(label))
        value = int(value)
    if isinstance(value, str):
        # Word/WPS paste full-width digits (１０) and spaces: NFKC makes them plain; anything
        # else that str.isdigit() would pass (², ①, other scripts) is refused, never int()'d.
        text = unicodedata.normalize("NFKC", value).strip()
        if not PLAIN_INTEGER.fullmatch(text):
            return None, Msg("%(label)s必须为大于等于1的整数", label=Msg(label))
        value = int(text)
    if not isinstance(value, int) or value < 1:
        return None, Msg("%(label)s必须为大于等于1的整数", label=Msg(label))
    if value > 1_000_000:
        return None, Msg("%(label)s过大", label=Msg(label))
    return value, None


def packaging_errors(unit_id: int, code: str, min_unit: str | None, pack_unit: str | None, pack_ratio: Any,
                     mid_unit: str | None, mid_ratio: Any, *, item: QualItem | None = None,
                     exclude_ids: Iterable[int] = (),
                     measure_units: set[str] | None = None, package_units: set[str] | None = None,
                     unit_items: dict[str, QualItem] | None = None, known_specs: set[str] | None = None,
                     stopped_specs: set[str] | None = None, check_duplicates: bool = True) -> dict[str, str]:
    """Every reason a packaging is refused, by field (form and import share it).

    Bulk callers pass preloaded ``measure_units`` / ``package_units`` /
    ``unit_items`` / ``known_specs`` (active codes) / ``stopped_specs`` (已停用 codes)
    and check duplicates themselves.  A code the national platform deactivated (停用)
    takes no new packaging and no submission: its products move with 转码.
    """
    errors: dict[str, str] = {}
    code = (code or "").strip()
    measure_units = measure_units if measure_units is not None else set(dictionary_units(MEASURE_UNIT))
    package_units = package_units if package_units is not None else set(dictionary_units(PACKAGE_UNIT))
    if len(code) != 27 or not code.startswith("C") or not code[1:].isascii() or not code[1:].isdigit():
        errors["code"] = N_("27位耗材医保编码格式错误（应为C加26位数字）")
    else:
        owner = (unit_items or {}).get(code[:20]) if unit_items is not None else db.session.scalar(
            select(QualItem).where(QualItem.unit_id == unit_id, QualItem.code == code[:20]))
        if owner is None:
            errors["code"] = Msg("编码%(code)s不属于本单位耗材单件列表中的单件", code=code)
        elif item is not None and owner.id != item.id:
            errors["code"] = Msg("编码%(code)s不属于当前单件%(item)s", code=code, item=item.code)
        else:
            if known_specs is not None:
                status = STATUS_ACTIVE if code in known_specs else (
                    STATUS_DEACTIVATED if code in (stopped_specs or ()) else None)
            else:
                status = db.session.scalar(select(NationalSpec.status).where(NationalSpec.code == code))
            if status is None:
                errors["code"] = Msg("编码%(code)s不在国家医保耗材规格型号数据中", code=code)
            elif status == STATUS_DEACTIVATED:
                errors["code"] = Msg("编码%(code)s已被国家平台停用，不能新增或提交包装；如有转码，请使用“转码”", code=code)
    min_unit = (min_unit or "").strip()
    pack_unit = (pack_unit or "").strip()
    mid_unit = (mid_unit or "").strip()
    if not min_unit:
        errors["min_unit"] = N_("最小计量单位必填")
    elif min_unit not in measure_units:
        errors["min_unit"] = Msg("最小计量单位“%(unit)s”不在数据字典中", unit=min_unit)
    if not pack_unit:
        errors["pack_unit"] = N_("最小包装单位必填")
    elif pack_unit not in package_units:
        errors["pack_unit"] = Msg("最小包装单位“%(unit)s”不在数据字典中", unit=pack_unit)
    ratio, err = parse_ratio(pack_ratio, "最小包装转换比", required=True)
    if err:
        errors["pack_ratio"] = err
    mid, err = parse_ratio(mid_ratio, "中包装转换比", required=False)
    if err:
        errors["mid_ratio"] = err
    if mid_unit and mid_unit not in package_units:
        errors["mid_unit"] = Msg("中包装单位“%(unit)s”不在数据字典中", unit=mid_unit)
    if bool(mid_unit) != (mid is not None) and "mid_ratio" not in errors:
        errors["mid_ratio" if mid_unit else "mid_unit"] = N_("中包装单位和中包装转换比须同时填写或同时不填")
    if not errors and check_duplicates:
        key = packaging_key(code, min_unit, pack_unit, ratio, mid_unit, mid)
        if key in existing_packaging_keys(unit_id, codes=[code], exclude_ids=exclude_ids):
            errors["code"] = duplicate_message(code)
    return errors


# -- the duplicate-packaging rule (新增包装, 编辑 and 导入 alike) ----------------------------------
def packaging_key(code: str, min_unit: str, pack_unit: str, ratio, mid_unit: str | None, mid) -> tuple:
    """What makes two packagings of one unit the same: code, units and ratios."""
    return (code, min_unit, pack_unit, int(ratio), mid_unit or "", int(mid or 0))


def existing_packaging_keys(unit_id: int, codes=None, exclude_ids=()) -> set[tuple]:
    """The keys of the unit's live packagings (all, or of ``codes``), less ``exclude_ids``."""
    stmt = select(QualProduct.code, QualProduct.min_unit, QualProduct.pack_unit, QualProduct.pack_ratio,
                  QualProduct.mid_unit, QualProduct.mid_ratio).where(
        QualProduct.unit_id == unit_id, QualProduct.state.in_(LIVE_STATES))
    if codes is not None:
        stmt = stmt.where(QualProduct.code.in_(list(codes)))
    excluded = [i for i in exclude_ids if i]
    if excluded:
        stmt = stmt.where(QualProduct.id.not_in(excluded))
    return {packaging_key(*row) for row in db.session.execute(stmt)}


def duplicate_message(code: str) -> Msg:
    return Msg("编码%(code)s已存在相同的包装信息，不能重复维护", code=code)


@dataclass
class Packaging:
    code: str
    min_unit: str
    pack_unit: str
    pack_ratio: Any
    mid_unit: str | None = None
    mid_ratio: Any = None


def _apply(record: QualProduct, data: Packaging) -> None:
    record.code = data.code.strip()
    record.min_unit = data.min_unit.strip()
    record.pack_unit = data.pack_unit.strip()
    record.pack_ratio = parse_ratio(data.pack_ratio, "", True)[0]
    record.mid_unit = (data.mid_unit or "").strip() or None
    record.mid_ratio = parse_ratio(data.mid_ratio, "", False)[0] if record.mid_unit else None


def item_products(actor: AppUser, item: QualItem) -> list[QualProduct]:
    """维护产品信息: the packaging rows of one of the unit's single items (pending changes included)."""
    own(item, actor)
    return list(db.session.scalars(select(QualProduct).where(
        QualProduct.unit_id == actor.unit_id, QualProduct.item_id == item.id,
        QualProduct.state != State.MERGED.value).order_by(QualProduct.code, QualProduct.id)))


def add_packaging(actor: AppUser, item: QualItem, data: Packaging, submit: bool = False) -> QualProduct:
    """新增包装 on an item's product page."""
    own(item, actor)
    errors = packaging_errors(actor.unit_id, data.code, data.min_unit, data.pack_unit, data.pack_ratio,
                              data.mid_unit, data.mid_ratio, item=item)
    if errors:
        raise ValidationFailed(errors)
    record = QualProduct(unit_id=actor.unit_id, item_id=item.id, state=State.DRAFT.value, source="manual")
    _apply(record, data)
    db.session.add(record)
    db.session.flush()
    engine.record_created(record, actor)
    return engine.commit_saved(record, actor, submit)


def update_packaging(actor: AppUser, record: QualProduct, data: Packaging, submit: bool = False) -> QualProduct:
    """编辑 → 保存 / 提交 (the code of a product never changes)."""
    own(record, actor)
    engine.assert_editable(record)
    if record.purpose == DEACTIVATE:
        raise DomainError(N_("停用申请不能编辑；如不再需要，请撤销后重新操作"))
    data.code = record.code
    errors = packaging_errors(actor.unit_id, record.code, data.min_unit, data.pack_unit, data.pack_ratio,
                              data.mid_unit, data.mid_ratio, item=record.item, exclude_ids=_self_ids(record))
    if errors:
        raise ValidationFailed(errors)
    _apply(record, data)
    return engine.commit_saved(record, actor, submit)


def transfer_code(actor: AppUser, record: QualProduct, new_code: str) -> QualProduct:
    """转码: a change revision of an effective product, moved to the code a national release mapped
    its code to (转码表).  It goes through the normal review; the effective version stays in force
    until the revision is approved, then takes the new code."""
    own(record, actor)
    new_code = (new_code or "").strip().upper()
    move = db.session.scalar(select(NationalTransfer).where(
        NationalTransfer.old_code == record.code, NationalTransfer.new_code == new_code))
    if move is None:
        raise DomainError(Msg("国家数据中没有编码%(old)s转为%(new)s的转码记录", old=record.code, new=new_code))
    target = db.session.scalar(select(NationalSpec).where(NationalSpec.code == new_code))
    if target is None or target.is_deactivated:
        raise DomainError(Msg("新编码%(code)s不在国家规格型号数据中或已停用", code=new_code))
    item = db.session.scalar(select(QualItem).where(QualItem.unit_id == actor.unit_id,
                                                    QualItem.code == new_code[:20]))
    if item is None:
        certificate = certificate_of_item(new_code[:20])
        if certificate is None or certificate.number not in set(certificate_numbers_in_force(actor)):
            raise DomainError(Msg("新编码%(code)s的单件不属于本单位已提交或已生效的注册证，请先维护注册证", code=new_code))
        item = QualItem(unit_id=actor.unit_id, code=new_code[:20])
        db.session.add(item)
        db.session.flush()
    revision = engine.open_change(record, actor)  # refuses anything but an effective record without a change
    revision.code = new_code
    revision.item_id = item.id
    db.session.commit()
    return revision


def delete_draft(actor: AppUser, record: QualProduct) -> None:
    """Remove an unneeded packaging that was never submitted (the workflow's 删除 rule)."""
    own(record, actor)
    try:
        engine.delete_draft(record, actor)
    except WorkflowError as exc:  # the service's callers meet its refusals as domain errors
        raise DomainError(exc.message) from None


def request_deactivation(actor: AppUser, record: QualProduct) -> QualProduct:
    """停用 of an effective packaging no longer produced: a request submitted for review; once
    approved the packaging is 已停用 and leaves 耗材产品查询 (its history stays)."""
    own(record, actor)
    if record.revision_of_id or record.state != State.EFFECTIVE.value:
        raise DomainError(N_("只有已生效的包装信息可以申请停用"))
    revision = engine.open_change(record, actor, action="deactivate")
    revision.purpose = DEACTIVATE
    db.session.commit()
    return engine.apply(revision, "submit", actor)


def remove_item(actor: AppUser, item: QualItem) -> None:
    """删除 of a single item added by mistake: only while no packaging was ever entered under it."""
    own(item, actor)
    used = db.session.scalar(select(func.count(QualProduct.id)).where(QualProduct.item_id == item.id))
    if used:
        raise DomainError(Msg("单件%(code)s下已有%(n)s条产品包装信息，不能删除", code=item.code, n=used))
    db.session.delete(item)
    db.session.commit()


def _self_ids(record: QualProduct) -> set[int]:
    """A record never clashes with itself, nor a change revision with the version it changes."""
    return {i for i in (record.id, record.revision_of_id) if i}
