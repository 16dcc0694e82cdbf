"""report indexes: repeat contacts and survey joins

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Repeat-contact rate: "a later conversation of the same customer within 7 days".
    op.create_index(
        "ix_conversations_customer_started", "conversations", ["customer_id", "started_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_conversations_customer_started", table_name="conversations")
