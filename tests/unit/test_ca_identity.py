"""Who a unit is (issue 10 §7): national certificates by CA-verified name only, and credit
codes held by registrations that never certified can be freed."""
import datetime as dt

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, Unit, UnitCategory, UnitRole
from app.models.mixins import utcnow
from app.services import certification, qualification, units
from app.services.errors import DomainError, ValidationFailed
from tests.factories import (
    bind_ca, make_certified, make_national_cert, make_platform_user, make_unit_user, registration,
)
from app.services.registration import register_unit

DEMO_MAKER = "广东示范医疗器械有限公司"


def test_a_self_registered_namesake_is_offered_no_national_certificates():
    """The audit: a new unit named like the demo manufacturer was offered its certificates."""
    for n in range(3):
        make_national_cert(f"国械注准2015310001{n}", DEMO_MAKER)
    impostor = make_unit_user(UnitCategory.ENTERPRISE, unit_name=DEMO_MAKER)
    impostor.unit.unit_role = UnitRole.MANUFACTURER.value  # even if it were certified somehow
    db.session.commit()
    assert qualification.selectable_certificates(impostor) == []
    with pytest.raises(ValidationFailed):
        qualification.add_certificates(impostor, ["国械注准20153100010"])


def test_the_ca_verified_manufacturer_is_offered_its_certificates():
    for n in range(3):
        make_national_cert(f"国械注准2015310001{n}", DEMO_MAKER)
    maker = make_unit_user(UnitCategory.ENTERPRISE, unit_name=DEMO_MAKER)
    bind_ca(maker)
    certification.certify(maker.unit, UnitRole.MANUFACTURER.value, maker)
    assert [c.number for c in qualification.selectable_certificates(maker)] == [
        "国械注准20153100010", "国械注准20153100011", "国械注准20153100012"]


def test_a_namesake_cannot_verify_the_same_name_afterwards():
    maker = make_unit_user(UnitCategory.ENTERPRISE, unit_name=DEMO_MAKER)
    bind_ca(maker)
    impostor = make_unit_user(UnitCategory.ENTERPRISE, unit_name=DEMO_MAKER)
    with pytest.raises(DomainError) as exc:
        bind_ca(impostor)
    assert "其他单位通过CA验证" in exc.value.message


# -- credit codes held by registrations that never certified ---------------------------

def test_the_admin_releases_a_squatted_code_and_the_real_enterprise_registers():
    admin = make_platform_user("codeadmin", "Admin")
    squatter = make_unit_user(UnitCategory.ENTERPRISE, unit_name="抢注的名字")
    code = squatter.unit.credit_code
    with pytest.raises(ValidationFailed) as exc:
        register_unit(registration(UnitCategory.ENTERPRISE, credit_code=code))
    assert "已注册" in exc.value.errors["credit_code"]
    units.release_credit_code(squatter.unit, admin)
    db.session.refresh(squatter.unit)
    assert squatter.unit.released_credit_code == code and not squatter.unit.active
    real = register_unit(registration(UnitCategory.ENTERPRISE, credit_code=code))
    assert real.unit.credit_code == code
    assert db.session.scalar(select(AuditLog).where(AuditLog.event == "credit_code_released")) is not None


@pytest.mark.parametrize("how", ["certified", "ca_bound"])
def test_a_certified_or_ca_bound_unit_keeps_its_code(how):
    admin = make_platform_user("codeadmin2", "Admin")
    if how == "certified":
        user = make_certified(UnitCategory.DESIGNATED, UnitRole.DESIGNATED_HOSPITAL)
    else:
        user = make_unit_user(UnitCategory.ENTERPRISE)
        bind_ca(user)
    with pytest.raises(DomainError):
        units.release_credit_code(user.unit, admin)
    assert user.unit.released_at is None


def test_an_uncertified_registration_expires_after_the_configured_days(app):
    squatter = make_unit_user(UnitCategory.ENTERPRISE)
    code = squatter.unit.credit_code
    days = app.config["UNCERTIFIED_REGISTRATION_DAYS"]
    squatter.unit.created_at = utcnow() - dt.timedelta(days=days - 1)
    db.session.commit()
    with pytest.raises(ValidationFailed):  # not yet
        register_unit(registration(UnitCategory.ENTERPRISE, credit_code=code))
    squatter.unit.created_at = utcnow() - dt.timedelta(days=days + 1)
    db.session.commit()
    real = register_unit(registration(UnitCategory.ENTERPRISE, credit_code=code))
    assert real.unit.credit_code == code
    assert db.session.get(Unit, squatter.unit_id).released_credit_code == code


def test_the_daily_command_expires_only_old_uncertified_registrations(app):
    old = make_unit_user(UnitCategory.ENTERPRISE)
    recent = make_unit_user(UnitCategory.ENTERPRISE)
    certified = make_certified(UnitCategory.DESIGNATED, UnitRole.DESIGNATED_HOSPITAL)
    long_ago = utcnow() - dt.timedelta(days=app.config["UNCERTIFIED_REGISTRATION_DAYS"] + 5)
    old.unit.created_at = certified.unit.created_at = long_ago
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["expire-registrations"])
    assert "released 1 credit code" in result.output
    db.session.expire_all()
    assert db.session.get(Unit, old.unit_id).released_at is not None
    assert db.session.get(Unit, recent.unit_id).released_at is None
    assert db.session.get(Unit, certified.unit_id).released_at is None


def test_only_the_verified_name_rule_reads_as_the_verified_name_message(app):
    """A database error is never reported as the certificate field's message unless it is that
    unique rule (issue 11 §3): the check tells the two IntegrityErrors apart on both databases."""
    from sqlalchemy.exc import IntegrityError

    from app.errors import violates_unique

    a = make_unit_user(UnitCategory.ENTERPRISE).unit
    b = make_unit_user(UnitCategory.ENTERPRISE).unit
    a.verified_name = "同名单位"
    db.session.commit()
    b.verified_name = "同名单位"
    with pytest.raises(IntegrityError) as same_name:
        db.session.commit()
    db.session.rollback()
    assert violates_unique(same_name.value, "uq_unit_verified_name", "unit.verified_name")
    b = db.session.get(Unit, b.id)
    b.credit_code = db.session.get(Unit, a.id).credit_code
    with pytest.raises(IntegrityError) as other_rule:
        db.session.commit()
    db.session.rollback()
    assert not violates_unique(other_rule.value, "uq_unit_verified_name", "unit.verified_name")
