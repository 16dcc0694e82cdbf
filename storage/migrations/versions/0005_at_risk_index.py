"""at-risk index: a customer's contacts and unresolved handoffs read from one index

Revision ID: 0005
Revises: 0004

The customers-at-risk list counts, for the few customers with the most 1–2 ratings,
their conversations in the period and those handed off and not resolved. With the
handoff reason and resolution in the index, that is a range of index entries per
customer instead of a row read (and a survey probe) per conversation.
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.get_bind().exec_driver_sql(
        "CREATE INDEX IF NOT EXISTS ix_conversations_customer_risk ON conversations "
        "(customer_id, started_at, handoff_reason, resolution)"
    )


def downgrade() -> None:
    op.get_bind().exec_driver_sql("DROP INDEX IF EXISTS ix_conversations_customer_risk")
