"""Benchmarks of issue 16: the overview pages' queries at 1,000,000 products and 100,000 records.

Data: 2,000 units (20 manufacturers own everything), 1,000,000 products and 50,000
entrustments + 50,000 certificates in every workflow state, with queue entry times
spread over 60 days; 100,000 review decisions of 5 reviewers over 90 days; 40
national import runs; 10 % of the national certificates expired.

For each page: the whole request through Flask (logged in, template rendered), the
service call that computes its numbers (every query of the page), and a bare
baseline — the same aggregates hand-written in SQL on the raw connection (one GROUP BY
per table, the percentile ranks as ORDER BY … OFFSET, the day histograms), summed.
"""
from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import time

from sqlalchemy import insert, select, text

PRODUCTS = int(os.environ.get("BENCH_OVERVIEW_PRODUCTS", os.environ.get("BENCH_PRODUCTS", "1000000")))
RECORDS = int(os.environ.get("BENCH_OVERVIEW_RECORDS", "100000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "20"))
UNITS = 2000
MAKERS = 20
ITEMS_PER_MAKER = 50
DECISIONS = 100_000
TARGET_MS = 200.0
NOW = dt.datetime(2026, 12, 1, 12, 0)

STATES = (("effective", 0.85), ("draft", 0.05), ("pending_initial", 0.04), ("pending_final", 0.03),
          ("rejected", 0.03))


def _state(rng: random.Random) -> str:
    x = rng.random()
    for state, share in STATES:
        x -= share
        if x < 0:
            return state
    return "effective"


def _times(rng: random.Random, state: str) -> dict:
    if state in ("draft",):
        return {"submitted_at": None, "reviewed_at": None}
    submitted = NOW - dt.timedelta(minutes=rng.randint(60, 60 * 24 * 60))
    reviewed = None
    if state != "pending_initial":
        reviewed = submitted + (NOW - submitted) * rng.random()
    return {"submitted_at": submitted, "reviewed_at": reviewed}


def _batches(rows, size=20000):
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def fill(app, log, label) -> dict:
    from app.extensions import db
    from app.models import (AppUser, Entrustment, NationalCertificate, NationalImport, NationalItem, QualCertificate,
                            QualItem, QualProduct, Unit, UserKind, WorkflowHistory)
    from app.security.roles import REVIEWER_INITIAL
    from app.services.registration import hash_password

    rng = random.Random(16)
    with app.app_context():
        sm = app.appbuilder.sm
        admin = AppUser(username="benchadmin", first_name="bench", last_name="", email="benchadmin@p.invalid",
                        password=hash_password("Bench12345"), active=True, kind=UserKind.PLATFORM.value)
        admin.roles = [sm.find_role(sm.auth_role_admin)]
        reviewers = []
        for n in range(5):
            r = AppUser(username=f"benchreviewer{n}", first_name="r", last_name="", email=f"r{n}@p.invalid",
                        password=hash_password("Bench12345"), active=True, kind=UserKind.PLATFORM.value)
            r.roles = [sm.find_role(REVIEWER_INITIAL)]
            reviewers.append(r)
        db.session.add_all([admin, *reviewers])
        categories = ("designated", "non_designated", "enterprise")
        roles = {"designated": ("designated_hospital", "designated_pharmacy", None),
                 "non_designated": ("non_designated_hospital", "non_designated_pharmacy", None),
                 "enterprise": ("manufacturer", "distributor", None)}
        unit_rows = []
        for n in range(UNITS):
            category = "enterprise" if n < MAKERS else rng.choice(categories)
            role = "manufacturer" if n < MAKERS else rng.choice(roles[category])
            unit_rows.append({"category": category, "name": f"基准单位{n:05d}", "credit_code": f"U{n:017d}",
                              "contact_name": "x", "contact_id_number": "x", "contact_phone": "13800000000",
                              "unit_role": role, "active": rng.random() > 0.05,
                              "created_at": NOW - dt.timedelta(minutes=rng.randint(0, 60 * 24 * 200))})
        db.session.execute(insert(Unit), unit_rows)
        db.session.flush()
        maker_ids = list(db.session.scalars(select(Unit.id).order_by(Unit.id).limit(MAKERS)))
        maker_user = AppUser(username="benchmaker", first_name="m", last_name="", email="m@u.invalid",
                             password=hash_password("Bench12345"), active=True, kind=UserKind.UNIT.value,
                             unit_id=maker_ids[0])
        db.session.add(maker_user)
        db.session.flush()
        from app.security.roles import grant_unit_account_roles

        db.session.refresh(maker_user)
        grant_unit_account_roles(maker_user)
        certs = [{"number": f"粤械注准2015266{n:04d}", "product_name": "基准导管", "registrant": "基准",
                  "management_class": "II", "origin": "domestic", "valid_from": dt.date(2020, 1, 1),
                  "valid_to": NOW.date() + dt.timedelta(days=rng.randint(-300, 900) if n % 10 else -30)}
                 for n in range(200)]
        db.session.execute(insert(NationalCertificate), certs)
        cert_ids = list(db.session.scalars(select(NationalCertificate.id).order_by(NationalCertificate.id)))
        codes = [f"C09010101{n:011d}" for n in range(MAKERS * ITEMS_PER_MAKER)]
        db.session.execute(insert(NationalItem), [{"code": c, "name": "基准导管", "certificate_id": cert_ids[i % 200]}
                                                  for i, c in enumerate(codes)])
        db.session.execute(insert(QualItem), [{"unit_id": maker_ids[i // ITEMS_PER_MAKER], "code": c}
                                              for i, c in enumerate(codes)])
        items = db.session.execute(select(QualItem.id, QualItem.unit_id, QualItem.code).order_by(QualItem.id)).all()
        db.session.commit()
        log(f"[{label}] overview: filling {PRODUCTS:,} products, {RECORDS:,} records, {DECISIONS:,} decisions")
        reviewer_ids = [r.id for r in reviewers]
        if db.engine.dialect.name == "postgresql":
            _fill_postgres(db, maker_ids, reviewer_ids, certs)
        else:
            _fill_python(db, rng, items, maker_ids, reviewer_ids, certs)
        db.session.execute(insert(NationalImport), [
            {"token": f"bench{n}", "created_at": NOW - dt.timedelta(days=n), "source": "cli",
             "filename": f"release-{n}.xlsx", "status": "done", "inserted": rng.randint(0, 50000),
             "updated": rng.randint(0, 5000), "unchanged": 0, "rejected": rng.randint(0, 100)} for n in range(40)])
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        else:
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        return {"maker": maker_ids[0], "reviewer": reviewer_ids[0]}


def _fill_python(db, rng, items, maker_ids, reviewer_ids, certs) -> None:
    """Row by row from Python (SQLite)."""
    from app.models import Entrustment, QualCertificate, QualProduct, WorkflowHistory

    def products():
        for n in range(PRODUCTS):
            item_id, unit_id, code = items[n % len(items)]
            state = _state(rng)
            yield {"unit_id": unit_id, "item_id": item_id, "code": f"{code}{n // len(items) + 1:07d}",
                   "min_unit": "支", "pack_unit": "盒", "pack_ratio": 10, "state": state, "version": 1,
                   "created_at": NOW, "source": "import", **_times(rng, state)}

    for batch in _batches(products()):
        db.session.execute(insert(QualProduct), batch)
    db.session.commit()

    def records(kind):
        for n in range(RECORDS // 2):
            state = _state(rng)
            row = {"unit_id": maker_ids[n % MAKERS], "state": state, "version": 1, "created_at": NOW,
                   **_times(rng, state)}
            if kind == "entrustment":
                row.update(kind="contract", principal_name="委托方",
                           valid_to=NOW.date() + dt.timedelta(days=rng.randint(-100, 1000)))
            else:
                row.update(cert_no=certs[n % 200]["number"])
            yield row

    for batch in _batches(records("entrustment")):
        db.session.execute(insert(Entrustment), batch)
    for batch in _batches(records("certificate")):
        db.session.execute(insert(QualCertificate), batch)
    db.session.commit()

    def decisions():
        for n in range(DECISIONS):
            yield {"record_type": "product", "record_id": n + 1, "unit_id": maker_ids[n % MAKERS],
                   "user_id": reviewer_ids[n % 5], "action": "approve" if rng.random() < 0.9 else "reject",
                   "from_state": "pending_initial", "to_state": "pending_final",
                   "created_at": NOW - dt.timedelta(minutes=rng.randint(0, 60 * 24 * 90))}

    for batch in _batches(decisions()):
        db.session.execute(insert(WorkflowHistory), batch)
    db.session.commit()


STATE_CASE = ("CASE WHEN r < 0.85 THEN 'effective' WHEN r < 0.90 THEN 'draft' WHEN r < 0.94 THEN 'pending_initial' "
              "WHEN r < 0.97 THEN 'pending_final' ELSE 'rejected' END")


def _fill_postgres(db, maker_ids, reviewer_ids, certs) -> None:
    """The same shape generated by the server (generate_series): minutes instead of an hour on a busy host."""
    now = f"TIMESTAMP '{NOW:%Y-%m-%d %H:%M:%S}'"
    submitted = f"{now} - (INTERVAL '1 hour' + w * INTERVAL '60 days')"
    times = (f"CASE WHEN state = 'draft' THEN NULL ELSE {submitted} END, "
             f"CASE WHEN state IN ('draft', 'pending_initial') THEN NULL "
             f"ELSE {submitted} + (INTERVAL '1 hour' + w * INTERVAL '60 days') * v END")
    rows = f"SELECT g, {STATE_CASE} AS state, w, v FROM (SELECT g, random() AS r, random() AS w, random() AS v " \
           "FROM generate_series(0, {n} - 1) g) t"
    db.session.execute(text(
        "WITH items AS (SELECT id, unit_id, code, row_number() OVER (ORDER BY id) - 1 AS k FROM qual_item), "
        f"n AS (SELECT count(*) AS c FROM qual_item), s AS ({rows.format(n=PRODUCTS)}) "
        "INSERT INTO qual_product (unit_id, item_id, code, min_unit, pack_unit, pack_ratio, state, version, "
        "created_at, source, submitted_at, reviewed_at) "
        f"SELECT i.unit_id, i.id, i.code || lpad((s.g / n.c + 1)::text, 7, '0'), '支', '盒', 10, s.state, 1, {now}, "
        f"'import', {times} FROM s CROSS JOIN n JOIN items i ON i.k = s.g % n.c"))
    makers = "ARRAY[" + ",".join(str(i) for i in maker_ids) + "]"
    numbers = "ARRAY[" + ",".join(f"'{c['number']}'" for c in certs) + "]"
    half = RECORDS // 2
    db.session.execute(text(
        f"WITH s AS ({rows.format(n=half)}) INSERT INTO entrustment (unit_id, state, version, created_at, "
        "submitted_at, reviewed_at, kind, principal_name, valid_to) "
        f"SELECT ({makers})[s.g % {len(maker_ids)} + 1], s.state, 1, {now}, {times}, 'contract', '委托方', "
        f"DATE '{NOW:%Y-%m-%d}' + (floor(random() * 1100) - 100)::int FROM s"))
    db.session.execute(text(
        f"WITH s AS ({rows.format(n=half)}) INSERT INTO qual_certificate (unit_id, state, version, created_at, "
        "submitted_at, reviewed_at, cert_no, contact_name, contact_phone, remark) "
        f"SELECT ({makers})[s.g % {len(maker_ids)} + 1], s.state, 1, {now}, {times}, "
        f"({numbers})[s.g % {len(certs)} + 1], '', '', '' FROM s"))
    reviewers = "ARRAY[" + ",".join(str(i) for i in reviewer_ids) + "]"
    db.session.execute(text(
        "INSERT INTO workflow_history (record_type, record_id, unit_id, user_id, action, from_state, to_state, "
        "created_at) "
        f"SELECT 'product', g + 1, ({makers})[g % {len(maker_ids)} + 1], ({reviewers})[g % {len(reviewer_ids)} + 1], "
        "CASE WHEN random() < 0.9 THEN 'approve' ELSE 'reject' END, 'pending_initial', 'pending_final', "
        f"{now} - random() * INTERVAL '90 days' FROM generate_series(0, {DECISIONS} - 1) g"))
    db.session.commit()


def bare_statements(ids: dict, dialect: str) -> dict[str, list[str]]:
    """The pages' aggregates written by hand: what the database must do at least."""
    day = "date(created_at)"
    now = f"'{NOW:%Y-%m-%d %H:%M:%S}'"
    tables = ("entrustment", "qual_certificate", "qual_product")
    states = [f"SELECT state, count(*) FROM {t} WHERE revision_of_id IS NULL GROUP BY state" for t in tables]
    unit_states = [f"SELECT state, count(*) FROM {t} WHERE unit_id = {ids['maker']} AND revision_of_id IS NULL "
                   f"GROUP BY state" for t in tables]
    queues = []
    for t in tables:
        for state, col in (("pending_initial", "submitted_at"), ("pending_final", "reviewed_at")):
            queues += [f"SELECT count(*) FROM {t} WHERE state = '{state}'",
                       f"SELECT {col} FROM {t} WHERE state = '{state}' AND {col} IS NOT NULL ORDER BY {col} DESC "
                       f"LIMIT 1 OFFSET (SELECT count(*) / 2 FROM {t} WHERE state = '{state}')"
                       if dialect == "postgresql" else
                       f"SELECT {col} FROM {t} WHERE state = '{state}' AND {col} IS NOT NULL ORDER BY {col} DESC "
                       f"LIMIT 1 OFFSET (SELECT count(*) / 2 FROM {t} WHERE state = '{state}')",
                       f"SELECT id, {col} FROM {t} WHERE state = '{state}' AND {col} IS NOT NULL ORDER BY {col} LIMIT 1"]
    since = (NOW - dt.timedelta(weeks=12)).strftime("'%Y-%m-%d'")
    platform = (["SELECT category, unit_role, active, count(*) FROM unit GROUP BY category, unit_role, active",
                 f"SELECT {day}, count(*) FROM unit WHERE created_at >= {since} GROUP BY {day}",
                 "SELECT created_at, inserted, updated, rejected FROM national_import WHERE status = 'done' "
                 "ORDER BY created_at DESC LIMIT 12"] + states + queues)
    month = (NOW - dt.timedelta(days=29)).strftime("'%Y-%m-%d'")
    review = [q for q in queues if "pending_initial" in q] + [
        f"SELECT {day}, action, count(*) FROM workflow_history WHERE user_id = {ids['reviewer']} AND created_at >= "
        f"{month} AND action IN ('approve', 'reject') GROUP BY {day}, action"]
    today = f"'{NOW:%Y-%m-%d}'"
    qualification = unit_states + [
        f"SELECT count(*) FROM entrustment WHERE unit_id = {ids['maker']} AND state = 'effective' AND "
        f"revision_of_id IS NULL AND valid_to <= {today}",
        f"SELECT count(*) FROM qual_certificate q JOIN national_certificate c ON c.number = q.cert_no WHERE "
        f"q.unit_id = {ids['maker']} AND q.state = 'effective' AND q.revision_of_id IS NULL AND c.valid_to <= {today}",
        f"SELECT count(*) FROM qual_product p JOIN qual_item i ON i.id = p.item_id JOIN national_item n ON "
        f"n.code = i.code JOIN national_certificate c ON c.id = n.certificate_id WHERE p.unit_id = {ids['maker']} "
        f"AND p.revision_of_id IS NULL AND c.valid_to < {today}"]
    del now
    return {"平台概览": platform, "我的待办": review, "资质概览": qualification}


def _p(samples):
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, int(round(0.95 * len(ordered))) - 1)]


def _timed(fn):
    for _ in range(2):
        fn()
    out = []
    for _ in range(REPEAT):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return _p(out)


def run(label: str, url: str, log) -> str:
    from flask import g
    from flask_appbuilder import Model

    from app.extensions import db
    from app.models import AppUser
    from app.security.roles import sync_roles
    from app.services import overview
    from benchmarks.common import make_app

    app = make_app(url)
    with app.app_context():
        Model.metadata.drop_all(db.engine)
        Model.metadata.create_all(db.engine)
        sync_roles()
    started = time.perf_counter()
    ids = fill(app, log, label)
    fill_s = time.perf_counter() - started
    rows = []
    with app.app_context():
        dialect = db.engine.dialect.name
        bare = bare_statements(ids, dialect)
        services = {
            "平台概览": lambda: overview.platform_page(NOW),
            "我的待办": lambda: overview.reviewer_page(ids["reviewer"], ["initial"], NOW),
            "资质概览": lambda: overview.qualification_page(ids["maker"], NOW.date(),
                                                          ["entrustment", "certificate", "product"]),
        }
        logins = {"平台概览": ("benchadmin", "/overview/platform/"),
                  "我的待办": ("benchreviewer0", "/overview/review/"),
                  "资质概览": ("benchmaker", "/procurement/overview/")}
        raw = db.engine.raw_connection()
        try:
            for page, fn in services.items():
                log(f"[{label}] overview: timing {page}")
                for name in ("_login_user", "user", "csrf_token"):  # requests share the pushed app context
                    g.pop(name, None)
                client = app.test_client()
                user, path = logins[page]
                resp = client.post("/login/", data={"username": user, "password": "Bench12345"})
                assert resp.status_code == 302, f"{user} could not log in"
                probe = client.get(path)
                assert probe.status_code == 200, (path, probe.status_code, probe.headers.get("Location"), resp.headers.get("Location"))
                def get(path=path):
                    for name in ("_login_user", "user"):
                        g.pop(name, None)
                    return client.get(path)

                page_ms = _timed(get)
                service_ms = _timed(fn)
                db.session.rollback()

                def bare_run(statements=bare[page]):
                    cur = raw.cursor()
                    for statement in statements:
                        cur.execute(statement)
                        cur.fetchall()
                    cur.close()

                bare_ms = _timed(bare_run)
                raw.rollback()
                ok = "ok" if service_ms[1] <= TARGET_MS else "MISSED"
                rows.append((page, len(bare[page]), page_ms, service_ms, bare_ms, ok))
        finally:
            raw.close()
        g.pop("user", None)
        db.session.remove()
        db.engine.dispose()
    del AppUser
    lines = [f"\n### {label}: overview pages at {PRODUCTS:,} products and {RECORDS:,} records\n",
             f"Fill: {fill_s:.0f} s ({UNITS:,} units, {DECISIONS:,} review decisions, 40 national imports).\n",
             "| page | queries (bare) | page p50 | page p95 | queries p50 | queries p95 | bare p50 | bare p95 "
             "| queries / bare (p95) | target: queries p95 ≤ 200 ms |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for page, n, (pg50, pg95), (s50, s95), (b50, b95), ok in rows:
        lines.append(f"| {page} | {n} | {pg50:.1f} | {pg95:.1f} | {s50:.1f} | {s95:.1f} | {b50:.1f} | {b95:.1f} "
                     f"| {s95 / max(b95, 0.01):.1f}× | {ok} |")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines.append(f"\nLoad average at the end: {load:.1f} on {os.cpu_count()} cores (figures from a shared machine are "
                 "not comparable with a quiet one; the ratio to bare SQL is).")
    lines.append(f"\nTimes in ms over {REPEAT} runs after 2 warm-ups. page = the whole request through Flask "
                 "(logged in, template rendered); queries = the service call that computes every number of the page; "
                 "bare = the same aggregates hand-written in SQL on the raw DB-API connection, run one after another.")
    return "\n".join(lines)
