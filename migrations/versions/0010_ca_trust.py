"""CA-verified unit names; released credit codes of never-certified registrations

Revision ID: 0010_ca_trust
Revises: 0009_session_epoch
Create Date: 2026-12-02 09:00:00

Bindings made before this release were not checked against a trusted CA: their
units keep their binding but get no verified name (re-binding gives one).
"""
from alembic import op
import sqlalchemy as sa


revision = '0010_ca_trust'
down_revision = '0009_session_epoch'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('verified_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('verified_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('released_credit_code', sa.String(length=18), nullable=True))
        batch_op.add_column(sa.Column('released_at', sa.DateTime(), nullable=True))
        batch_op.create_unique_constraint('uq_unit_verified_name', ['verified_name'])
        batch_op.create_index(batch_op.f('ix_unit_released_credit_code'), ['released_credit_code'], unique=False)


def downgrade():
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_released_credit_code'))
        batch_op.drop_constraint('uq_unit_verified_name', type_='unique')
        batch_op.drop_column('released_at')
        batch_op.drop_column('released_credit_code')
        batch_op.drop_column('verified_at')
        batch_op.drop_column('verified_name')
