"""product import: the error log workbook, built once at import time

Revision ID: 0008_import_error_log
Revises: 0007_overview_indexes
Create Date: 2026-12-02 09:15:00

错误日志导出 used to rebuild the workbook from the stored rows on every download;
it is now built once when the import runs and stored with the import record.
``rejected_kept`` is how many rejected rows were kept (the first
``IMPORT_MAX_REJECTED_KEPT``); ``rejected`` keeps counting every one.
"""
from alembic import op
import sqlalchemy as sa


revision = '0008_import_error_log'
down_revision = '0007_overview_indexes'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('product_import') as batch_op:
        batch_op.add_column(sa.Column('error_log', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('rejected_kept', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('product_import') as batch_op:
        batch_op.drop_column('rejected_kept')
        batch_op.drop_column('error_log')
