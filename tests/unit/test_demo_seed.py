"""The demo loader (make run) is idempotent and leaves a usable platform behind."""
from sqlalchemy import func, select

from app.extensions import db
from app.models import AppUser, Entrustment, QualCertificate, QualProduct, Unit


def test_demo_loads_twice_and_gives_every_role_something_to_see():
    from seed.demo import load_demo

    first = load_demo()
    assert "demo data ready" in first
    counts = (db.session.scalar(select(func.count(Unit.id))), db.session.scalar(select(func.count(AppUser.id))),
              db.session.scalar(select(func.count(QualProduct.id))))
    load_demo()
    assert counts == (db.session.scalar(select(func.count(Unit.id))),
                      db.session.scalar(select(func.count(AppUser.id))),
                      db.session.scalar(select(func.count(QualProduct.id))))
    assert {u.username for u in db.session.scalars(select(AppUser))} >= {
        "admin", "chushen", "fushen", "gzyy2024", "hclinic01", "gdqx2024", "gdps2024"}
    assert db.session.scalar(select(QualCertificate.state)) == "effective"
    assert db.session.scalar(select(func.count(QualProduct.id)).where(QualProduct.state == "effective")) > 0
    assert db.session.scalar(select(Entrustment.state)) == "pending_initial"
    assert all(u.unit_role for u in db.session.scalars(select(Unit)))
