"""national releases (issue 14): release table, 停用 status on national rows, 转码 table

Revision ID: 0011_national_releases
Revises: 0010_ca_trust
Create Date: 2026-12-02 08:43:51.270709

Adding the columns is cheap on PostgreSQL 11+ at any table size (a constant
default is stored in the catalog, not written to every row).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_national_releases'
down_revision = '0010_ca_trust'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('national_release',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=40), nullable=False),
    sa.Column('published_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('added', sa.Integer(), nullable=False),
    sa.Column('changed', sa.Integer(), nullable=False),
    sa.Column('deactivated', sa.Integer(), nullable=False),
    sa.Column('transferred', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('version')
    )
    op.create_table('national_transfer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('old_code', sa.String(length=27), nullable=False),
    sa.Column('new_code', sa.String(length=27), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('release_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['release_id'], ['national_release.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('old_code', 'new_code', name='uq_national_transfer_old_new')
    )
    op.create_table('national_upload',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('username', sa.String(length=128), nullable=True),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('national_transfer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_national_transfer_new_code'), ['new_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_national_transfer_old_code'), ['old_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_national_transfer_release_id'), ['release_id'], unique=False)

    with op.batch_alter_table('national_certificate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=12), server_default='active', nullable=False))
        batch_op.add_column(sa.Column('deactivated_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('deactivated_release_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('release_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_national_certificate_deactivated', ['deactivated_release_id'], unique=False, postgresql_where=sa.text("status = 'deactivated'"), sqlite_where=sa.text("status = 'deactivated'"))

    with op.batch_alter_table('national_import', schema=None) as batch_op:
        batch_op.add_column(sa.Column('release_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('job_id', sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f('ix_national_import_release_id'), ['release_id'], unique=False)
        batch_op.create_foreign_key('fk_national_import_release_id', 'national_release', ['release_id'], ['id'])

    with op.batch_alter_table('national_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=12), server_default='active', nullable=False))
        batch_op.add_column(sa.Column('deactivated_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('deactivated_release_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('release_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_national_item_deactivated', ['deactivated_release_id'], unique=False, postgresql_where=sa.text("status = 'deactivated'"), sqlite_where=sa.text("status = 'deactivated'"))

    with op.batch_alter_table('national_spec', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=12), server_default='active', nullable=False))
        batch_op.add_column(sa.Column('deactivated_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('deactivated_release_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('release_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_national_spec_deactivated', ['deactivated_release_id'], unique=False, postgresql_where=sa.text("status = 'deactivated'"), sqlite_where=sa.text("status = 'deactivated'"))



def downgrade():
    with op.batch_alter_table('national_spec', schema=None) as batch_op:
        batch_op.drop_index('ix_national_spec_deactivated', postgresql_where=sa.text("status = 'deactivated'"), sqlite_where=sa.text("status = 'deactivated'"))
        batch_op.drop_column('release_id')
        batch_op.drop_column('deactivated_release_id')
        batch_op.drop_column('deactivated_on')
        batch_op.drop_column('status')

    with op.batch_alter_table('national_item', schema=None) as batch_op:
        batch_op.drop_index('ix_national_item_deactivated', postgresql_where=sa.text("status = 'deactivated'"), sqlite_where=sa.text("status = 'deactivated'"))
        batch_op.drop_column('release_id')
        batch_op.drop_column('deactivated_release_id')
        batch_op.drop_column('deactivated_on')
        batch_op.drop_column('status')

    with op.batch_alter_table('national_import', schema=None) as batch_op:
        batch_op.drop_constraint('fk_national_import_release_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_national_import_release_id'))
        batch_op.drop_column('job_id')
        batch_op.drop_column('release_id')

    with op.batch_alter_table('national_certificate', schema=None) as batch_op:
        batch_op.drop_index('ix_national_certificate_deactivated', postgresql_where=sa.text("status = 'deactivated'"), sqlite_where=sa.text("status = 'deactivated'"))
        batch_op.drop_column('release_id')
        batch_op.drop_column('deactivated_release_id')
        batch_op.drop_column('deactivated_on')
        batch_op.drop_column('status')

    with op.batch_alter_table('national_transfer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_national_transfer_release_id'))
        batch_op.drop_index(batch_op.f('ix_national_transfer_old_code'))
        batch_op.drop_index(batch_op.f('ix_national_transfer_new_code'))

    op.drop_table('national_upload')
    op.drop_table('national_transfer')
    op.drop_table('national_release')
