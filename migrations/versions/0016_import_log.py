"""one import-log shape: the packaging import's rejected rows stored like the national import's

Revision ID: 0016_import_log
Revises: 0015_api_keys
Create Date: 2026-12-02 15:30:00

``product_import.errors_json`` held ``[[row, [cells], reason], ...]``; it now holds the list of
objects every import log uses (``app.services.import_log.RejectedRow``: sheet, row, key, reason,
kind, values).  Both logs share their columns (``ImportLogColumns``), so the packaging log's
``created_at`` gains the index the national log has (retention deletes by it).
"""
import json

import sqlalchemy as sa
from alembic import op


revision = '0016_import_log'
down_revision = '0015_api_keys'
branch_labels = None
depends_on = None

SHEET = "耗材产品包装"
KIND = "packaging"
BATCH = 500


def _convert(to_objects: bool) -> None:
    conn = op.get_bind()
    table = sa.table("product_import", sa.column("id", sa.Integer), sa.column("errors_json", sa.Text))
    last = 0
    while True:
        rows = conn.execute(sa.select(table.c.id, table.c.errors_json)
                            .where(table.c.id > last, table.c.errors_json.is_not(None))
                            .order_by(table.c.id).limit(BATCH)).all()
        if not rows:
            return
        for row_id, text in rows:
            last = row_id
            try:
                items = json.loads(text)
            except ValueError:
                continue
            if to_objects:
                out = []
                for item in items:
                    if isinstance(item, dict):
                        out.append(item)
                        continue
                    number, values, reason = (list(item) + [None, [], ""])[:3]
                    values = list(values or [])
                    out.append({"sheet": SHEET, "row": int(number or 0), "key": str(values[0]) if values else "",
                                "reason": str(reason or ""), "kind": KIND, "values": values})
            else:
                out = [[i.get("row"), i.get("values") or [], i.get("reason")] if isinstance(i, dict) else i
                       for i in items]
            conn.execute(table.update().where(table.c.id == row_id)
                         .values(errors_json=json.dumps(out, ensure_ascii=False)))


def upgrade():
    with op.batch_alter_table('product_import', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_product_import_created_at'), ['created_at'], unique=False)
    _convert(to_objects=True)


def downgrade():
    _convert(to_objects=False)
    with op.batch_alter_table('product_import', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_product_import_created_at'))
