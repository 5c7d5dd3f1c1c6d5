"""Stored events as the processor reads them: the command the edge made of each, typed.

The edge validated each event and translated it into a billing core command when it arrived;
the inbox keeps that command (and the raw body, for audit). Here it is only decoded, never
validated again. A payment names its invoice by number: ``resolve_invoices`` looks the numbers
up (one query per batch) and fills in the core's key.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from billingcore.commands import EventCommand, RecordPaymentFailed, RecordPaymentSucceeded
from notify import codec
from notify.db.engine import Statements
from notify.processing.numbering import Numbers
from notify.processing.statements import INVOICES_BY_NUMBER
from webhooks.translate import COMMAND_TYPES

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredEvent:
    """An accepted (or held) event and its command; ``command`` None when it cannot be read."""

    id: str
    occurred_at: datetime
    received_at: datetime
    subscription_id: str | None
    customer_id: str | None
    command: EventCommand | None
    unreadable: str | None = None

    @property
    def order(self) -> tuple[datetime, datetime, str]:
        return (self.occurred_at, self.received_at, self.id)


def in_order(events: Iterable[StoredEvent]) -> list[StoredEvent]:
    """``events`` in the order they happened (``StoredEvent.order``); the pending-event queries
    leave the order to this (``statements.PENDING_OF_SUBSCRIPTIONS``)."""
    return sorted(events, key=lambda event: event.order)


def decode(row: Any) -> StoredEvent:
    """The stored event of an inbox row (the columns of ``statements.EVENT_COLUMNS``)."""
    command: EventCommand | None = None
    problem: str | None = None
    try:
        command = codec.loads(COMMAND_TYPES[row.type], row.command)
    except Exception as exc:  # a row written by a bug or by hand: reported, never retried
        problem = f"unreadable stored command: {type(exc).__name__}: {exc}"
        log.error("processor.unreadable_event event_id=%s error=%s", row.id, problem)
    return StoredEvent(
        id=row.id,
        occurred_at=row.occurred_at,
        received_at=row.received_at,
        subscription_id=row.subscription_id,
        customer_id=row.customer_id,
        command=command,
        unreadable=problem,
    )


_Payment = RecordPaymentSucceeded | RecordPaymentFailed


async def invoice_keys(
    conn: Statements, payments: Iterable[RecordPaymentSucceeded | RecordPaymentFailed]
) -> dict[tuple[str, str], str]:
    """(invoice number, subscription) → the core's key, for each stored invoice the payments
    name (one query)."""
    wanted = list(payments)
    if not wanted:
        return {}
    rows = await conn.execute(
        INVOICES_BY_NUMBER,
        {
            "numbers": sorted({c.invoice_number for c in wanted}),
            "ids": sorted({c.subscription_id for c in wanted}),
        },
    )
    return {(number, sub): key for number, sub, key in rows}


def with_invoice_key(command: EventCommand, found: dict[tuple[str, str], str]) -> EventCommand:
    """``command`` with the core's key of the invoice it names, when it is a payment."""
    if not isinstance(command, _Payment):
        return command
    return replace(
        command, invoice_key=found.get((command.invoice_number, command.subscription_id))
    )


async def resolve_invoices(
    conn: Statements, events: Iterable[StoredEvent], numbers: Numbers
) -> list[StoredEvent]:
    """The events with each payment's ``invoice_key`` filled in where its number names an
    invoice of that subscription; the numbers found are remembered in ``numbers``."""
    events = list(events)
    found = await invoice_keys(conn, (e.command for e in events if isinstance(e.command, _Payment)))
    for (number, _), key in found.items():
        numbers.know(key, number)
    return [
        event
        if event.command is None
        else replace(event, command=with_invoice_key(event.command, found))
        for event in events
    ]


def commands(events: Sequence[StoredEvent]) -> list[EventCommand]:
    """The readable commands of ``events``."""
    return [event.command for event in events if event.command is not None]
