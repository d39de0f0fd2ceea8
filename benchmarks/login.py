"""Login timing (issue 10 §6): an unknown account must cost what a wrong password costs.

``python -m benchmarks.login`` builds a fresh SQLite file (or uses ``BENCH_DATABASE_URL``'s
server, in a scratch database it creates and drops), hashes with the production method
(``PASSWORD_HASH_METHOD``, scrypt by default) and times ``auth.authenticate`` for an unknown
account, a wrong password and the right one, next to a bare ``check_password_hash`` — the
baseline every answer should be near.  Printed as a table with ratios to the baseline.
"""
from __future__ import annotations

import os
import statistics
import sys
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

REPEAT = int(os.environ.get("BENCH_REPEAT", "20"))


def _p(samples):
    values = sorted(samples)
    return statistics.median(values) * 1000, values[max(0, int(round(0.95 * len(values))) - 1)] * 1000


def main() -> int:
    from flask_appbuilder import Model
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from werkzeug.security import check_password_hash

    from config import TestConfig

    base = os.environ.get("BENCH_DATABASE_URL")
    drop = None
    if base:
        name = f"identity_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(base).set(database=name).render_as_string(hide_password=False)

        def drop():
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        os.makedirs(os.path.join(ROOT, "instance"), exist_ok=True)
        url = "sqlite:///" + os.path.join(ROOT, "instance", "bench-login.db")

    class BenchConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = url
        FAB_PASSWORD_HASH_METHOD = os.environ.get("PASSWORD_HASH_METHOD", "scrypt")
        LOGIN_MAX_FAILURES = 10 ** 6  # measure the check, not the lockout

    from app import create_app
    from app.extensions import db
    from app.security.roles import sync_roles
    from app.services import auth
    from app.services.errors import DomainError
    from tests.factories import PASSWORD, make_unit_user

    app = create_app(BenchConfig)
    try:
        with app.test_request_context():
            Model.metadata.drop_all(db.engine)
            Model.metadata.create_all(db.engine)
            sync_roles()
            user = make_unit_user(username="benchlogin1")
            stored = user.password

            def attempt(identifier, password):
                def run():
                    try:
                        auth.authenticate(identifier, password)
                    except DomainError:
                        pass
                return run

            def bare():
                check_password_hash(stored, "Wrong-pass1")

            rows = []
            for label, fn in (("bare check_password_hash (baseline)", bare),
                              ("unknown account", attempt("nobody2024x", "Wrong-pass1")),
                              ("existing account, wrong password", attempt("benchlogin1", "Wrong-pass1")),
                              ("existing account, right password", attempt("benchlogin1", PASSWORD))):
                fn()
                samples = []
                for _ in range(REPEAT):
                    t = time.perf_counter()
                    fn()
                    samples.append(time.perf_counter() - t)
                rows.append((label, *_p(samples)))
            base_p50 = rows[0][1]
            print(f"Login timing, {REPEAT} runs, hash {BenchConfig.FAB_PASSWORD_HASH_METHOD}, "
                  f"{make_url(url).get_backend_name()}")
            print("| measurement | p50 ms | p95 ms | p50 / baseline |")
            print("|---|---:|---:|---:|")
            for label, p50, p95 in rows:
                print(f"| {label} | {p50:.1f} | {p95:.1f} | {p50 / base_p50:.2f}× |")
            db.session.remove()
            Model.metadata.drop_all(db.engine)
            db.engine.dispose()
    finally:
        if drop:
            drop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
