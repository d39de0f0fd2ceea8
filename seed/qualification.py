"""Demo qualification data for the demo manufacturer (gdqx2024). Idempotent.

An effective registration certificate with two single items and effective
products (so 耗材产品查询 shows results for the demo hospital and distributor),
and one 境外代理 entrustment waiting for 初审 (so the reviewer queue is not empty).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.extensions import db
from app.models import AppUser, Entrustment, QualCertificate
from app.models.national import NationalCertificate, NationalItem, NationalSpec
from app.services import products, qualification as q
from app.workflow import engine

PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
       b"trailer<</Root 1 0 R>>\n%%EOF\n")


def load_qualification_demo(maker_account: str = "gdqx2024") -> list[str]:
    maker = db.session.scalar(select(AppUser).where(AppUser.username == maker_account))
    chushen = db.session.scalar(select(AppUser).where(AppUser.username == "chushen"))
    fushen = db.session.scalar(select(AppUser).where(AppUser.username == "fushen"))
    if maker is None or chushen is None or fushen is None:
        return ["qualification demo skipped (demo accounts missing)"]
    if db.session.scalar(select(QualCertificate.id).where(QualCertificate.unit_id == maker.unit_id)) is not None:
        return []
    own = db.session.scalar(select(NationalCertificate).where(NationalCertificate.registrant == maker.unit.name)
                            .order_by(NationalCertificate.number))
    if own is None:
        return ["qualification demo skipped (no national certificate of the demo manufacturer)"]
    out = []
    record = q.add_certificates(maker, [own.number])[0]
    q.save_certificate(maker, record, "张三", "020-87654321", "演示数据", ("注册证扫描件.pdf", PDF), submit=True)
    engine.apply(record, "approve", chushen, opinion="材料齐全")
    engine.apply(record, "approve", fushen, opinion="同意")
    out.append(f"effective certificate {own.number}")
    items = list(db.session.scalars(select(NationalItem).where(NationalItem.certificate_id == own.id)
                                    .order_by(NationalItem.code).limit(2)))
    if items:
        for qual_item in products.add_items(maker, [i.code for i in items]):
            specs = db.session.scalars(select(NationalSpec.code).where(
                NationalSpec.code.startswith(qual_item.code)).order_by(NationalSpec.code).limit(3)).all()
            for n, code in enumerate(specs):
                product = products.add_packaging(maker, qual_item, products.Packaging(
                    code, "支", "盒", 10 * (n + 1), "箱", 20), submit=True)
                engine.apply(product, "approve", chushen)
                engine.apply(product, "approve", fushen)
        out.append(f"effective products under {len(items)} single items")
    imported = db.session.scalar(select(NationalCertificate).where(NationalCertificate.origin == "imported")
                                 .order_by(NationalCertificate.number))
    if imported is not None and db.session.scalar(select(Entrustment.id).where(
            Entrustment.unit_id == maker.unit_id)) is None:
        today = dt.date.today()
        q.save_entrustment(maker, None, q.EntrustmentInput(
            kind="agent", principal_name=imported.registrant, valid_from=today,
            valid_to=today.replace(year=today.year + 3), cert_nos=[imported.number],
            uploads={"letter_en": ("Letter of Authorization.pdf", PDF)}, zh_same_as_en=True), submit=True)
        out.append(f"境外代理 entrustment for {imported.number} waiting for 初审")
    return out
