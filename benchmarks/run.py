"""`make bench` (= ``python -m benchmarks``): every benchmark group, printed as Markdown tables with
the ratio to a bare baseline.  The groups live in their own modules; this is the command line."""
from __future__ import annotations

import argparse
import os
import sys
import time

from benchmarks import common, national, national_load, overview, products
from benchmarks.common import ROOT, on_each_database


def product_benchmarks(args, pg: str | None, log) -> list[str]:
    """Issue 6's figures (``benchmarks/products.py``) on their own fresh databases."""
    return on_each_database(args, pg, args.sqlite_path.replace(".db", "-products.db"),
                            lambda label, url: products.run(label, url, log), log)


def overview_benchmarks(args, pg: str | None, log) -> list[str]:
    """Issue 16's figures (``benchmarks/overview.py``) on their own fresh databases."""
    return on_each_database(args, pg, args.sqlite_path.replace(".db", "-overview.db"),
                            lambda label, url: overview.run(label, url, log), log)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--scale", type=float, default=float(os.environ.get("BENCH_SCALE", "1")),
                        help="data size factor (1 = 100,000 certificates / 1,000,000 spec/models)")
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("BENCH_REPEAT", common.REPEAT)))
    parser.add_argument("--import-rows", type=int, default=None,
                        help="spec/model rows in the import file (default 20,000 × scale, at least 1,000)")
    parser.add_argument("--sqlite-path", default=os.path.join(ROOT, "instance", "bench.db"))
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file afterwards")
    parser.add_argument("--only", choices=("national", "products", "load", "overview"), default=None,
                        help="run only the national-data benchmarks, the product ones, the release loader or the overview pages")
    parser.add_argument("--load-sizes", default=os.environ.get("BENCH_LOAD_SIZES", "100000,200000,1000000"),
                        help="spec/model rows of the synthetic releases the loader imports (comma-separated)")
    args = parser.parse_args(argv)
    common.REPEAT = args.repeat
    import_rows = args.import_rows or max(1000, int(20_000 * args.scale))
    started = time.perf_counter()

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    import logging

    logging.disable(logging.INFO)
    results = []
    product_tables: list[str] = []
    pg = os.environ.get("BENCH_DATABASE_URL")
    os.makedirs(os.path.dirname(args.sqlite_path), exist_ok=True)  # a fresh clone has no instance/ yet
    if args.only in (None, "national"):
        results += national.national_benchmarks(args, import_rows, pg, log)
    if args.only in (None, "products"):
        product_tables += product_benchmarks(args, pg, log)
    if args.only in (None, "load"):
        sizes = [int(n) for n in args.load_sizes.split(",") if n.strip()]
        sqlite_dir = None if args.skip_sqlite else os.path.dirname(args.sqlite_path)
        product_tables.append(national_load.run(sizes, pg, sqlite_dir, log))
    if args.only in (None, "overview"):
        product_tables += overview_benchmarks(args, pg, log)
    out = national.render(results, started) if results else ""
    print("\n".join([out, *product_tables]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
