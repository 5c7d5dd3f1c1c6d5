"""The inbox of received events and the service's own settings.

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from notify.db.types import UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbox_events",
        sa.Column("id", sa.String(255), nullable=False),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_sha256", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("subscription_id", sa.String(128), nullable=True),
        sa.Column("customer_id", sa.String(128), nullable=True),
        sa.Column("processed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_inbox_events"),
    )
    op.create_index(
        "ix_inbox_events_subscription_id_occurred_at",
        "inbox_events",
        ["subscription_id", "occurred_at"],
    )
    op.create_index("ix_inbox_events_status_occurred_at", "inbox_events", ["status", "occurred_at"])
    op.create_table(
        "service_settings",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_service_settings"),
    )


def downgrade() -> None:
    op.drop_table("service_settings")
    op.drop_index("ix_inbox_events_status_occurred_at", table_name="inbox_events")
    op.drop_index("ix_inbox_events_subscription_id_occurred_at", table_name="inbox_events")
    op.drop_table("inbox_events")
