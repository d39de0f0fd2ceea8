"""personal data protected: ID numbers encrypted + keyed hashes; SMS without secrets, with delivery state

Revision ID: 0013_pii
Revises: 0012_chain
Create Date: 2026-12-02 12:00:00

Existing rows are converted with the application's keys (``PII_KEYS`` /
``PII_HASH_KEY``, app/security/pii.py): plain ID numbers become Fernet tokens with
their HMAC beside them, and the passwords and codes already stored in
``sms_message`` are replaced by the mark (they cannot be recovered, by design).
Should two operators of one unit hold the same ID number, the later ones keep their
encrypted number but get no hash (a warning names them) so that the new uniqueness
rule can be created; fix them and run ``flask pii rotate``.
"""
import logging
import re

from alembic import op
import sqlalchemy as sa
from flask import current_app


# revision identifiers, used by Alembic.
revision = '0013_pii'
down_revision = '0012_chain'
branch_labels = None
depends_on = None

log = logging.getLogger('alembic.runtime.migration')
SECRETS = (re.compile(r'(密码：)[A-Za-z0-9]+'), re.compile(r'(验证码：)\d+'))
MARK = '******'


def _encrypt_column(conn, table, column, hash_column, scope_column=None):
    from app.security import pii

    config = current_app.config
    rows = conn.execute(sa.text(f'SELECT id, {column}{", " + scope_column if scope_column else ""} '
                                f'FROM {table} WHERE {column} IS NOT NULL ORDER BY id')).all()
    seen = set()
    for row in rows:
        value = row[1]
        plain = pii.decrypt(value, config) if pii.is_token(value) else pii.normalise(value)
        digest = pii.keyed_hash(plain, config)
        if scope_column is not None and digest is not None:
            key = (row[2], digest)
            if row[2] is not None and key in seen:
                log.warning('%s %s: the same ID number as an earlier row of %s %s; kept without a hash '
                            '(uniqueness): fix it and run `flask pii rotate`', table, row[0], scope_column, row[2])
                digest = None
            seen.add(key)
        token = value if pii.is_token(value) else pii.encrypt(plain, config)
        conn.execute(sa.text(f'UPDATE {table} SET {column} = :token, {hash_column} = :digest WHERE id = :id'),
                     {'token': token, 'digest': digest, 'id': row[0]})


def _decrypt_column(conn, table, column):
    from app.security import pii

    config = current_app.config
    for row_id, value in conn.execute(sa.text(f'SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL')).all():
        if pii.is_token(value):
            conn.execute(sa.text(f'UPDATE {table} SET {column} = :plain WHERE id = :id'),
                         {'plain': pii.decrypt(value, config)[:18], 'id': row_id})


def _scrub_sms(conn):
    rows = conn.execute(sa.text("SELECT id, content FROM sms_message "
                                "WHERE content LIKE '%密码：%' OR content LIKE '%验证码：%'")).all()
    for row_id, content in rows:
        scrubbed = content
        for pattern in SECRETS:
            scrubbed = pattern.sub(lambda m: m.group(1) + MARK, scrubbed)
        if scrubbed != content:
            conn.execute(sa.text('UPDATE sms_message SET content = :c WHERE id = :id'), {'c': scrubbed, 'id': row_id})


def upgrade():
    with op.batch_alter_table('ab_user', schema=None) as batch_op:
        batch_op.alter_column('id_number', existing_type=sa.String(length=18), type_=sa.String(length=255),
                              existing_nullable=True)
        batch_op.add_column(sa.Column('id_number_hash', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_ab_user_id_number_hash'), ['id_number_hash'], unique=False)

    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.alter_column('contact_id_number', existing_type=sa.String(length=18), type_=sa.String(length=255),
                              existing_nullable=False)
        batch_op.add_column(sa.Column('contact_id_number_hash', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_unit_contact_id_number_hash'), ['contact_id_number_hash'], unique=False)

    with op.batch_alter_table('sms_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('last_error', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('sent_at', sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_sms_message_status'), ['status'], unique=False)

    conn = op.get_bind()
    _encrypt_column(conn, 'ab_user', 'id_number', 'id_number_hash', scope_column='unit_id')
    _encrypt_column(conn, 'unit', 'contact_id_number', 'contact_id_number_hash')
    _scrub_sms(conn)

    with op.batch_alter_table('ab_user', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_ab_user_unit_id_number', ['unit_id', 'id_number_hash'])


def downgrade():
    conn = op.get_bind()
    _decrypt_column(conn, 'ab_user', 'id_number')
    _decrypt_column(conn, 'unit', 'contact_id_number')

    with op.batch_alter_table('sms_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sms_message_status'))
        batch_op.drop_column('sent_at')
        batch_op.drop_column('last_error')
        batch_op.drop_column('attempts')

    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_contact_id_number_hash'))
        batch_op.drop_column('contact_id_number_hash')
        batch_op.alter_column('contact_id_number', existing_type=sa.String(length=255), type_=sa.String(length=18),
                              existing_nullable=False)

    with op.batch_alter_table('ab_user', schema=None) as batch_op:
        batch_op.drop_constraint('uq_ab_user_unit_id_number', type_='unique')
        batch_op.drop_index(batch_op.f('ix_ab_user_id_number_hash'))
        batch_op.drop_column('id_number_hash')
        batch_op.alter_column('id_number', existing_type=sa.String(length=255), type_=sa.String(length=18),
                              existing_nullable=True)
