"""Demo data for ``make run`` (never loaded in production). Idempotent."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import AppUser, Unit, UnitCategory, UnitRole, UserKind
from app.security.roles import REVIEWER_FINAL, REVIEWER_INITIAL, grant_unit_account_roles, sync_roles
from app.services import ca
from app.services.registration import hash_password
from seed.certs import issue

PLATFORM_USERS = (
    # username, password, display name, FAB role
    ("admin", "Admin12345", "平台管理员", "Admin"),
    ("chushen", "Review12345", "初审员", REVIEWER_INITIAL),
    ("fushen", "Review12345", "复审员", REVIEWER_FINAL),
)

DEMO_UNITS = (
    # account, password, category, unit name, credit code, certified role
    ("gzyy2024", "Demo12345", UnitCategory.DESIGNATED, "广州市示范人民医院", "12440000455858101Q",
     UnitRole.DESIGNATED_HOSPITAL),
    ("hclinic01", "Demo12345", UnitCategory.NON_DESIGNATED, "广州市越秀区示范门诊部", "H44010300099000000",
     UnitRole.NON_DESIGNATED_HOSPITAL),
    ("gdqx2024", "Demo12345", UnitCategory.ENTERPRISE, "广东示范医疗器械有限公司", "91440101MA59C8Y8A4",
     UnitRole.MANUFACTURER),
    ("gdps2024", "Demo12345", UnitCategory.ENTERPRISE, "广东示范医药配送有限公司", "91440106MA5CQK7Q3Q",
     UnitRole.DISTRIBUTOR),
)

CONTACT = ("张三", "11010519491231002X", "13800138000")


def _platform_user(sm, username, password, name, role_name) -> bool:
    if sm.find_user(username=username) is not None:
        return False
    user = AppUser(username=username, first_name=name, last_name="", email=f"{username}@platform.invalid",
                   password=hash_password(password), active=True, kind=UserKind.PLATFORM.value)
    user.roles = [sm.find_role(role_name)]
    db.session.add(user)
    db.session.commit()
    return True


def _unit(account, password, category, name, code, role, index) -> bool:
    if db.session.scalar(select(Unit.id).where(Unit.credit_code == code)) is not None:
        return False
    unit = Unit(category=category.value, name=name, credit_code=code, contact_name=CONTACT[0],
                contact_id_number=CONTACT[1], contact_phone=f"1380013800{index}")
    user = AppUser(username=account, first_name=name[:64], last_name="", email=f"{account}@unit.invalid",
                   password=hash_password(password), active=True, kind=UserKind.UNIT.value, unit=unit)
    db.session.add_all([unit, user])
    db.session.commit()
    if unit.is_enterprise:
        issued = issue(code, name, days=3650)  # by the demo root CA (seed/ca), key kept for the signature
        challenge = ca.new_challenge(unit)
        ca.bind(unit, issued.cert_bytes(), user, challenge=challenge, signature=issued.sign(challenge))
    unit.unit_role = role.value
    grant_unit_account_roles(user)
    db.session.commit()
    return True


def load_demo() -> list[str]:
    sync_roles()
    from flask import current_app

    sm = current_app.appbuilder.sm
    out = []
    for username, password, name, role in PLATFORM_USERS:
        if _platform_user(sm, username, password, name, role):
            out.append(f"created platform user {username}")
    for index, row in enumerate(DEMO_UNITS):
        if _unit(*row, index=index):
            out.append(f"created unit {row[3]} (account {row[0]})")
    from seed.national import load_national_demo

    out.extend(load_national_demo())
    from seed.qualification import load_qualification_demo

    out.extend(load_qualification_demo())
    out.append("demo data ready")
    return out
