"""The tables. Each later feature adds its tables here and a migration under notify/migrations."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Index, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from notify.db.types import UTCDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class EventStatus(enum.StrEnum):
    """Where a received event stands. ``duplicate`` is an answer, never a stored status."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    PROCESSED = "processed"
    HELD = "held"
    REJECTED = "rejected"


class InboxEvent(Base):
    """A received webhook, exactly as it arrived, and what became of it."""

    __tablename__ = "inbox_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    body: Mapped[str] = mapped_column(Text)
    body_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text, default=None)
    subscription_id: Mapped[str | None] = mapped_column(String(128), default=None)
    customer_id: Mapped[str | None] = mapped_column(String(128), default=None)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    __table_args__ = (
        Index(None, "subscription_id", "occurred_at"),
        Index(None, "status", "occurred_at"),
    )


class ServiceSetting(Base):
    """Values the service keeps for itself across restarts (the generated webhook secret)."""

    __tablename__ = "service_settings"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
