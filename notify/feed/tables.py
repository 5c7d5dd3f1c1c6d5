"""The feed's tables: tokens (hashes only), items per audience, and a version per audience."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from notify.db.models import Base
from notify.db.types import UTCDateTime


class FeedToken(Base):
    """A feed token's SHA-256 and the one audience it reads; the token itself is never stored."""

    __tablename__ = "feed_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    # ``namespace:<id>`` or ``instance:<id>``.
    audience: Mapped[str] = mapped_column(String(140), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class FeedItemRow(Base):
    """One item of one subscription, rendered; withdrawn and dismissed items stay as history."""

    __tablename__ = "feed_items"

    # ``fi_`` and 24 hex digits of SHA-256 of the billing core's item key.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(400))
    audience: Mapped[str] = mapped_column(String(140), index=True)
    subscription_id: Mapped[str] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    cta_label: Mapped[str | None] = mapped_column(String(100), default=None)
    cta_url: Mapped[str | None] = mapped_column(Text, default=None)
    dismissible: Mapped[bool] = mapped_column(Boolean)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    dismissed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class FeedVersion(Base):
    """What an audience's ETag is made of: a counter bumped when its visible items change, and
    the expiry times of the items visible at that bump (an expiry hides an item with no write)."""

    __tablename__ = "feed_versions"

    audience: Mapped[str] = mapped_column(String(140), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    # Microseconds since the epoch, ascending, separated by spaces.
    expiries: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
