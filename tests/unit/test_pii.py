"""ID numbers (身份证号) at rest: encrypted, unreadable without the key, rotatable,
still unique per unit, and never in an audit entry or a log in full."""
from __future__ import annotations

import logging

import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select, text as sql
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import AppUser, AuditLog, Unit, UnitCategory, UnitRole
from app.security import pii
from app.security.secrets import UnsafeSecretKey
from app.services import operators, personal_data
from app.services.errors import ValidationFailed
from tests.factories import make_certified, new_id_number, new_phone, registration
from app.services.registration import register_unit


def _raw(table: str, column: str, row_id: int) -> str:
    return db.session.execute(sql(f"SELECT {column} FROM {table} WHERE id = :id"), {"id": row_id}).scalar()


@pytest.fixture
def people():
    unit_user = make_certified(UnitCategory.DESIGNATED, UnitRole.DESIGNATED_HOSPITAL)
    number = new_id_number()
    operator = operators.add_operator(unit_user, "王五", number, new_phone())
    return unit_user, operator, number


def test_columns_hold_ciphertext_not_the_id_number(app, people):
    unit_user, operator, number = people
    raw = _raw("ab_user", "id_number", operator.id)
    assert number not in raw and pii.is_token(raw)
    contact = _raw("unit", "contact_id_number", unit_user.unit_id)
    assert unit_user.unit.contact_id_number not in contact and pii.is_token(contact)
    # the application reads the plain value back
    db.session.expire_all()
    assert db.session.get(AppUser, operator.id).id_number == number


def test_ciphertext_is_unreadable_without_the_key(app, people):
    _, operator, number = people
    raw = _raw("ab_user", "id_number", operator.id)
    assert Fernet(app.config["PII_KEYS"].encode()).decrypt(raw.encode()).decode() == number
    with pytest.raises(InvalidToken):
        Fernet(Fernet.generate_key()).decrypt(raw.encode())
    with pytest.raises(pii.PiiKeyError):
        pii.decrypt(raw, {"PII_KEYS": Fernet.generate_key().decode()})
    # the same number encrypts differently every time: no dictionary attack on the column
    assert pii.encrypt(number) != pii.encrypt(number)


def test_keyed_hash_needs_the_hash_key(app, people):
    _, operator, number = people
    assert operator.id_number_hash == pii.keyed_hash(number) and len(operator.id_number_hash) == 64
    assert pii.keyed_hash(number, {"PII_HASH_KEY": "another-key-another-key-another-key"}) != operator.id_number_hash
    assert pii.keyed_hash(number.lower()) == operator.id_number_hash  # x / X alike


def test_rotation_reencrypts_with_the_first_key(app, people, monkeypatch):
    unit_user, operator, number = people
    old_key = app.config["PII_KEYS"]
    before = _raw("ab_user", "id_number", operator.id)
    new_key = Fernet.generate_key().decode()
    monkeypatch.setitem(app.config, "PII_KEYS", f"{new_key},{old_key}")
    result = personal_data.rotate()
    assert result.rows == 2  # the operator and the unit's contact
    after = _raw("ab_user", "id_number", operator.id)
    assert after != before
    assert Fernet(new_key.encode()).decrypt(after.encode()).decode() == number
    with pytest.raises(InvalidToken):
        Fernet(old_key.encode()).decrypt(after.encode())
    # the old key can go: everything reads with the new one alone
    monkeypatch.setitem(app.config, "PII_KEYS", new_key)
    db.session.expire_all()
    assert db.session.get(AppUser, operator.id).id_number == number
    assert db.session.get(Unit, unit_user.unit_id).contact_id_number == unit_user.unit.contact_id_number
    assert db.session.scalar(select(AuditLog.event).where(AuditLog.event == "pii_rotated"))


def test_rotation_rehashes_with_a_new_hash_key(app, people, monkeypatch):
    _, operator, number = people
    monkeypatch.setitem(app.config, "PII_HASH_KEY", "a-brand-new-hash-key-for-this-installation")
    personal_data.rotate()
    assert _raw("ab_user", "id_number_hash", operator.id) == pii.keyed_hash(number)
    assert [m.id for m in personal_data.find(number)] == [operator.id]


def test_same_person_twice_in_one_unit_is_refused(app, people):
    unit_user, operator, number = people
    with pytest.raises(ValidationFailed) as exc:
        operators.add_operator(unit_user, "王五", number.lower(), new_phone())
    assert exc.value.errors == {"id_number": operators.ID_NUMBER_TAKEN}
    assert db.session.scalar(select(AppUser.id).where(AppUser.id != operator.id, AppUser.kind == "operator")) is None
    # another unit may have the same person as its operator
    other = make_certified(UnitCategory.DESIGNATED, UnitRole.DESIGNATED_HOSPITAL)
    assert operators.add_operator(other, "王五", number, new_phone()).id_number == number


def test_uniqueness_is_enforced_by_the_database(app, people):
    unit_user, operator, number = people
    db.session.add(AppUser(username="dup", first_name="x", last_name="", email="dup@x.invalid", active=True,
                           kind="operator", unit_id=unit_user.unit_id, phone=new_phone(), id_number=number))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_find_by_id_number_masks_what_it_shows(app, people):
    unit_user, operator, number = people
    reg = registration(contact_id_number=number)
    contact_unit = register_unit(reg)
    found = personal_data.find(number)
    assert {(m.kind, m.id) for m in found} == {("operator", operator.id), ("unit contact", contact_unit.unit_id)}
    for m in found:
        assert number not in f"{m.id_number} {m.phone}" and m.id_number == number[:6] + "********" + number[-4:]


def test_audit_entries_and_logs_carry_no_id_number_or_full_phone(app, people, caplog):
    caplog.set_level(logging.DEBUG)
    unit_user, operator, number = people
    operators.reset_password(operator, unit_user)
    operators.set_active(operator, False, unit_user)
    rows = db.session.execute(select(AuditLog.username, AuditLog.detail)).all()
    assert rows
    for username, detail in rows:
        for value in (username or "", detail or ""):
            assert operator.phone not in value and number not in value
    assert any(operator.phone[:3] + "****" + operator.phone[-4:] in (d or "") for _, d in rows)
    logs = "\n".join(r.getMessage() for r in caplog.records)
    assert operator.phone not in logs and number not in logs


# -- production refuses to start without keys of its own -------------------------------
GOOD_HASH_KEY = "x" * 8 + "-installation-own-hash-key-000"


@pytest.mark.parametrize("keys, hash_key, complaint", [
    ("", GOOD_HASH_KEY, "PII_KEYS must be set"),
    ("not-a-key", GOOD_HASH_KEY, "malformed"),
    (pii.DEV_PII_KEY, GOOD_HASH_KEY, "appears in the repository"),
    (None, "", "PII_HASH_KEY must be set"),
    (None, "short", "shorter than"),
    (None, pii.DEV_PII_HASH_KEY, "appears in the repository"),
])
def test_production_refuses_missing_or_published_keys(monkeypatch, keys, hash_key, complaint):
    from config import BASE_DIR, ProductionConfig

    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", "a" * 20 + "-not-published-secret-key-000")
    monkeypatch.setattr(ProductionConfig, "CA_TRUSTED_ROOTS", "")
    monkeypatch.setattr(ProductionConfig, "PII_KEYS", Fernet.generate_key().decode() if keys is None else keys)
    monkeypatch.setattr(ProductionConfig, "PII_HASH_KEY", hash_key)
    with pytest.raises(UnsafeSecretKey, match=complaint):
        ProductionConfig.check()
    assert BASE_DIR


def test_production_starts_with_keys_of_its_own(monkeypatch):
    from config import ProductionConfig

    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", "a" * 20 + "-not-published-secret-key-000")
    monkeypatch.setattr(ProductionConfig, "CA_TRUSTED_ROOTS", "")
    monkeypatch.setattr(ProductionConfig, "PII_KEYS", f"{Fernet.generate_key().decode()},{Fernet.generate_key().decode()}")
    monkeypatch.setattr(ProductionConfig, "PII_HASH_KEY", GOOD_HASH_KEY)
    ProductionConfig.check()


def test_pii_commands(app, people, monkeypatch):
    unit_user, operator, number = people
    runner = app.test_cli_runner()
    found = runner.invoke(args=["pii", "find", number.lower()])
    assert found.exit_code == 0 and f"operator #{operator.id}" in found.output and number not in found.output
    assert "no match" in runner.invoke(args=["pii", "find", new_id_number()]).output
    before = _raw("ab_user", "id_number", operator.id)
    new_key = Fernet.generate_key().decode()
    monkeypatch.setitem(app.config, "PII_KEYS", f"{new_key},{app.config['PII_KEYS']}")
    rotated = runner.invoke(args=["pii", "rotate"])
    assert rotated.exit_code == 0 and "re-encrypted 2 value(s)" in rotated.output
    assert Fernet(new_key.encode()).decrypt(_raw("ab_user", "id_number", operator.id).encode()).decode() == number
    assert _raw("ab_user", "id_number", operator.id) != before
