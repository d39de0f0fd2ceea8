"""The national-data searches (SPEC §5, issue 5 / 14 §4): every picker search and list page at
100,000 certificates / 1,000,000 spec/models × ``--scale``, beside its bare SQL, plus an import."""
from __future__ import annotations

import datetime as dt
import os
import resource
import tempfile
import time
import uuid
from dataclasses import dataclass
from typing import Callable

from benchmarks import common
from benchmarks.common import capture_sql, interleaved, machine, make_app, on_each_database, percentile, timed


@dataclass
class Scenario:
    label: str
    url: str | None                       # the page, through the whole Flask stack
    search: Callable[[], object] | None   # the service call behind it
    bare: str                             # a hand-written indexed SQL query of the same filter
    target_ms: float                      # p95 target of the page (SPEC §5)
    kind: str = "picker"                  # picker | list


def bench_database(label: str, url: str, scale: float, repeat: int, import_rows: int, log) -> list[tuple]:
    from flask_appbuilder import Model
    from sqlalchemy import select

    from app.extensions import db
    from app.models import AppUser, NationalCertificate, NationalItem, UserKind
    from app.security.roles import sync_roles
    from app.services import national
    from app.services.registration import hash_password
    from benchmarks.generate import certificate_number, generate

    app = make_app(url)
    rows: list[tuple] = []
    with app.app_context():
        dialect = db.engine.dialect.name
        if dialect == "sqlite":
            from sqlalchemy import event

            @event.listens_for(db.engine, "connect")
            def _pragmas(dbapi_conn, _):
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
                cur.execute("PRAGMA cache_size=-200000")
                cur.close()

            db.engine.dispose()
        Model.metadata.drop_all(db.engine)
        Model.metadata.create_all(db.engine)
        sync_roles()
        admin = AppUser(username="benchadmin", first_name="bench", last_name="", email="b@bench.invalid",
                        password=hash_password("Bench12345"), active=True, kind=UserKind.PLATFORM.value)
        admin.roles = [app.appbuilder.sm.find_role("Admin")]
        db.session.add(admin)
        db.session.commit()

        n_certs, n_specs = int(100_000 * scale), int(1_000_000 * scale)
        log(f"[{label}] generating {n_certs:,} certificates and {n_specs:,} spec/models …")
        sizes = generate(n_certs, n_specs, report=log)

        # filter values that exist in the generated data
        conn = db.session.connection()
        registrant = db.session.scalar(select(NationalCertificate.registrant)
                                       .where(NationalCertificate.origin == "domestic")
                                       .order_by(NationalCertificate.id).offset(n_certs // 3).limit(1))
        cert_no = certificate_number(n_certs // 2)[0]
        item_code = db.session.scalar(select(NationalItem.code).where(NationalItem.id == sizes["items"] // 2))
        deep_cert = db.session.scalar(select(NationalCertificate.number).order_by(NationalCertificate.number)
                                      .offset(int(n_certs * 0.9)).limit(1))
        deep_spec = conn.exec_driver_sql(
            f"SELECT code FROM national_spec ORDER BY code LIMIT 1 OFFSET {int(sizes['specs'] * 0.9)}").scalar()
        prefix = item_code[:7]
        like = "ILIKE" if dialect == "postgresql" else "LIKE"
        c_cols = "c.*"
        today = dt.date.today().isoformat()

        def q(s):
            return s.replace("{like}", like)

        scenarios = [
            Scenario("注册证 picker: 注册备案号 contains", f"/national/picker/certificates?next=/x&number={cert_no[4:12]}",
                     lambda: national.search_certificates({"number": cert_no[4:12]}),
                     f"SELECT {c_cols} FROM national_certificate c WHERE c.number LIKE '%{cert_no[4:12]}%' "
                     f"ORDER BY c.number LIMIT 21", 100),
            Scenario("注册证 picker: 产品名称 contains", "/national/picker/certificates?next=/x&product_name=球囊",
                     lambda: national.search_certificates({"product_name": "球囊"}),
                     f"SELECT {c_cols} FROM national_certificate c WHERE c.product_name_fold LIKE '%球囊%' "
                     f"ORDER BY c.number LIMIT 21", 100),
            Scenario("注册证 picker: 注册人 contains (Latin, any case)",
                     "/national/picker/certificates?next=/x&registrant=MEDTRONIC",
                     lambda: national.search_certificates({"registrant": "MEDTRONIC"}),
                     f"SELECT {c_cols} FROM national_certificate c WHERE c.registrant_fold LIKE '%medtronic%' "
                     f"ORDER BY c.number LIMIT 21", 100),
            Scenario("(the same with ILIKE on the name, no folded column)", None, None,
                     q(f"SELECT {c_cols} FROM national_certificate c WHERE c.registrant {{like}} '%MEDTRONIC%' "
                       f"ORDER BY c.number LIMIT 21"), 100, "bare"),
            Scenario("注册证 picker: 注册人 contains (rare)", f"/national/picker/certificates?next=/x&registrant={registrant[2:8]}",
                     lambda: national.search_certificates({"registrant": registrant[2:8]}),
                     f"SELECT {c_cols} FROM national_certificate c WHERE c.registrant_fold LIKE '%{registrant[2:8]}%' "
                     f"ORDER BY c.number LIMIT 21", 100),
            Scenario("注册证 picker: 进口 + 有效期内", "/national/picker/certificates?next=/x&origin=imported&validity=valid",
                     lambda: national.search_certificates({"origin": "imported", "validity": "valid"}),
                     f"SELECT {c_cols} FROM national_certificate c WHERE c.origin = 'imported' "
                     f"AND (c.valid_to IS NULL OR c.valid_to >= '{today}') AND (c.valid_from IS NULL OR "
                     f"c.valid_from <= '{today}') ORDER BY c.number LIMIT 21", 100),
            Scenario("单件 picker: 20位码 prefix", f"/national/picker/items?next=/x&code={prefix}",
                     lambda: national.search_items({"code": prefix}),
                     f"SELECT i.*, c.* FROM national_item i JOIN national_certificate c ON c.id = i.certificate_id "
                     f"WHERE i.code >= '{prefix}' AND i.code < '{national_upper(prefix)}' ORDER BY i.code LIMIT 21", 100),
            Scenario("单件 picker: 注册备案号 exact", f"/national/picker/items?next=/x&certificate={cert_no}",
                     lambda: national.search_items({"certificate": cert_no}),
                     f"SELECT i.*, c.* FROM national_item i JOIN national_certificate c ON c.id = i.certificate_id "
                     f"WHERE c.number = '{cert_no}' ORDER BY i.code LIMIT 21", 100),
            Scenario("规格型号 picker: 20位码 (one item)", f"/national/picker/specs?next=/x&item={item_code}",
                     lambda: national.search_specs({"item": item_code}),
                     f"SELECT s.*, i.*, c.* FROM national_spec s JOIN national_item i ON i.id = s.item_id "
                     f"JOIN national_certificate c ON c.id = i.certificate_id WHERE s.code >= '{item_code}' "
                     f"AND s.code < '{national_upper(item_code)}' ORDER BY s.code LIMIT 21", 100),
            Scenario("规格型号 picker: prefix + 规格型号 text", f"/national/picker/specs?next=/x&code={prefix}&text=fr",
                     lambda: national.search_specs({"code": prefix, "text": "fr"}),
                     q(f"SELECT s.*, i.*, c.* FROM national_spec s JOIN national_item i ON i.id = s.item_id "
                       f"JOIN national_certificate c ON c.id = i.certificate_id WHERE s.code >= '{prefix}' "
                       f"AND s.code < '{national_upper(prefix)}' AND (s.spec {{like}} '%fr%' OR s.model {{like}} '%fr%') "
                       f"ORDER BY s.code LIMIT 21"), 100),
            Scenario("规格型号 picker: 单件名称 contains", "/national/picker/specs?next=/x&name=球囊扩张",
                     lambda: national.search_specs({"name": "球囊扩张"}),
                     "SELECT s.*, i.*, c.* FROM national_spec s JOIN national_item i ON i.id = s.item_id "
                     "JOIN national_certificate c ON c.id = i.certificate_id WHERE s.item_id IN "
                     "(SELECT id FROM national_item WHERE name LIKE '%球囊扩张%') ORDER BY s.code LIMIT 21", 100),
            Scenario("规格型号 picker: 注册备案号 exact", f"/national/picker/specs?next=/x&certificate={cert_no}",
                     lambda: national.search_specs({"certificate": cert_no}),
                     f"SELECT s.*, i.*, c.* FROM national_spec s JOIN national_item i ON i.id = s.item_id "
                     f"JOIN national_certificate c ON c.id = i.certificate_id WHERE c.number = '{cert_no}' "
                     f"ORDER BY s.code LIMIT 21", 100),
            Scenario("注册证 list: first page", "/admin/national/certificates/",
                     lambda: national.search_certificates({}),
                     f"SELECT {c_cols} FROM national_certificate c ORDER BY c.number LIMIT 21", 250, "list"),
            Scenario("注册证 list: deep page (90%)", f"/admin/national/certificates/?after={deep_cert}",
                     lambda: national.search_certificates({}, after=deep_cert),
                     f"SELECT {c_cols} FROM national_certificate c WHERE c.number > '{deep_cert}' "
                     f"ORDER BY c.number LIMIT 21", 250, "list"),
            Scenario("规格型号 list: first page", "/admin/national/specs/",
                     lambda: national.search_specs({}),
                     "SELECT s.*, i.*, c.* FROM national_spec s JOIN national_item i ON i.id = s.item_id "
                     "JOIN national_certificate c ON c.id = i.certificate_id ORDER BY s.code LIMIT 21", 250, "list"),
            Scenario("规格型号 list: deep page (90%)", f"/admin/national/specs/?after={deep_spec}",
                     lambda: national.search_specs({}, after=deep_spec),
                     f"SELECT s.*, i.*, c.* FROM national_spec s JOIN national_item i ON i.id = s.item_id "
                     f"JOIN national_certificate c ON c.id = i.certificate_id WHERE s.code > '{deep_spec}' "
                     f"ORDER BY s.code LIMIT 21", 250, "list"),
        ]
        db.session.commit()

        client = app.test_client()
        resp = client.post("/login/", data={"username": "benchadmin", "password": "Bench12345"})
        assert resp.status_code == 302, "benchmark admin could not log in"
        raw = db.engine.raw_connection()
        try:
            for sc in scenarios:
                if sc.kind == "bare":
                    def bare_only(sql=sc.bare):
                        cur = raw.cursor()
                        cur.execute(sql)
                        cur.fetchall()
                        cur.close()

                    rows.append((label, sc, None, None, timed(bare_only, repeat), None))
                    continue

                def page():
                    r = client.get(sc.url)
                    assert r.status_code == 200, (sc.url, r.status_code)

                def search():
                    sc.search()
                    db.session.rollback()  # never serve from the identity map

                def bare():
                    cur = raw.cursor()
                    cur.execute(sc.bare)
                    cur.fetchall()
                    cur.close()

                captured = capture_sql(db.engine, search)

                def app_sql():
                    cur = raw.cursor()
                    for statement, params in captured:
                        cur.execute(statement, params)
                        cur.fetchall()
                    cur.close()

                page_ms, search_ms, app_ms, bare_ms = interleaved([page, search, app_sql, bare], repeat)
                rows.append((label, sc, page_ms, search_ms, bare_ms, app_ms))
                log(f"[{label}] {sc.label}: page p95 {percentile(page_ms, 95):.1f} ms, "
                    f"search p95 {percentile(search_ms, 95):.1f} ms, app SQL p95 {percentile(app_ms, 95):.1f} ms, "
                    f"bare p95 {percentile(bare_ms, 95):.1f} ms")
            # what FAB's default paging would cost on the deep spec page: COUNT(*) + OFFSET
            fab_sql = ["SELECT count(*) FROM national_spec",
                       f"SELECT * FROM national_spec ORDER BY code LIMIT 20 OFFSET {int(sizes['specs'] * 0.9)}"]

            def fab():
                cur = raw.cursor()
                for sql in fab_sql:
                    cur.execute(sql)
                    cur.fetchall()
                cur.close()

            fab_ms = timed(fab, max(5, repeat // 3))
            rows.append((label, Scenario("(FAB default: COUNT(*) + OFFSET, deep spec page)", None, None, "", 250,
                                         "fab"), None, None, fab_ms, None))
        finally:
            raw.close()

        rows.append((label, "import", *measure_import(app, item_code, import_rows, log, label)))
        rows.append((label, "sizes", sizes))
        db.session.remove()
        db.engine.dispose()
    return rows


def national_upper(prefix: str) -> str:
    digits = prefix[1:].rstrip("9")
    return "D" if not digits else "C" + digits[:-1] + str(int(digits[-1]) + 1)


def measure_import(app, item_code: str, n_rows: int, log, label: str):
    """Import n_rows new spec/models (under existing items) from .xlsx vs only reading the file."""
    import openpyxl
    from sqlalchemy import select

    from app.extensions import db
    from app.models import NationalItem
    from app.services.national_import import import_file

    codes = list(db.session.scalars(select(NationalItem.code).order_by(NationalItem.id).limit(max(1, n_rows // 5))))
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("规格型号")
    ws.append(["27位码", "20位码", "规格", "型号"])
    written = 0
    for code in codes:
        for s in range(5, 10):
            if written >= n_rows:
                break
            ws.append([f"{code}{s:07d}", code, f"{s}Fr", f"IMP-{s:02d}"])
            written += 1
    path = os.path.join(tempfile.gettempdir(), f"bench_import_{uuid.uuid4().hex[:6]}.xlsx")
    wb.save(path)
    try:
        started = time.perf_counter()
        reader = openpyxl.load_workbook(path, read_only=True, data_only=True)
        sum(1 for _ in reader.worksheets[0].iter_rows(values_only=True))
        reader.close()
        read_s = time.perf_counter() - started
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        result = import_file(path, origin="cli")
        import_s = time.perf_counter() - started
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        # the import's own memory: a re-import of the same file (read, check, compare) under tracemalloc
        import tracemalloc

        tracemalloc.start()
        import_file(path, origin="cli")
        peak_mb = tracemalloc.get_traced_memory()[1] / 1024 / 1024
        tracemalloc.stop()
    finally:
        os.unlink(path)
    log(f"[{label}] import of {written:,} spec/model rows: {import_s:.1f} s "
        f"({result.total.inserted:,} inserted, {result.total.rejected} rejected); openpyxl read alone {read_s:.1f} s")
    return written, import_s, read_s, result.total.inserted, rss_before, rss_after, peak_mb


def render(results: list[tuple], started: float) -> str:
    lines = []
    for label in dict.fromkeys(r[0] for r in results):
        mine = [r for r in results if r[0] == label]
        sizes = next(r[2] for r in mine if r[1] == "sizes")
        lines.append(f"\n### {label}: {sizes['certificates']:,} certificates, {sizes['items']:,} single items, "
                     f"{sizes['specs']:,} spec/models\n")
        if label == "SQLite":
            lines.append("(SPEC §5's targets are set for PostgreSQL; SQLite, the development database, is checked "
                         "against the same numbers for reference.)\n")
        lines.append("| measurement | page p50 | page p95 | search p50 | search p95 | app SQL p95 | bare SQL p50 "
                     "| bare SQL p95 | app SQL / bare (p95) | search / bare (p95) | target (SPEC §5) |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for row in mine:
            if row[1] in ("import", "sizes"):
                continue
            _, sc, page_ms, search_ms, bare_ms, app_ms = row
            if sc.kind in ("fab", "bare"):
                lines.append(f"| {sc.label} | | | | | | {percentile(bare_ms, 50):.1f} | {percentile(bare_ms, 95):.1f} "
                             f"| | | |")
                continue
            bare95 = max(percentile(bare_ms, 95), 0.001)
            if sc.kind == "picker":  # SPEC §5: the search p95 ≤ 100 ms, and within 3× the bare query
                met = percentile(search_ms, 95) <= sc.target_ms and (
                    percentile(app_ms, 95) <= 3 * bare95 or percentile(app_ms, 95) - bare95 < 1.0)
                target = f"search ≤ {sc.target_ms:.0f} ms, SQL ≤ 3× bare"
            else:  # list pages: the whole page p95 ≤ 250 ms
                met = percentile(page_ms, 95) <= sc.target_ms
                target = f"page ≤ {sc.target_ms:.0f} ms"
            ok = "ok" if met else "MISSED"
            lines.append(f"| {sc.label} | {percentile(page_ms, 50):.1f} | {percentile(page_ms, 95):.1f} | {percentile(search_ms, 50):.1f} "
                         f"| {percentile(search_ms, 95):.1f} | {percentile(app_ms, 95):.1f} | "
                         f"{percentile(bare_ms, 50):.1f} | {percentile(bare_ms, 95):.1f} | "
                         f"{percentile(app_ms, 95) / bare95:.1f}× | {percentile(search_ms, 95) / bare95:.1f}× | "
                         f"{target}: {ok} |")
        imp = next(r for r in mine if r[1] == "import")
        written, import_s, read_s, inserted, rss_before, rss_after, peak_mb = imp[2:9]
        lines.append("")
        lines.append(f"Import of {written:,} spec/model rows (.xlsx, through `import_file`): {import_s:.2f} s = "
                     f"{written / import_s:,.0f} rows/s; reading the same file with openpyxl alone: {read_s:.2f} s "
                     f"= {written / max(read_s, 0.001):,.0f} rows/s; ratio {import_s / max(read_s, 0.001):.1f}×. "
                     f"Peak Python memory of a re-import of the same file (tracemalloc): {peak_mb:.0f} MB.")
    lines.append(f"\nTimes in ms over {common.REPEAT} runs after 3 warm-ups. page = the whole HTTP request through Flask "
                 "(test client, logged-in admin, template rendered); search = the service call behind it (ORM objects, 20 "
                 "rows + the next-page probe row); app SQL = the exact SQL that search sends, replayed on the raw DB-API "
                 "connection; bare SQL = a hand-written indexed query of the same filter on the same connection. "
                 "A query under 1 ms counts as within 3× of its bare query (the difference is below timer noise). "
                 f"Machine: {machine()}. Total run {time.perf_counter() - started:,.0f} s.")
    return "\n".join(lines)


def national_benchmarks(args, import_rows: int, pg: str | None, log) -> list[tuple]:
    per_db = on_each_database(
        args, pg, args.sqlite_path,
        lambda label, url: bench_database(label, url, args.scale, args.repeat, import_rows, log), log)
    return [row for rows in per_db for row in rows]
