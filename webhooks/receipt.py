"""What the route hands to persistence, and the interface persistence offers it.

The inbound adapter never imports the storage layer: the service injects an object with
``submit(receipt) -> Answer`` (notify.inbox.Inbox) when it builds the application.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from billingcore.commands import EventCommand


class StorageUnavailable(Exception):
    """The receipt could not be stored; nothing was acknowledged and the sender should retry."""


class Answer(enum.StrEnum):
    ACCEPTED = "accepted"
    IGNORED = "ignored"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"


@dataclass(frozen=True, slots=True, kw_only=True)
class Receipt:
    """A verified, validated webhook, ready to be stored exactly as it arrived, with the
    billing core's command made of it (None for a type this service does not know)."""

    id: str
    type: str
    occurred_at: datetime
    received_at: datetime
    body: str
    body_sha256: str
    known: bool
    subscription_id: str | None
    customer_id: str | None
    command: EventCommand | None


class ReceiptStore(Protocol):
    async def submit(self, receipt: Receipt) -> Answer:
        """Store ``receipt`` durably, or recognise it; raise StorageUnavailable when it cannot."""
        ...
