"""Encrypted ID numbers: key rotation and look-up (``flask pii rotate`` / ``flask pii find``).

Every column holding an ID number is listed in :data:`COLUMNS`; the values are
Fernet tokens made with ``PII_KEYS`` and their ``*_hash`` is the HMAC with
``PII_HASH_KEY`` (app/security/pii.py).
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import String, literal, select, type_coerce, update

from app.extensions import db
from app.models import AppUser, Unit
from app.ops.redact import mask_id_number, mask_phone
from app.security import pii

# (model, encrypted column, hash column, column whose rows must not share a hash)
COLUMNS = (
    (AppUser, "id_number", "id_number_hash", "unit_id"),
    (Unit, "contact_id_number", "contact_id_number_hash", None),
)
BATCH = 500


@dataclass
class RotateResult:
    rows: int = 0
    unhashed: int = 0  # duplicates within their scope, left without a hash (see the migration)


def rotate() -> RotateResult:
    """Re-encrypt every ID number with the first key of ``PII_KEYS`` and recompute its hash
    with ``PII_HASH_KEY``; afterwards the older keys can be removed.  Idempotent."""
    config = current_app.config
    result = RotateResult()
    for model, column, hash_column, scope in COLUMNS:
        table = model.__table__
        col, hcol = table.c[column], table.c[hash_column]
        scol = table.c[scope] if scope else None
        last_id = 0
        while True:
            # type_coerce reads the raw tokens (the column type would decrypt them)
            query = select(table.c.id, type_coerce(col, String), scol if scol is not None else table.c.id) \
                .where(table.c.id > last_id, col.is_not(None)).order_by(table.c.id).limit(BATCH)
            rows = db.session.execute(query).all()
            if not rows:
                break
            for row_id, token, scope_value in rows:
                last_id = row_id
                plain = pii.decrypt(token, config) if pii.is_token(token) else pii.normalise(token)
                digest = pii.keyed_hash(plain, config)
                if scol is not None and digest is not None and db.session.scalar(
                        select(table.c.id).where(scol == scope_value, hcol == digest, table.c.id != row_id)):
                    digest = None
                    result.unhashed += 1
                new_token = pii.rotate(token, config) if pii.is_token(token) else pii.encrypt(plain, config)
                db.session.execute(update(table).where(table.c.id == row_id)
                                   .values({hcol: digest, col: literal(new_token, String)}))
                result.rows += 1
            db.session.commit()
    from app.services import audit

    audit.record("pii_rotated", detail=f"{result.rows} rows")
    db.session.commit()
    return result


@dataclass
class Match:
    kind: str
    id: int
    name: str
    unit: str
    phone: str
    id_number: str


def find(id_number: str) -> list[Match]:
    """Operators and unit contacts holding ``id_number`` (by its keyed hash; masked output)."""
    digest = pii.keyed_hash(id_number)
    matches: list[Match] = []
    for user in db.session.scalars(select(AppUser).where(AppUser.id_number_hash == digest)):
        matches.append(Match("operator", user.id, user.first_name, user.unit.name if user.unit else "",
                             mask_phone(user.phone), mask_id_number(user.id_number)))
    for unit in db.session.scalars(select(Unit).where(Unit.contact_id_number_hash == digest)):
        matches.append(Match("unit contact", unit.id, unit.contact_name, unit.name, mask_phone(unit.contact_phone),
                             mask_id_number(unit.contact_id_number)))
    return matches
