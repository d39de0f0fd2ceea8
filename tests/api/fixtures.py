"""Records built through the real services for the API tests (never inserted around the rules)."""
from __future__ import annotations

import datetime as dt

from app.extensions import db
from app.models import QualItem, UnitCategory, UnitRole
from app.services import products, qualification as q
from app.workflow import engine
from tests.factories import (make_certified, make_dictionary, make_national_cert, make_national_item,
                             make_platform_user)

PDF = b"%PDF-1.4\n%%EOF\n"
TODAY = dt.date.today()
_n = iter(range(1, 10_000))


def manufacturer(specs: int = 30):
    """A certified manufacturer with an effective-ready certificate (submitted) and one item."""
    n = next(_n)
    user = make_certified(UnitCategory.ENTERPRISE, UnitRole.MANUFACTURER)
    if not db.session.query(__import__("app.models.dictionary", fromlist=["DictionaryEntry"]).DictionaryEntry).count():
        make_dictionary()
    number = f"粤械注准2015266{n:04d}"
    item_code = f"C09010101{n:011d}"
    make_national_item(make_national_cert(number, user.unit.name), item_code, specs=specs)
    cert = q.add_certificates(user, [number])[0]
    q.save_certificate(user, cert, "张三", "13800138000", "", ("scan.pdf", PDF), submit=True)
    item = products.add_items(user, [item_code])[0]
    return user, cert, item


def pack(item: QualItem, n: int = 1, **kw) -> products.Packaging:
    data = dict(code=f"{item.code}{n:07d}", min_unit="支", pack_unit="盒", pack_ratio=10)
    data.update(kw)
    return products.Packaging(**data)


def manufacturer_with_product():
    user, _cert, item = manufacturer()
    return user, products.add_packaging(user, item, pack(item))


def reviewers():
    from app.models import AppUser
    from sqlalchemy import select

    found = db.session.scalar(select(AppUser).where(AppUser.username == "api_chu"))
    if found is not None:
        return found, db.session.scalar(select(AppUser).where(AppUser.username == "api_fu"))
    return make_platform_user("api_chu", "初审员"), make_platform_user("api_fu", "复审员")


def approve(record):
    for who in reviewers():
        engine.apply(record, "approve", who)
    return record


def effective_products(count: int = 3):
    """A manufacturer whose certificate and ``count`` products are effective (in 耗材产品查询)."""
    user, cert, item = manufacturer()
    approve(cert)
    made = []
    for n in range(1, count + 1):
        made.append(approve(products.add_packaging(user, item, pack(item, n), submit=True)))
    return user, item, made
