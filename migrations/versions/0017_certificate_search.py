"""certificate searches at scale (issue 14 §4): trigram and (origin, number) indexes, PostgreSQL only

Revision ID: 0017_certificate_search
Revises: 0016_import_log
Create Date: 2026-12-02 15:00:00

The 注册备案号 / 产品名称 / 注册人 contains searches are ``LIKE '%term%'`` on ``number`` and the
lower-cased ``*_fold`` columns: pg_trgm GIN indexes serve them for terms of three characters or
more.  ``(origin, number)`` serves 进口 / 境内 (and the 境外代理 picker) in the pickers' number
order.  pg_trgm is a trusted extension: the database owner may create it.  SQLite keeps its
scans (nothing to do).  On a large table, building the indexes takes a while and locks writes
to national_certificate (not reads).
"""
from alembic import op


revision = '0017_certificate_search'
down_revision = '0016_import_log'
branch_labels = None
depends_on = None

TRIGRAM = ("number", "product_name_fold", "registrant_fold")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in TRIGRAM:
        op.create_index(f"ix_national_certificate_{column}_trgm", "national_certificate", [column],
                        unique=False, postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"})
    op.create_index("ix_national_certificate_origin_number", "national_certificate", ["origin", "number"],
                    unique=False)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_national_certificate_origin_number", table_name="national_certificate")
    for column in reversed(TRIGRAM):
        op.drop_index(f"ix_national_certificate_{column}_trgm", table_name="national_certificate")
    # pg_trgm stays: other objects (or another application's) may use it
