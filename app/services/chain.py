"""The qualification chain (issue 12 §2, §3): a product is only as valid as its certificate.

A product (and its single item) counts as effective for others only while the unit's
registration certificate for it is 已生效 and within its validity; a certificate the unit
maintains as 被委托生产 / 境外代理 (the unit is not its registrant) also needs an 已生效
委托授权 of the unit, within its validity, linking it.  Only the effective version counts:
a 变更 under review keeps the old version, and its products, in force.

``standing`` answers for one (unit, certificate); ``refresh_flags`` writes the answer onto
the unit's products (``qual_product.cert_flag``) so 耗材产品查询 can leave them out with
one indexed condition.  The flags are refreshed after every review transition of a
certificate, entrustment or product, and daily by ``flask qualification expire`` (dates
pass without any transition).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select, update

from app.extensions import db
from app.i18n import Msg, N_
from app.models import Entrustment, EntrustmentCertificate, QualCertificate, QualItem, QualProduct, Unit
from app.models.national import NationalCertificate, NationalItem
from app.workflow.engine import STATE_LABELS, State, WorkflowError

FLAG_INVALID = "invalid"
FLAG_EXPIRED = "expired"
FLAG_LABELS = {FLAG_INVALID: N_("证书失效"), FLAG_EXPIRED: N_("证书过期")}
EXPIRED_LABEL = N_("已过期")


def today() -> dt.date:
    return dt.date.today()


def is_expired(valid_to: dt.date | None, day: dt.date | None = None) -> bool:
    """已过期: past 有效期结束 (no end date = 长期, never expires)."""
    return valid_to is not None and valid_to < (day or today())


def days_left(valid_to: dt.date | None, day: dt.date | None = None) -> int | None:
    return None if valid_to is None else (valid_to - (day or today())).days


@dataclass
class Standing:
    """Whether one certificate of one unit is in force, and why not."""

    cert_no: str
    national: NationalCertificate | None = None
    record: QualCertificate | None = None
    needs_entrustment: bool = False
    entrustments: list[Entrustment] = field(default_factory=list)
    flag: str | None = None  # None: in force
    reasons: list[str] = field(default_factory=list)

    @property
    def in_force(self) -> bool:
        return self.flag is None

    @property
    def flag_label(self) -> str:
        return FLAG_LABELS.get(self.flag or "", "")


def _root_entrustments(unit_id: int, cert_no: str) -> list[Entrustment]:
    return list(db.session.scalars(
        select(Entrustment).join(EntrustmentCertificate, EntrustmentCertificate.entrustment_id == Entrustment.id)
        .where(Entrustment.unit_id == unit_id, Entrustment.revision_of_id.is_(None),
               EntrustmentCertificate.cert_no == cert_no)
        .order_by(Entrustment.id)))


def standing(unit_id: int, cert_no: str, day: dt.date | None = None) -> Standing:
    day = day or today()
    out = Standing(cert_no=cert_no)
    out.national = db.session.scalar(select(NationalCertificate).where(NationalCertificate.number == cert_no))
    out.record = db.session.scalar(select(QualCertificate).where(
        QualCertificate.unit_id == unit_id, QualCertificate.cert_no == cert_no,
        QualCertificate.revision_of_id.is_(None)).order_by(QualCertificate.id.desc()).limit(1))
    invalid: list[str] = []
    expired: list[str] = []
    if out.national is None:
        invalid.append(Msg("注册证%(no)s不在国家医保耗材注册证数据中", no=cert_no))
    if out.record is None:
        invalid.append(Msg("本单位耗材注册证列表中没有注册证%(no)s", no=cert_no))
    elif out.record.state != State.EFFECTIVE.value:
        invalid.append(Msg("注册证%(no)s当前为“%(state)s”，尚未生效", no=cert_no,
                           state=Msg(STATE_LABELS.get(out.record.state, out.record.state))))
    if out.national is not None and is_expired(out.national.valid_to, day):
        expired.append(Msg("注册证%(no)s已过期（有效期至%(date)s）", no=cert_no, date=f"{out.national.valid_to:%Y-%m-%d}"))
    unit = db.session.get(Unit, unit_id)
    out.needs_entrustment = out.national is not None and unit is not None and \
        (out.national.registrant or "").strip() != (unit.name or "").strip()
    if out.needs_entrustment:
        out.entrustments = _root_entrustments(unit_id, cert_no)
        effective = [e for e in out.entrustments if e.state == State.EFFECTIVE.value]
        current = [e for e in effective if not is_expired(e.valid_to, day)
                   and (e.valid_from is None or e.valid_from <= day)]
        if not effective:
            invalid.append(Msg("注册证%(no)s的注册人不是本单位，须有已生效的委托授权关联该注册证", no=cert_no))
        elif not current:
            late = [e for e in effective if is_expired(e.valid_to, day)]
            if late:
                expired.append(Msg("委托授权%(numbers)s已过期（有效期至%(date)s）",
                                   numbers="、".join(e.number or str(e.id) for e in late),
                                   date=f"{max(e.valid_to for e in late):%Y-%m-%d}"))
            else:
                invalid.append(Msg("关联注册证%(no)s的委托授权尚未到有效期开始日期", no=cert_no))
    out.reasons = invalid + expired
    out.flag = FLAG_INVALID if invalid else (FLAG_EXPIRED if expired else None)
    return out


def certificate_number_of_code(code: str) -> str | None:
    """The national certificate of a 20- or 27-character code (through its single item)."""
    return db.session.scalar(select(NationalCertificate.number).join(
        NationalItem, NationalItem.certificate_id == NationalCertificate.id).where(NationalItem.code == code[:20]))


def product_standing(product: QualProduct, day: dt.date | None = None) -> Standing:
    number = certificate_number_of_code(product.code)
    if number is None:
        return Standing(cert_no="", flag=FLAG_INVALID,
                        reasons=[Msg("编码%(code)s在国家医保耗材单件数据中没有对应的注册证", code=product.code[:20])])
    return standing(product.unit_id, number, day)


def standings_for_codes(unit_id: int, codes, day: dt.date | None = None) -> dict[str, Standing]:
    """{20-character code: Standing} for a page of rows (one lookup per certificate)."""
    items = sorted({c[:20] for c in codes if c})
    if not items:
        return {}
    numbers = dict(db.session.execute(
        select(NationalItem.code, NationalCertificate.number)
        .join(NationalCertificate, NationalItem.certificate_id == NationalCertificate.id)
        .where(NationalItem.code.in_(items))).all())
    cache: dict[str, Standing] = {}
    out = {}
    for code in items:
        number = numbers.get(code)
        if number is None:
            out[code] = Standing(cert_no="", flag=FLAG_INVALID,
                                 reasons=[Msg("编码%(code)s在国家医保耗材单件数据中没有对应的注册证", code=code)])
            continue
        if number not in cache:
            cache[number] = standing(unit_id, number, day)
        out[code] = cache[number]
    return out


def check_product_approval(product: QualProduct) -> None:
    """The approval that makes a product effective is refused while its certificate is not in force."""
    s = product_standing(product)
    if not s.in_force:
        raise WorkflowError(Msg("产品%(code)s的注册证未生效，不能审核通过：%(reasons)s", code=product.code,
                                reasons="；".join(s.reasons)))


def refresh_flags(unit_id: int | None = None, day: dt.date | None = None, cert_nos=None) -> int:
    """Write the products' certificate flags (one unit or all; only under ``cert_nos`` when
    given); returns the rows changed."""
    day = day or today()
    query = select(QualItem.unit_id, QualItem.id, QualItem.code)
    if unit_id is not None:
        query = query.where(QualItem.unit_id == unit_id)
    items = db.session.execute(query).all()
    codes = sorted({code for _u, _i, code in items})
    numbers = dict(db.session.execute(
        select(NationalItem.code, NationalCertificate.number)
        .join(NationalCertificate, NationalItem.certificate_id == NationalCertificate.id)
        .where(NationalItem.code.in_(codes))).all()) if codes else {}
    cache: dict[tuple[int, str], str | None] = {}
    by_flag: dict[tuple[int, str | None], list[int]] = {}
    wanted = set(cert_nos) if cert_nos is not None else None
    for unit, item_id, code in items:
        number = numbers.get(code)
        if wanted is not None and number not in wanted:
            continue
        if number is None:
            flag = FLAG_INVALID
        else:
            if (unit, number) not in cache:
                cache[(unit, number)] = standing(unit, number, day).flag
            flag = cache[(unit, number)]
        by_flag.setdefault((unit, flag), []).append(item_id)
    changed = 0
    for (unit, flag), item_ids in by_flag.items():
        for start in range(0, len(item_ids), 500):
            chunk = item_ids[start:start + 500]
            differs = QualProduct.cert_flag.is_not(None) if flag is None else (
                QualProduct.cert_flag.is_(None) | (QualProduct.cert_flag != flag))
            result = db.session.execute(
                update(QualProduct).where(QualProduct.unit_id == unit, QualProduct.item_id.in_(chunk), differs)
                .values(cert_flag=flag).execution_options(synchronize_session=False))
            changed += result.rowcount or 0
    return changed


def after_transition(record) -> None:
    """Engine hook: a certificate changed state → the flags of its products; an entrustment
    (rare, and a change may drop certificates) → every flag of its unit."""
    refresh_flags(record.unit_id, cert_nos=[record.cert_no] if isinstance(record, QualCertificate) else None)
    db.session.commit()
    for obj in db.session.identity_map.values():
        if isinstance(obj, QualProduct):
            db.session.expire(obj, ["cert_flag"])
