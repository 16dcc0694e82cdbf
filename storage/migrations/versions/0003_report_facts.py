"""report facts: conversations.next_contact_at, kept exact by triggers

Revision ID: 0003
Revises: 0002

The repeat-contact rate becomes a column test (see storage/facts.py); the backfill is
one index probe per resolved conversation.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage import facts

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "conversations", sa.Column("next_contact_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index(
        "ix_conversations_customer_resolved", "conversations", ["customer_id", "resolved_at"]
    )
    connection = op.get_bind()
    facts.backfill(connection)
    facts.install(connection)


def downgrade() -> None:
    facts.uninstall(op.get_bind())
    op.drop_index("ix_conversations_customer_resolved", table_name="conversations")
    op.drop_column("conversations", "next_contact_at")
