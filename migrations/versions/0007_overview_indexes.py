"""indexes of the overview pages (平台概览, 我的待办, 资质概览)

Revision ID: 0007_overview_indexes
Revises: 0006_jobs
Create Date: 2026-12-02 08:30:00

Records by state are counted on (state, revision_of_id) platform-wide and on
(unit_id, state, revision_of_id) per unit — covering indexes (index-only scans); the review queues are ranked by the time an item
entered them (state, submitted_at) / (state, reviewed_at); a reviewer's decisions
per day by (user_id, created_at); registrations per week by unit.created_at.
"""
from alembic import op


revision = '0007_overview_indexes'
down_revision = '0006_jobs'
branch_labels = None
depends_on = None

TABLES = ("entrustment", "qual_certificate", "qual_product")


def upgrade():
    for table in TABLES:
        op.create_index(f"ix_{table}_state_root", table, ["state", "revision_of_id"], unique=False)
        op.create_index(f"ix_{table}_unit_state", table, ["unit_id", "state", "revision_of_id"], unique=False)
        op.create_index(f"ix_{table}_state_submitted", table, ["state", "submitted_at"], unique=False)
        op.create_index(f"ix_{table}_state_reviewed", table, ["state", "reviewed_at"], unique=False)
    op.create_index("ix_workflow_history_user_created", "workflow_history", ["user_id", "created_at"], unique=False)
    op.create_index(op.f("ix_unit_created_at"), "unit", ["created_at"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_unit_created_at"), table_name="unit")
    op.drop_index("ix_workflow_history_user_created", table_name="workflow_history")
    for table in reversed(TABLES):
        op.drop_index(f"ix_{table}_state_reviewed", table_name=table)
        op.drop_index(f"ix_{table}_state_submitted", table_name=table)
        op.drop_index(f"ix_{table}_unit_state", table_name=table)
        op.drop_index(f"ix_{table}_state_root", table_name=table)
