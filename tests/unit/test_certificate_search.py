"""注册证 searches at scale (issue 14 §4): PostgreSQL's trigram and (origin, number) indexes,
the matches-first query shape, and migration 0017 on both databases."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event, func, inspect, select, text

from app.extensions import db
from app.models import NationalCertificate
from app.services import national
from tests.factories import scratch_app

NEW_INDEXES = {"ix_national_certificate_number_trgm", "ix_national_certificate_product_name_fold_trgm",
               "ix_national_certificate_registrant_fold_trgm", "ix_national_certificate_origin_number"}


def postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


def index_defs(conn) -> dict[str, str]:
    return dict(conn.execute(text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'national_certificate'")).all())


@pytest.fixture
def certs(app):
    """300 certificates: the foreign registrant's, all 国械注进, sort after every domestic one."""
    today = dt.date.today()
    rows = []
    for n in range(300):
        imported = n % 10 == 0
        rows.append(NationalCertificate(
            number=f"国械注进2020{n:07d}" if imported else f"国械注准2020{n:07d}",
            product_name="Balloon 导管" if n % 4 else "一次性使用无菌注射器", management_class="III",
            registrant="Medtronic Inc." if imported else f"广州{n % 7}医疗器械有限公司",
            origin="imported" if imported else "domestic", valid_from=today - dt.timedelta(days=100),
            valid_to=today + dt.timedelta(days=100) if n % 3 else today - dt.timedelta(days=1)))
    db.session.add_all(rows)
    db.session.commit()
    return rows


def numbers(page) -> list[str]:
    return [c.number for c in page.rows]


def test_the_indexes_exist_on_postgresql_only(app):
    with db.engine.connect() as conn:
        names = {ix["name"] for ix in inspect(conn).get_indexes("national_certificate")}
        if not postgres():
            assert not names & NEW_INDEXES
            return
        defs = index_defs(conn)
        assert conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).scalar() == 1
    assert NEW_INDEXES <= set(defs)
    assert "USING gin (registrant_fold gin_trgm_ops)" in defs["ix_national_certificate_registrant_fold_trgm"]
    assert "USING gin (product_name_fold gin_trgm_ops)" in defs["ix_national_certificate_product_name_fold_trgm"]
    assert "USING gin (number gin_trgm_ops)" in defs["ix_national_certificate_number_trgm"]
    assert "btree (origin, number)" in defs["ix_national_certificate_origin_number"]


@pytest.mark.parametrize("filters", [{"registrant": "MEDTRONIC"}, {"registrant": "medtronic", "validity": "valid"},
                                     {"product_name": "balloon"}, {"product_name": "注射"}, {"number": "注进"},
                                     {"number": "2020000001"}, {"registrant": "医疗器械", "origin": "domestic"},
                                     {"origin": "imported", "validity": "valid"}, {"registrant": "50%_"}])
def test_both_query_shapes_page_alike(certs, monkeypatch, filters):
    """Matches first (few matches) and the planner's walk (many) give the same pages, both ways."""
    def walk(shape_limit):
        monkeypatch.setattr(national, "FEW_MATCHES", shape_limit)
        pages, page = [], national.search_certificates(filters, limit=7)
        while True:
            pages.append(numbers(page))
            if not page.next_after:
                break
            page = national.search_certificates(filters, after=page.next_after, limit=7)
        back = national.search_certificates(filters, before=page.rows[0].number, limit=7) if page.rows else None
        return pages, numbers(back) if back else []

    few, many = walk(10 ** 9), walk(-1)
    assert few == many
    pages, back = few
    flat = [n for page in pages for n in page]
    conds = national.certificate_conditions(national.clean_filters(filters, national.CERTIFICATE_FILTERS))
    assert flat == sorted(set(flat))  # in order, no repeat …
    assert len(flat) == db.session.scalar(select(func.count(NationalCertificate.id)).where(*conds))  # … no gap
    assert back == (pages[-2] if len(pages) > 1 else [])


def test_a_registrant_search_finds_its_matches_first(certs):
    """A ≥3-character term on PostgreSQL: the planner's estimate decides, then a fenced query."""
    captured = []

    def spy(conn, cursor, statement, parameters, context, executemany):
        captured.append(statement)

    event.listen(db.engine, "before_cursor_execute", spy)
    try:
        page = national.search_certificates({"registrant": "Medtronic"})
        national.search_certificates({"registrant": "Me"})  # no trigram: the plain query
    finally:
        event.remove(db.engine, "before_cursor_execute", spy)
    assert numbers(page) == sorted(c.number for c in certs if c.origin == "imported")[:20]
    if postgres():
        assert captured[0].startswith("EXPLAIN (FORMAT JSON)")
        assert "OFFSET" in captured[1] and "anon_1.number" in captured[1]
        assert len(captured) == 3 and "anon_1" not in captured[2]
    else:
        assert len(captured) == 2 and not any("EXPLAIN" in s or "anon_1" in s for s in captured)


def test_the_registrant_search_can_use_the_trigram_index(certs):
    if not postgres():
        pytest.skip("PostgreSQL only")
    conn = db.session.connection()
    conn.execute(text("ANALYZE national_certificate"))
    conn.execute(text("SET LOCAL enable_seqscan = off"))  # 300 rows: prove the index serves it, not its cost
    stmt = select(NationalCertificate).where(*national.certificate_conditions({"registrant": "MEDTRONIC"}))
    compiled = stmt.compile(dialect=conn.dialect)
    plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + compiled.string, compiled.params))
    assert "ix_national_certificate_registrant_fold_trgm" in plan, plan
    stmt = select(NationalCertificate).where(
        *national.certificate_conditions({"origin": "imported", "validity": "valid"})
    ).order_by(NationalCertificate.number).limit(21)
    compiled = stmt.compile(dialect=conn.dialect)
    plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + compiled.string, compiled.params))
    assert "ix_national_certificate_origin_number" in plan, plan
    db.session.rollback()


def test_migration_0017_upgrades_the_previous_release_and_downgrades(tmp_path):
    from flask_migrate import downgrade, upgrade

    def names():
        with db.engine.connect() as conn:
            return {ix["name"] for ix in inspect(conn).get_indexes("national_certificate")}

    with scratch_app(tmp_path):
        upgrade(revision="0016_import_log")
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO national_certificate (number, product_name, registrant, management_class, origin,"
                " registrant_fold, product_name_fold, created_at, updated_at) VALUES ('国械注进20203010001',"
                " '导管', 'Medtronic Inc.', 'III', 'imported', 'medtronic inc.', '导管', CURRENT_TIMESTAMP,"
                " CURRENT_TIMESTAMP)"))
        upgrade()
        pg = db.engine.dialect.name == "postgresql"
        assert (NEW_INDEXES <= names()) if pg else not (NEW_INDEXES & names())
        downgrade(revision="0016_import_log")
        assert not (NEW_INDEXES & names())
        upgrade()
        assert (NEW_INDEXES <= names()) if pg else not (NEW_INDEXES & names())
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM national_certificate")).scalar() == 1
