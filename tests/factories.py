"""Real objects through real services (never mocked permissions)."""
from __future__ import annotations

import contextlib
import itertools
import os
import random
import uuid
from typing import Callable, Iterator

from stdnum.cn import ric, uscc

from app.extensions import db
from app.models import AppUser, UnitCategory, UnitRole, UserKind
from app.services.registration import Registration, hash_password, register_unit

PASSWORD = "Passw0rd123"
_seq = itertools.count(1)
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def new_uscc(prefix: str = "9144") -> str:
    rng = random.Random(next(_seq) * 7919)
    body = prefix + "".join(rng.choice("0123456789") for _ in range(4)) + "MA" + "".join(
        rng.choice(USCC_CHARS) for _ in range(17 - len(prefix) - 6))
    body = body[:17]
    return body + uscc.calc_check_digit(body)


def new_h_code() -> str:
    return f"H440103{next(_seq):05d}000000"


def new_id_number() -> str:
    body = f"110105198{next(_seq) % 10}0101{next(_seq) % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")  # stdnum drops the last character


def new_phone() -> str:
    return f"139{next(_seq):08d}"


def registration(category: UnitCategory = UnitCategory.DESIGNATED, **overrides) -> Registration:
    n = next(_seq)
    code = new_h_code() if category == UnitCategory.NON_DESIGNATED else new_uscc()
    data = dict(
        category=getattr(category, "value", category), username=f"unit{n:04d}a", password=PASSWORD,
        confirm_password=PASSWORD, unit_name=f"测试单位{n}", credit_code=code,
        contact_name="李四", contact_id_number=new_id_number(), contact_phone=new_phone(),
    )
    data.update(overrides)
    return Registration(**data)


def make_unit_user(category: UnitCategory = UnitCategory.DESIGNATED, **overrides) -> AppUser:
    return register_unit(registration(category, **overrides))


def make_certified(category: UnitCategory, role: UnitRole) -> AppUser:
    """A unit certified through the real service (enterprises get a CA bound first)."""
    from app.services import certification

    user = make_unit_user(category)
    if user.unit.is_enterprise:
        bind_ca(user)
    certification.certify(user.unit, role.value, user)
    return user


def bind_ca(user: AppUser, **issue_kwargs):
    """Bind a demo-root certificate of the unit (O = its name), signing the challenge."""
    from app.services import ca
    from seed.certs import issue

    issued = issue(user.unit.credit_code, user.unit.name, **issue_kwargs)
    challenge = ca.new_challenge(user.unit)
    return ca.bind(user.unit, issued.cert_bytes(), user, challenge=challenge, signature=issued.sign(challenge))


def make_platform_user(username: str, role_name: str, password: str = PASSWORD) -> AppUser:
    from flask import current_app

    sm = current_app.appbuilder.sm
    user = AppUser(username=username, first_name=username, last_name="", email=f"{username}@p.invalid",
                   password=hash_password(password), active=True, kind=UserKind.PLATFORM.value)
    user.roles = [sm.find_role(role_name)]
    db.session.add(user)
    db.session.commit()
    return user


def make_operator(unit_user: AppUser, phone: str | None = None, password: str = PASSWORD) -> AppUser:
    """An operator added by its unit account through the real service (SMS and audit included),
    who has then set ``password`` as a person does at first login."""
    from app.services import auth, operators

    operator = operators.add_operator(unit_user, "王五", new_id_number(), phone or new_phone())
    auth.set_password(operator, password, password)
    db.session.commit()
    return operator


def make_national_cert(number: str, registrant: str, *, imported: bool | None = None,
                       product_name: str = "一次性使用无菌导尿管", valid_years: int = 5):
    """A national registration certificate row (reference data)."""
    import datetime as dt

    from app.models.national import NationalCertificate

    if imported is None:
        imported = "械注进" in number or "械注许" in number
    today = dt.date.today()
    cert = NationalCertificate(
        number=number, product_name=product_name, registrant=registrant, address="广东省广州市",
        management_class="III" if number.startswith("国") else "II",
        valid_from=today.replace(year=today.year - 1), valid_to=today.replace(year=today.year + valid_years),
        origin="imported" if imported else "domestic",
    )
    db.session.add(cert)
    db.session.commit()
    return cert


def make_dictionary(measure=("支", "个", "片", "根", "套"), package=("盒", "箱", "袋", "包")):
    from app.models.dictionary import MEASURE_UNIT, PACKAGE_UNIT, DictionaryEntry

    for category, names in ((MEASURE_UNIT, measure), (PACKAGE_UNIT, package)):
        for i, name in enumerate(names):
            db.session.add(DictionaryEntry(category=category, name=name, sort_order=i, active=True))
    db.session.commit()


def make_national_item(cert, code: str, name: str = "动脉灌注管", specs: int = 3):
    """A national single item with ``specs`` spec/models (27-character codes)."""
    from app.models.national import NationalItem, NationalSpec

    item = NationalItem(code=code, name=name, level1="09-体外循环材料", level2="01-插管", level3="01-动脉灌注管",
                        generic_name="动脉灌注管", material="聚氯乙烯", feature="直型", enterprise=cert.registrant,
                        certificate_id=cert.id)
    db.session.add(item)
    db.session.flush()
    for n in range(1, specs + 1):
        db.session.add(NationalSpec(code=f"{code}{n:07d}", item_id=item.id, spec=f"{n}0Fr", model=f"M-{n}"))
    db.session.commit()
    return item


def sms_text(phone: str | None = None) -> str:
    """The full text of the latest SMS (to ``phone``): the table keeps passwords and codes
    masked, the development outbox (``SMS_DEV_OUTBOX``, on in tests) has the text sent."""
    from sqlalchemy import select

    from app.models import SmsMessage
    from app.services import sms

    query = select(SmsMessage).order_by(SmsMessage.id.desc()).limit(1)
    if phone is not None:
        query = query.where(SmsMessage.phone == phone)
    message = db.session.scalar(query)
    assert message is not None, f"no SMS to {phone}"
    full = sms.dev_text(message)
    assert full is not None, "the development outbox does not hold this message"
    return full


@contextlib.contextmanager
def scratch_app(tmp_path, before_create: Callable[[], None] | None = None) -> Iterator:
    """A fresh app on a database of its own — a file on SQLite, a new database beside
    TEST_DATABASE_URL's on PostgreSQL — with its app context pushed; the database is dropped
    afterwards.  ``before_create`` runs before ``create_app`` (e.g. registering a record type)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from app import create_app
    from config import TestConfig

    base = os.environ.get("TEST_DATABASE_URL")
    admin = None
    if not base or base.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'scratch.db'}"
    else:
        name = f"scratch_{uuid.uuid4().hex[:10]}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(base).set(database=name).render_as_string(hide_password=False)

    class ScratchConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = url

    try:
        if before_create:
            before_create()
        app = create_app(ScratchConfig)
        with app.app_context():
            try:
                yield app
            finally:
                db.session.remove()
                db.engine.dispose()
    finally:
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
