"""What every benchmark shares: timing, percentiles, the app on a given database, scratch
databases (a fresh SQLite file and, with BENCH_DATABASE_URL, a scratch PostgreSQL database)."""
from __future__ import annotations

import os
import platform
import sys
import time
import uuid
from typing import Callable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

#: runs per measurement (``--repeat`` / BENCH_REPEAT set it for the whole run)
REPEAT = 30


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    k = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    return interleaved([fn], repeat)[0]


def interleaved(fns: list[Callable[[], object]], repeat: int) -> list[list[float]]:
    """Time each function ``repeat`` times, round-robin, after 3 warm-ups each, so a burst
    of load on a shared machine hits every measurement of a scenario alike."""
    for fn in fns:
        for _ in range(3):
            fn()
    out: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for samples, fn in zip(out, fns):
            started = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - started) * 1000)
    return out


def machine() -> str:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        with open("/proc/meminfo") as fh:
            mem_kb = int(next(line.split()[1] for line in fh if line.startswith("MemTotal")))
        mem = f"{mem_kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, StopIteration):
        mem = ""
    return f"{cpu}, {os.cpu_count()} cores, {mem}, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def make_app(url: str):
    from config import TestConfig

    class BenchConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = url
        WTF_CSRF_ENABLED = False
        RATELIMIT_ENABLED = False
        AUTH_RATE_LIMITED = False

    from app import create_app

    return create_app(BenchConfig)


def scratch_postgres(base: str) -> tuple[str, Callable[[], None]]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"{os.environ.get('BENCH_DB_PREFIX', 'bench_')}{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(base).set(database=name).render_as_string(hide_password=False), drop


def capture_sql(engine, fn) -> list[tuple[str, object]]:
    """The statements (with their DB-API parameters) that ``fn`` sends to the database."""
    from sqlalchemy import event

    captured = []

    def spy(conn, cursor, statement, parameters, context, executemany):
        captured.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", spy)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", spy)
    return captured


def _remove_sqlite(path: str) -> None:
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.unlink(path + suffix)


def on_each_database(args, pg: str | None, sqlite_path: str, bench: Callable[[str, str], object], log) -> list:
    """``bench(label, url)`` on a fresh SQLite file and, with BENCH_DATABASE_URL, a scratch PostgreSQL database."""
    out = []
    if not args.skip_sqlite:
        os.makedirs(os.path.dirname(sqlite_path), exist_ok=True)
        _remove_sqlite(sqlite_path)
        try:
            out.append(bench("SQLite", "sqlite:///" + sqlite_path))
        finally:
            if not args.keep:
                _remove_sqlite(sqlite_path)
    if pg:
        url, drop = scratch_postgres(pg)
        try:
            out.append(bench("PostgreSQL", url))
        finally:
            drop()
    else:
        log("BENCH_DATABASE_URL not set: PostgreSQL skipped")
    return out
