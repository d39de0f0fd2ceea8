"""The national release loader at growing sizes, each on a FRESH database (issue 14).

For every size (spec/model rows; certificates = 1/20 and single items = 1/4 of it, the
shape of the issue's measurements) a synthetic release is written as CSV files of at most
1,000,000 rows each, then on a new scratch database:

- **bare COPY**: the same files streamed into plain text tables with psycopg's COPY (no
  checks, no indexes; the median of three runs) — the floor any loader is compared with
  (PostgreSQL only); every timed phase starts after a CHECKPOINT (where the role may), so
  that the buffers one phase dirtied are not written while the next is timed;
- **import**: ``import_release`` end to end, exactly what ``flask national import DIR``
  runs (reading, every row check, staging, duplicates, parents, upsert, import log);
- **re-import**: the identical release again (every row unchanged);
- **peak RSS**: the process's resident memory sampled every 0.1 s during the import,
  minus what it held before.

It prints rows/s, the ratio to COPY, the growth factor (time × per rows × from the
previous size: 1.0 is linear, 2.0 quadratic) and the re-import ratio.  Numbers only:
nothing here asserts a time.
"""
from __future__ import annotations

import csv
import os
import random
import shutil
import statistics
import tempfile
import threading
import time
from typing import Callable

from benchmarks.generate import CITIES, FOREIGN, PREFIXES, PRODUCTS, SPEC_FORMS, certificate_number, companies

COPY_RUNS = 3  # the bare COPY is timed this many times; the median is the baseline
FILE_ROWS = 1_000_000  # one .xlsx sheet holds at most 1,048,576 rows: releases come split
CERT_HEADERS = ["注册备案号", "注册备案产品名称", "注册人名称", "生产地址", "管理类别", "有效期开始", "有效期结束",
                "结构及组成", "适用范围", "境内/进口"]
ITEM_HEADERS = ["20位码", "单件名称", "一级分类", "二级分类", "三级分类", "通用名", "材质", "特征", "企业名称",
                "注册备案号"]
SPEC_HEADERS = ["27位码", "20位码", "规格", "型号"]
ORIGIN = {"domestic": "境内", "imported": "进口"}


def write_release(folder: str, n_specs: int, seed: int = 42) -> dict[str, int]:
    """certificates.csv, items.csv and specs_NN.csv (≤ FILE_ROWS rows each) in ``folder``."""
    rng = random.Random(seed)
    names = companies(rng, 5000)
    n_certs = max(1, n_specs // 20)
    n_items = max(1, n_specs // 4)
    numbers = []
    with open(os.path.join(folder, "certificates.csv"), "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(CERT_HEADERS)
        for i in range(n_certs):
            number, cls, origin = certificate_number(i)
            numbers.append(number)
            year = 2015 + i % 9
            registrant = rng.choice(FOREIGN) if origin == "imported" else names[rng.randrange(len(names))]
            out.writerow([number, rng.choice(PREFIXES) + rng.choice(PRODUCTS), registrant,
                          rng.choice(CITIES) + f"市高新区科技路{rng.randint(1, 999)}号", cls, f"{year}-03-01",
                          "" if cls == "I" else f"{year + 5}-02-28", "由管体、接头、保护套组成。", "供临床使用。",
                          ORIGIN[origin]])
    item_codes = []
    with open(os.path.join(folder, "items.csv"), "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(ITEM_HEADERS)
        for j in range(n_items):
            l1, l2, l3 = rng.randint(1, 17), rng.randint(1, 12), rng.randint(1, 25)
            generic, material, feature = 1 + j // 100_000, rng.randint(0, 9), rng.randint(0, 20)
            code = f"C{l1:02d}{l2:02d}{l3:02d}{generic:03d}{material:02d}{feature:03d}{j % 100_000:05d}"
            item_codes.append(code)
            out.writerow([code, rng.choice(PRODUCTS), f"{l1:02d}-一级分类", f"{l2:02d}-二级分类", f"{l3:02d}-三级分类",
                          f"{generic:03d}-通用名", f"{material:02d}-材质", f"{feature:03d}-特征",
                          names[rng.randrange(len(names))], numbers[j % n_certs]])
    written, part, fh, out = 0, 0, None, None
    for code in item_codes:
        for s in range(1, 5):
            if written % FILE_ROWS == 0:
                if fh:
                    fh.close()
                part += 1
                fh = open(os.path.join(folder, f"specs_{part:02d}.csv"), "w", newline="", encoding="utf-8")
                out = csv.writer(fh)
                out.writerow(SPEC_HEADERS)
            a, b = rng.randint(1, 30), rng.choice([10, 20, 40, 60, 80, 100, 150])
            out.writerow([f"{code}{s:07d}", code, rng.choice(SPEC_FORMS).format(a=a, b=b),
                          f"{rng.choice('ABCDEFGHKMPRST')}{rng.choice('ABCDEFGHKMPRST')}-{a:02d}{b:03d}"])
            written += 1
    if fh:
        fh.close()
    return {"certificates": n_certs, "items": n_items, "specs": written}


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class PeakRss:
    """The peak resident memory above the starting level while the block runs."""

    def __enter__(self):
        self.start = rss_mb()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, rss_mb())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())

    @property
    def extra(self) -> float:
        return self.peak - self.start


def _conninfo(url: str) -> str:
    from sqlalchemy.engine import make_url

    u = make_url(url)
    conninfo = f"host={u.host or '127.0.0.1'} port={u.port or 5432} dbname={u.database} user={u.username or 'postgres'}"
    if u.password:
        conninfo += f" password={u.password}"
    return conninfo


def checkpoint(url: str) -> None:
    """Write out what the previous phase left in the buffers (CHECKPOINT), so that it is not written
    while the next phase is timed; skipped where the role may not (it needs pg_checkpoint or superuser)."""
    if not url.startswith("postgresql"):
        return
    import psycopg

    with psycopg.connect(_conninfo(url), autocommit=True) as conn:
        try:
            conn.execute("CHECKPOINT")
        except psycopg.Error:
            pass


def bare_copy(url: str, folder: str) -> float:
    """COPY every CSV of the release into plain text tables: seconds."""
    import psycopg

    files = sorted(os.listdir(folder))
    checkpoint(url)
    with psycopg.connect(_conninfo(url)) as conn:
        started = time.perf_counter()
        for n, name in enumerate(files):
            with open(os.path.join(folder, name), "rb") as fh:
                columns = len(fh.readline().decode("utf-8").split(","))
                fh.seek(0)
                conn.execute(f"CREATE TABLE bare_{n} ({', '.join(f'c{i} text' for i in range(columns))})")
                with conn.cursor().copy(f"COPY bare_{n} FROM STDIN WITH (FORMAT csv, HEADER)") as copy:
                    while chunk := fh.read(1 << 20):
                        copy.write(chunk)
        conn.commit()
        elapsed = time.perf_counter() - started
        for n in range(len(files)):
            conn.execute(f"DROP TABLE bare_{n}")
        conn.commit()
    return elapsed


def run_size(label: str, url: str, n_specs: int, workdir: str, log: Callable[[str], None]) -> dict:
    from flask_appbuilder import Model

    from app.extensions import db
    from app.services.national_import import expand_paths, import_release
    from benchmarks.common import make_app

    folder = os.path.join(workdir, f"release_{n_specs}")
    os.makedirs(folder, exist_ok=True)
    log(f"[{label}] writing a release of {n_specs:,} spec/model rows")
    shape = write_release(folder, n_specs)
    rows = sum(shape.values())
    app = make_app(url)
    out = {"label": label, "specs": shape["specs"], "rows": rows}
    with app.app_context():
        Model.metadata.create_all(db.engine)
        # the median of three runs: one COPY of a few hundred thousand rows takes a fraction of a
        # second, and a single run moves by a third from one try to the next on a shared machine
        out["copy_s"] = (statistics.median(bare_copy(url, folder) for _ in range(COPY_RUNS))
                         if url.startswith("postgresql") else None)
        sources = expand_paths([folder], workdir)
        log(f"[{label}] importing {rows:,} rows")
        checkpoint(url)
        with PeakRss() as peak:
            started = time.perf_counter()
            result = import_release(sources, label=os.path.basename(folder), limit=0)
            out["import_s"] = time.perf_counter() - started
        out["rss_mb"] = peak.extra
        t = result.total
        out["counts"] = (t.inserted, t.updated, t.unchanged, t.rejected)
        log(f"[{label}] {out['import_s']:.1f} s; re-importing")
        checkpoint(url)
        started = time.perf_counter()
        again = import_release(sources, label=os.path.basename(folder), limit=0)
        out["reimport_s"] = time.perf_counter() - started
        out["again"] = (again.total.inserted, again.total.updated, again.total.unchanged, again.total.rejected)
        db.session.remove()
        db.engine.dispose()
    shutil.rmtree(folder, ignore_errors=True)
    return out


def render(results: list[dict]) -> str:
    lines = ["| database | spec rows | all rows | import | rows/s | bare COPY | import / COPY | growth (time × ÷ rows ×) "
             "| re-import | re-import / import | peak RSS added | inserted / unchanged (re-import) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    previous: dict[str, dict] = {}
    for r in results:
        prev = previous.get(r["label"])
        growth = ""
        if prev:
            growth = f"{(r['import_s'] / prev['import_s']) / (r['rows'] / prev['rows']):.2f}"
        copy = f"{r['copy_s']:.2f} s" if r["copy_s"] else ""
        ratio = f"{r['import_s'] / r['copy_s']:.1f}×" if r["copy_s"] else ""
        lines.append(f"| {r['label']} | {r['specs']:,} | {r['rows']:,} | {r['import_s']:.1f} s | "
                     f"{r['rows'] / r['import_s']:,.0f} | {copy} | {ratio} | {growth} | {r['reimport_s']:.1f} s | "
                     f"{r['reimport_s'] / r['import_s']:.2f}× | {r['rss_mb']:.0f} MB | "
                     f"{r['counts'][0]:,} / {r['again'][2]:,} |")
        previous[r["label"]] = r
    return "\n".join(lines)


def run(sizes: list[int], pg: str | None, sqlite_dir: str | None, log) -> str:
    from benchmarks.common import scratch_postgres

    results = []
    workdir = tempfile.mkdtemp(prefix="national_load_")
    try:
        for n in sizes:
            if sqlite_dir:
                path = os.path.join(sqlite_dir, "bench-load.db")
                if os.path.exists(path):
                    os.unlink(path)
                try:
                    results.append(run_size("SQLite", "sqlite:///" + path, n, workdir, log))
                finally:
                    if os.path.exists(path):
                        os.unlink(path)
            if pg:
                url, drop = scratch_postgres(pg)
                try:
                    results.append(run_size("PostgreSQL", url, n, workdir, log))
                finally:
                    drop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    results.sort(key=lambda r: (r["label"], r["specs"]))
    return ("### National release import at growing sizes (fresh database each)\n\n" + render(results) +
            "\n\nTargets (issue 14, PostgreSQL): ≥ 50,000 rows/s end to end; import ≤ 10× the bare COPY of the same "
            "files; growth ≈ 1.0 (linear); re-import of the identical release ≤ 2× the import; peak RSS added ≤ 500 MB.")
