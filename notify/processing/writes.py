"""What one transaction writes, gathered while it applies and flushed with one statement a kind.

Subscriptions are saved with their cursor and next wake-up (a subscription woken with nothing
due only moves its cursor); invoices are inserted (a key issued twice is a bug and fails the
transaction loudly); payments mark their invoices; outbox rows are inserted, a row whose
idempotency key is there already being skipped; every event gets its status. The change hooks
(the feed) run once for the whole batch, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import update

from billingcore.dates import midnight
from billingcore.state import Subscription
from notify import codec
from notify.db.engine import Statements, dialect_insert
from notify.db.models import EventStatus
from notify.processing.statements import (
    EXISTING_INVOICES,
    INSERT_SUBSCRIPTION,
    INVOICES,
    MARK,
    MOVE_CURSOR,
    OUTBOX,
    UPDATE_SUBSCRIPTION,
)
from notify.timing import wall_clock

# Runs in the transaction that saves a batch of subscriptions, once for the whole batch; returns,
# per subscription in the order given, when it next wants to run for it (a time boundary of its
# own, such as a feed item's), or None.
ChangeHook = Callable[
    [Statements, Sequence[Subscription], datetime], Awaitable[Sequence[datetime | None]]
]


@dataclass
class Tracked:
    """A subscription as this transaction sees it."""

    state: Subscription | None
    exists: bool
    through: datetime | None
    stored: Subscription | None = None  # the state as read, to tell whether it changed
    next_due: datetime | None = None
    advanced: bool = False


@dataclass
class Writes:
    """The rows one transaction will write."""

    # Event id → (status, error); a later status of the same event replaces an earlier one.
    marks: dict[str, tuple[EventStatus, str | None]] = field(default_factory=dict)
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)  # key → new row
    invoice_updates: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)

    def mark(self, event_id: str, status: EventStatus, error: str | None = None) -> None:
        self.marks[event_id] = (status, error)

    def update_invoice(self, key: str, values: dict[str, Any]) -> None:
        new = self.invoices.get(key)
        if new is not None:
            new.update(values)
        else:
            self.invoice_updates.append((key, values))

    async def flush(
        self,
        conn: Statements,
        subs: dict[str, Tracked],
        hooks: Sequence[ChangeHook],
        now: datetime,
    ) -> None:
        advanced = [(s, t) for s, t in subs.items() if t.advanced and t.state is not None]
        if advanced:
            await _save(conn, advanced, hooks, now)
        if self.invoices:
            existing = await conn.execute(EXISTING_INVOICES, {"keys": list(self.invoices)})
            clash = existing.scalars().all()
            if clash:
                raise RuntimeError(f"invoice keys issued twice: {sorted(clash)}")
            await conn.execute(INVOICES.insert(), list(self.invoices.values()))
        for key, values in self.invoice_updates:
            await conn.execute(update(INVOICES).where(INVOICES.c.key == key).values(values))
        if self.outbox:
            insert = dialect_insert(conn.dialect.name)(OUTBOX)
            await conn.execute(
                insert.on_conflict_do_nothing(index_elements=["idempotency_key"]), self.outbox
            )
        if self.marks:
            at = wall_clock()
            await conn.execute(
                MARK,
                [
                    {"b_id": event_id, "b_status": status, "b_error": error, "b_at": at}
                    for event_id, (status, error) in self.marks.items()
                ],
            )


def contact_emails(state: Subscription) -> str:
    """Every billing contact's address, lower-cased, once, space-separated (for the search)."""
    addresses = (state.customer.email, *state.customer.contacts)
    return " ".join(dict.fromkeys(a.strip().lower() for a in addresses))


async def _save(
    conn: Statements,
    advanced: list[tuple[str, Tracked]],
    hooks: Sequence[ChangeHook],
    now: datetime,
) -> None:
    states = [t.state for _, t in advanced if t.state is not None]
    hooked = [await hook(conn, states, now) for hook in hooks]
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    moves: list[dict[str, Any]] = []
    at = wall_clock()
    for i, (subscription_id, tracked) in enumerate(advanced):
        state = states[i]
        wake_ups = [tracked.next_due, *(h[i] for h in hooked)]
        values = {
            "b_id": subscription_id,
            "b_next_due_at": min((w for w in wake_ups if w is not None), default=None),
            "b_occasions_through": tracked.through or midnight(state.term.start),
            "b_updated_at": at,
        }
        if tracked.exists and state is tracked.stored:
            moves.append(values)
        else:
            values["b_customer_id"] = state.customer.id
            values["b_customer_name"] = state.customer.name
            values["b_contact_emails"] = contact_emails(state)
            values["b_namespace_id"] = state.namespace_id
            values["b_instance_id"] = state.instance_id
            values["b_state"] = codec.dumps(state)
            (updates if tracked.exists else inserts).append(values)
    for statement, rows in (
        (INSERT_SUBSCRIPTION, inserts),
        (UPDATE_SUBSCRIPTION, updates),
        (MOVE_CURSOR, moves),
    ):
        if rows:
            await conn.execute(statement, rows)
