"""Benchmarks of issue 6: packaging import (10,000 rows) and 耗材产品查询 at 1,000,000 products.

The import goes through ``product_import.import_packaging`` — the code path of
the upload — and is compared with a bare openpyxl read-only pass over the same
file.  The query runs ``product_query.search`` for each filter, first and deep
page, next to a bare SQL query of the same filter.
"""
from __future__ import annotations

import datetime as dt
import gc
import io
import os
import statistics
import time
import tracemalloc

from openpyxl import Workbook, load_workbook
from sqlalchemy import insert, select, text

IMPORT_ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "10000"))
PRODUCTS = int(os.environ.get("BENCH_PRODUCTS", "1000000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "20"))
ITEMS = 500
SPECS_PER_ITEM = IMPORT_ROWS // ITEMS + 1


def _p(values):
    values = sorted(values)
    p95 = values[max(0, int(round(0.95 * len(values))) - 1)]
    return statistics.median(values) * 1000, p95 * 1000


def _time(fn, repeat=REPEAT):
    fn()  # warm
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return _p(samples)


def _setup_unit(db):
    from app.models import AppUser, Unit, UserKind
    from app.models.dictionary import MEASURE_UNIT, PACKAGE_UNIT, DictionaryEntry
    from app.models.national import NationalCertificate, NationalItem, NationalSpec
    from app.models.product import QualItem
    from app.services.registration import hash_password

    unit = Unit(category="enterprise", name="基准测试医疗器械有限公司", credit_code="91440101MA59C8Y8A4",
                contact_name="张三", contact_id_number="11010519491231002X", contact_phone="13800138000",
                unit_role="manufacturer")
    user = AppUser(username="bench2024", first_name="bench", last_name="", email="bench@unit.invalid",
                   password=hash_password("Bench12345"), active=True, kind=UserKind.UNIT.value, unit=unit)
    db.session.add_all([unit, user])
    for i, name in enumerate(("支", "个", "片")):
        db.session.add(DictionaryEntry(category=MEASURE_UNIT, name=name, sort_order=i, active=True))
    for i, name in enumerate(("盒", "箱", "袋")):
        db.session.add(DictionaryEntry(category=PACKAGE_UNIT, name=name, sort_order=i, active=True))
    cert = NationalCertificate(number="粤械注准20152669999", product_name="基准导管", registrant=unit.name,
                               management_class="II", origin="domestic", valid_from=dt.date(2020, 1, 1),
                               valid_to=dt.date(2035, 1, 1))
    db.session.add(cert)
    db.session.flush()
    item_codes = [f"C09010101{n:011d}" for n in range(ITEMS)]
    db.session.execute(insert(NationalItem), [
        {"code": c, "name": f"基准导管{n}", "certificate_id": cert.id, "enterprise": unit.name}
        for n, c in enumerate(item_codes)])
    ids = dict(db.session.execute(select(NationalItem.code, NationalItem.id)).all())
    db.session.execute(insert(NationalSpec), [
        {"code": f"{c}{s:07d}", "item_id": ids[c], "spec": f"{s}Fr", "model": f"M{s}"}
        for c in item_codes for s in range(1, SPECS_PER_ITEM + 1)])
    db.session.execute(insert(QualItem), [{"unit_id": unit.id, "code": c} for c in item_codes])
    db.session.commit()
    return user, item_codes


def _workbook(item_codes) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("耗材产品包装")
    ws.append(["27位耗材医保编码", "最小计量单位", "最小包装单位", "最小包装转换比", "中包装单位", "中包装转换比"])
    n = 0
    for s in range(1, SPECS_PER_ITEM + 1):
        for c in item_codes:
            if n == IMPORT_ROWS:
                break
            ws.append([f"{c}{s:07d}", "支", "盒", 10, "箱", 20])
            n += 1
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def bench_import(app) -> list[tuple]:
    from app.extensions import db
    from app.models import QualProduct
    from app.services import product_import

    with app.app_context():
        user, item_codes = _setup_unit(db)
        data = _workbook(item_codes)

        t = time.perf_counter()
        wb = load_workbook(io.BytesIO(data), read_only=True)
        bare_rows = sum(1 for _ in wb.worksheets[0].iter_rows(values_only=True))
        wb.close()
        bare = time.perf_counter() - t

        gc.collect()
        t = time.perf_counter()
        result = product_import.import_packaging(user, io.BytesIO(data), "bench.xlsx")
        wall = time.perf_counter() - t
        assert result.saved == IMPORT_ROWS, (result.saved, result.rejected[:3])

        db.session.execute(QualProduct.__table__.delete())
        from app.models import WorkflowHistory
        db.session.execute(WorkflowHistory.__table__.delete())
        db.session.commit()
        tracemalloc.start()
        product_import.import_packaging(user, io.BytesIO(data), "bench.xlsx")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return [
        ("import", f"{IMPORT_ROWS:,} packaging rows, end to end", f"{wall:.2f} s", f"bare openpyxl read: {bare:.2f} s "
         f"({bare_rows:,} rows)", f"{wall / bare:.1f}×", "≤ 10 s, ≤ 3×"),
        ("import", "peak Python memory (tracemalloc)", f"{peak / 1e6:.0f} MB", "", "", "≤ 300 MB"),
    ]


def _fill_products(app, total: int) -> None:
    from app.extensions import db
    from app.models import QualItem, QualProduct, Unit

    with app.app_context():
        unit_ids = []
        for n in range(20):
            u = Unit(category="enterprise", name=f"基准企业{n:02d}有限公司", credit_code=f"B{n:017d}",
                     contact_name="x", contact_id_number="x", contact_phone="13800000000", unit_role="manufacturer")
            db.session.add(u)
            db.session.flush()
            unit_ids.append(u.id)
        items = db.session.execute(select(QualItem.id, QualItem.code)).all()
        now = dt.datetime(2026, 1, 1)
        batch = []
        for n in range(total):
            item_id, code = items[n % len(items)]
            batch.append({"unit_id": unit_ids[n % len(unit_ids)], "item_id": item_id,
                          "code": f"{code}{n // len(items) + 1:07d}", "min_unit": "支", "pack_unit": "盒",
                          "pack_ratio": 10, "state": "effective", "version": 1, "created_at": now,
                          "source": "import"})
            if len(batch) == 20000:
                db.session.execute(insert(QualProduct), batch)
                batch = []
        if batch:
            db.session.execute(insert(QualProduct), batch)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))


def bench_query(app) -> list[tuple]:  # noqa: C901
    from app.extensions import db
    from app.models import QualProduct
    from app.services import product_query

    t = time.perf_counter()
    _fill_products(app, PRODUCTS)
    fill = time.perf_counter() - t
    rows = [("product query", f"fill {PRODUCTS:,} effective products", f"{fill:.1f} s", "", "", "")]
    with app.app_context():
        deep = db.session.scalar(select(QualProduct.id).order_by(QualProduct.id.desc()).limit(1)) - 100
        cases = {
            "code prefix C0901010100000000012": ({"code": "C0901010100000000012"},
                                                   "SELECT id FROM qual_product WHERE state='effective' AND code >= "
                                                   "'C0901010100000000012' AND code < 'C0901010100000000013' "
                                                   "ORDER BY id LIMIT 51"),
            "enterprise 基准企业07": ({"enterprise": "基准企业07"},
                                     "SELECT p.id FROM qual_product p JOIN unit u ON u.id=p.unit_id WHERE "
                                     "p.state='effective' AND u.name LIKE '%基准企业07%' ORDER BY p.id LIMIT 51"),
            "certificate 粤械注准2015266": ({"certificate": "粤械注准2015266"}, None),
            "no filter, first page": ({}, "SELECT id FROM qual_product WHERE state='effective' ORDER BY id LIMIT 51"),
        }
        for label, (filters, bare_sql) in cases.items():
            p50, p95 = _time(lambda: product_query.search(filters))
            bare = ""
            ratio = ""
            if bare_sql:
                b50, b95 = _time(lambda: db.session.execute(text(bare_sql)).all())
                bare = f"{b50:.1f} / {b95:.1f} ms"
                ratio = f"{p95 / max(b95, 0.01):.1f}×"
            rows.append(("product query", label, f"{p50:.1f} / {p95:.1f} ms", bare, ratio, "p95 ≤ 100 ms"))
        p50, p95 = _time(lambda: product_query.search({}, after=deep))
        b50, b95 = _time(lambda: db.session.execute(text(
            f"SELECT id FROM qual_product WHERE state='effective' AND id > {deep} ORDER BY id LIMIT 51")).all())
        rows.append(("product query", "deep page (keyset)", f"{p50:.1f} / {p95:.1f} ms", f"{b50:.1f} / {b95:.1f} ms",
                     f"{p95 / max(b95, 0.01):.1f}×", "p95 ≤ 100 ms"))
    return rows


def run(label: str, url: str, log) -> str:
    """Both product benchmarks on a fresh schema at ``url``; a markdown table."""
    from flask_appbuilder import Model

    from benchmarks.common import make_app
    from app.extensions import db
    from app.security.roles import sync_roles

    app = make_app(url)
    with app.app_context():
        Model.metadata.drop_all(db.engine)
        Model.metadata.create_all(db.engine)
        sync_roles()
    log(f"[{label}] products: importing {IMPORT_ROWS:,} packaging rows")
    rows = bench_import(app)
    log(f"[{label}] products: filling {PRODUCTS:,} effective products for 耗材产品查询")
    rows += bench_query(app)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    lines = [f"\n### {label}: 耗材产品 import and 耗材产品查询\n",
             "| area | measurement | result (p50 / p95) | bare | ratio | target (SPEC §5) |", "|---|---|---:|---|---:|---|"]
    lines += [f"| {' | '.join(str(c) for c in row)} |" for row in rows]
    return "\n".join(lines)
