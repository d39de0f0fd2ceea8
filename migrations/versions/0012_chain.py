"""qualification chain: product certificate flags, 停用 requests, expiry reminders

Revision ID: 0012_chain
Revises: 0011_national_releases
Create Date: 2026-12-02 08:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_chain'
down_revision = '0011_national_releases'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('qual_product', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purpose', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('cert_flag', sa.String(length=20), nullable=True))
    op.create_table('expiry_reminder',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_type', sa.String(length=20), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('record_type', 'record_id', 'valid_to', 'days', name='uq_expiry_reminder')
    )
    with op.batch_alter_table('expiry_reminder', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_expiry_reminder_unit_id'), ['unit_id'], unique=False)


def downgrade():
    with op.batch_alter_table('expiry_reminder', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_expiry_reminder_unit_id'))
    op.drop_table('expiry_reminder')
    with op.batch_alter_table('qual_product', schema=None) as batch_op:
        batch_op.drop_column('cert_flag')
        batch_op.drop_column('purpose')
