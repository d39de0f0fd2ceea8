"""session epoch on ab_user: a password change or logout ends every other session

Revision ID: 0009_session_epoch
Revises: 0008_import_error_log
Create Date: 2026-12-02 08:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009_session_epoch'
down_revision = '0008_import_error_log'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ab_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_epoch', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('ab_user', schema=None) as batch_op:
        batch_op.drop_column('session_epoch')
