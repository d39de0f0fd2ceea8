"""Benchmarks of the national code data at scale (SPEC §5): ``python -m benchmarks``.

Generates 100,000 certificates, 250,000 single items and 1,000,000 spec/model
rows (synthetic, realistic shape) into a scratch SQLite file — and into a
scratch PostgreSQL database created on the server of ``BENCH_DATABASE_URL``
when that is set — then prints p50/p95 of every picker search and list page
next to a bare indexed SQL query of the same filter, and the import rate next
to merely reading the same file with openpyxl.  ``BENCH_SCALE`` (e.g. 0.1)
shrinks the data set.

Then ``benchmarks/products.py`` (issue 6): the import of 10,000 packaging rows
through the upload's code path beside a bare openpyxl read, and 耗材产品查询 over
1,000,000 effective products (``BENCH_IMPORT_ROWS`` / ``BENCH_PRODUCTS``).
Then ``benchmarks/national_load.py`` (issue 14): the release loader at growing sizes
(``--load-sizes`` / ``BENCH_LOAD_SIZES``, spec/model rows, default 100,000, 200,000 and
1,000,000), each on a fresh database, beside a bare COPY of the same CSV files, with the
growth factor and the re-import of the identical release.

Then ``benchmarks/overview.py`` (issue 16): the queries of 平台概览, 我的待办 and 资质概览
at 1,000,000 products and 100,000 records beside the same aggregates in bare SQL
(``BENCH_OVERVIEW_PRODUCTS`` / ``BENCH_OVERVIEW_RECORDS``).
``--only national``, ``--only products``, ``--only load`` or ``--only overview`` runs one part.
"""
