"""单位注册 service: every rule refused with its field, nothing half-saved."""
import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AppUser, AuditLog, Unit, UnitCategory, UserKind
from app.services.errors import ValidationFailed
from app.services.registration import register_unit
from tests.factories import make_unit_user, registration


def counts():
    return (db.session.scalar(select(func.count(Unit.id))),
            db.session.scalar(select(func.count(AppUser.id))))


def test_registration_creates_unit_account_and_audit():
    user = register_unit(registration(UnitCategory.NON_DESIGNATED, credit_code="h44010300099000000"))
    assert user.kind == UserKind.UNIT.value
    assert user.unit.credit_code == "H44010300099000000"
    assert user.unit.unit_role is None
    assert db.session.scalar(select(AuditLog).where(AuditLog.event == "register")).unit_id == user.unit_id


@pytest.mark.parametrize("overrides,field", [
    ({"username": "abc_1234"}, "username"),
    ({"username": "12345678"}, "username"),
    ({"username": "abcdefgh"}, "username"),
    ({"password": "short1", "confirm_password": "short1"}, "password"),
    ({"password": "lettersonly", "confirm_password": "lettersonly"}, "password"),
    ({"confirm_password": "Different123"}, "confirm_password"),
    ({"unit_name": "  "}, "unit_name"),
    ({"credit_code": "91110000600037341M"}, "credit_code"),
    ({"contact_id_number": "110105194912310021"}, "contact_id_number"),
    ({"contact_phone": "2380013800"}, "contact_phone"),
    ({"category": "bogus"}, "category"),
])
def test_each_bad_field_is_reported_and_nothing_saved(overrides, field):
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        register_unit(registration(**overrides))
    assert field in exc.value.errors
    assert exc.value.errors[field]
    assert counts() == before


@pytest.mark.parametrize("code", ["H4401030009900000", "X44010300099000000", "H44010300099"])
def test_bad_h_codes_for_non_designated(code):
    with pytest.raises(ValidationFailed) as exc:
        register_unit(registration(UnitCategory.NON_DESIGNATED, credit_code=code))
    assert "credit_code" in exc.value.errors


def test_duplicate_account_in_other_case_is_refused():
    make_unit_user(username="Hosp2024")
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        register_unit(registration(username="hOSP2024"))
    assert "已被注册" in exc.value.errors["username"]
    assert counts() == before


def test_duplicate_credit_code_is_refused():
    first = make_unit_user()
    with pytest.raises(ValidationFailed) as exc:
        register_unit(registration(credit_code=first.unit.credit_code.lower()))
    assert "已注册" in exc.value.errors["credit_code"]


def test_all_errors_are_collected_at_once():
    with pytest.raises(ValidationFailed) as exc:
        register_unit(registration(username="!", password="x", confirm_password="y",
                                   contact_phone="1", contact_id_number="1"))
    assert {"username", "password", "contact_phone", "contact_id_number"} <= set(exc.value.errors)
