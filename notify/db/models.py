"""The tables. Each later feature adds its tables here and a migration under notify/migrations."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, Index, Integer, MetaData, String, Text
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
    """Where a received event stands."""

    ACCEPTED = "accepted"
    IGNORED = "ignored"
    PROCESSED = "processed"
    HELD = "held"
    REJECTED = "rejected"


class InboxEvent(Base):
    """A received webhook, exactly as it arrived, and what became of it.

    ``command`` is the billing core's command the edge made of the validated body (JSON through
    ``notify.codec``), None for a type this service does not know.
    """

    __tablename__ = "inbox_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    body: Mapped[str] = mapped_column(Text)
    body_sha256: Mapped[str] = mapped_column(String(64))
    command: Mapped[str | None] = mapped_column(Text, default=None)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text, default=None)
    subscription_id: Mapped[str | None] = mapped_column(String(128), default=None)
    customer_id: Mapped[str | None] = mapped_column(String(128), default=None)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    __table_args__ = (
        Index(None, "subscription_id", "occurred_at"),
        Index(None, "status", "occurred_at"),
        # The processor's look-ups of a batch's pending events: by subscription, or by customer
        # for customer-level events, each with its status, so a batch reads its own rows
        # whatever the size of the backlog (migration 0007).
        Index(None, "subscription_id", "status"),
        Index(None, "customer_id", "status"),
    )


class ServiceSetting(Base):
    """Values the service keeps for itself across restarts (the generated webhook secret)."""

    __tablename__ = "service_settings"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class SubscriptionRow(Base):
    """The service's model of one subscription: the billing core's state, serialized."""

    __tablename__ = "subscriptions"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(128), index=True)
    namespace_id: Mapped[str | None] = mapped_column(String(128), default=None, index=True)
    instance_id: Mapped[str | None] = mapped_column(String(128), default=None, index=True)
    # Kept beside the state for the admin search: the customer's name, and every billing
    # contact's address lower-cased and space-separated.
    customer_name: Mapped[str | None] = mapped_column(String(200), default=None)
    contact_emails: Mapped[str | None] = mapped_column(Text, default=None)
    state: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The earliest time-driven occasion still to come; the scheduler reads this index only.
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None, index=True)
    # Every occasion due before this instant has been applied.
    occasions_through: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Counter(Base):
    """Gapless sequences (invoice numbers): incremented inside the transaction that uses them."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class InvoiceRow(Base):
    """An issued invoice: numbered when stored, keyed by the billing core's stable key."""

    __tablename__ = "invoices"

    number: Mapped[str] = mapped_column(String(20), primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    subscription_id: Mapped[str] = mapped_column(String(128), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[str] = mapped_column(String(40))
    # Each line with its explanation (CONTRACT §6), JSON through notify.codec.
    lines: Mapped[str] = mapped_column(Text)
    # What made the invoice: {"event_id": …} or {"occasion": …, "date": …}.
    cause: Mapped[str | None] = mapped_column(Text, default=None)
    issued_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    payment_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    DEAD = "dead"
    SUPPRESSED = "suppressed"


class OutboxRow(Base):
    """One email to one recipient: the delivery queue and its audit log at once."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(400), unique=True)
    kind: Mapped[str] = mapped_column(String(50))
    subscription_id: Mapped[str] = mapped_column(String(128), index=True)
    recipient: Mapped[str] = mapped_column(String(320))
    context: Mapped[str] = mapped_column(Text)
    # What made the notice: {"event_id": …} or {"occasion": …, "date": …}.
    cause: Mapped[str | None] = mapped_column(Text, default=None)
    message_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_owner: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    __table_args__ = (Index(None, "status", "next_attempt_at"),)


class Suppression(Base):
    """An address that answered with a permanent failure: later emails to it are not sent."""

    __tablename__ = "suppressions"

    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Unsubscribe(Base):
    """A recipient's one-click opt-out of the reminder kinds of one subscription."""

    __tablename__ = "unsubscribes"

    subscription_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ConsoleSession(Base):
    """A signed-in console session, named by the SHA-256 of the id its cookie carries.

    The cookie is encrypted (aiohttp-session, Fernet); this row is what makes it count: sign-out
    deletes it, so a copy of the cookie is worth nothing afterwards.
    """

    __tablename__ = "console_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
