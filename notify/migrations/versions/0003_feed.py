"""The in-app feed: tokens, items and per-audience versions.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from notify.db.types import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feed_tokens",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("audience", sa.String(140), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name="pk_feed_tokens"),
    )
    op.create_index("ix_feed_tokens_audience", "feed_tokens", ["audience"])
    op.create_table(
        "feed_items",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("key", sa.String(400), nullable=False),
        sa.Column("audience", sa.String(140), nullable=False),
        sa.Column("subscription_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("cta_label", sa.String(100), nullable=True),
        sa.Column("cta_url", sa.Text(), nullable=True),
        sa.Column("dismissible", sa.Boolean(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("withdrawn_at", UTCDateTime(), nullable=True),
        sa.Column("dismissed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_feed_items"),
    )
    op.create_index("ix_feed_items_audience", "feed_items", ["audience"])
    op.create_index("ix_feed_items_subscription_id", "feed_items", ["subscription_id"])
    op.create_table(
        "feed_versions",
        sa.Column("audience", sa.String(140), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("expiries", sa.Text(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("audience", name="pk_feed_versions"),
    )


def downgrade() -> None:
    for table in ("feed_versions", "feed_items", "feed_tokens"):
        op.drop_table(table)
