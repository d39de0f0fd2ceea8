"""Platform admin verbs on units."""
from __future__ import annotations

from app.extensions import db
from app.models import Unit
from app.services import audit


def set_active(unit: Unit, active: bool, admin) -> None:
    if unit.active == active:
        return
    unit.active = active
    audit.record("unit_enabled" if active else "unit_disabled", user=admin, unit=unit,
                 detail=unit.name)
    # audit.record stamps the admin's own unit (none); keep the target unit.
    db.session.commit()
