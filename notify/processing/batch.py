"""One transaction of the processor: load a batch of subscriptions, advance each, record.

The batch's states, pending events, the events held for subscriptions it creates, and the
invoices its payments name are read with one query each. Each subscription then goes through
``billingcore.advance`` with its own events, those held for it, and the customer-level events
fanned out to it; what that returns becomes rows (``writes``), numbered invoices
(``numbering``) and outbox rows (``notify.mail``). No billing rule is decided here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from billingcore import (
    Advanced,
    CreateSubscription,
    InvoiceIssued,
    InvoiceNotice,
    InvoicePaid,
    InvoicePaymentFailed,
    Notice,
    Subscription,
    advance,
)
from notify import codec
from notify.db.engine import Statements
from notify.db.models import EventStatus
from notify.mail.enqueue import Enqueuer
from notify.processing import locks
from notify.processing.numbering import Numbers
from notify.processing.statements import (
    CUSTOMERS_WAITING,
    HELD_FOR,
    PENDING_OF_CUSTOMER,
    PENDING_OF_SUBSCRIPTIONS,
    STATES,
    SUBSCRIPTIONS_OF_CUSTOMER,
)
from notify.processing.stored import StoredEvent, commands, decode, in_order, resolve_invoices
from notify.processing.writes import ChangeHook, Tracked, Writes
from notify.timing import wall_clock


class Batch:
    """The reads, the runs and the writes of one transaction at business time ``now``."""

    def __init__(
        self,
        conn: Statements,
        now: datetime,
        enqueuer: Enqueuer,
        hooks: Sequence[ChangeHook],
    ) -> None:
        self.conn = conn
        self.now = now
        self._enqueuer = enqueuer
        self._hooks = hooks
        self.subs: dict[str, Tracked] = {}
        self.numbers = Numbers(conn)
        self.writes = Writes()
        # Customer → the subscriptions its pending events are fanned out to in this batch.
        self.fanned_to: dict[str, list[str]] = {}

    # -- reads ---------------------------------------------------------------------------------

    async def _load(self, ids: Iterable[str]) -> None:
        """Read the states of the subscriptions this batch has not seen yet, in one query."""
        missing = [s for s in dict.fromkeys(ids) if s not in self.subs]
        if not missing:
            return
        for s in missing:
            self.subs[s] = Tracked(state=None, exists=False, through=None)
        for row in await self.conn.execute(STATES, {"ids": missing}):
            state = codec.loads(Subscription, row.state)
            self.subs[row.id] = Tracked(
                state=state, exists=True, through=row.occasions_through, stored=state
            )

    async def _pending(self, ids: list[str]) -> dict[str, list[StoredEvent]]:
        """The accepted events of ``ids``, by subscription (one query)."""
        pending: dict[str, list[StoredEvent]] = {s: [] for s in ids}
        if ids:
            for row in await self.conn.execute(PENDING_OF_SUBSCRIPTIONS, {"ids": ids}):
                pending[row.subscription_id].append(decode(row))
        return {s: in_order(events) for s, events in pending.items()}

    async def _held(self, pending: dict[str, list[StoredEvent]]) -> dict[str, list[StoredEvent]]:
        """The events held for the subscriptions this batch creates: their own and, for the
        first new subscription of a customer, the customer's."""
        creators = {
            s: _created_customer(events)
            for s, events in pending.items()
            if self.subs[s].state is None and events
        }
        held: dict[str, list[StoredEvent]] = {s: [] for s in creators}
        if not creators:
            return held
        customers = sorted({c for c in creators.values() if c is not None})
        first_of: dict[str, str] = {}
        for s, customer in creators.items():
            if customer is not None:
                first_of.setdefault(customer, s)
        params = {"ids": list(creators), "customers": customers}
        for row in await self.conn.execute(HELD_FOR, params):
            event = decode(row)
            owner = event.subscription_id or first_of.get(event.customer_id or "")
            if owner in held:
                held[owner].append(event)
        return held

    async def _fan_outs(
        self, customer_ids: Sequence[str], creating: dict[str, str | None]
    ) -> dict[str, list[StoredEvent]]:
        """The pending events of each customer whose subscriptions this batch can all take:
        those stored, and those it creates (``creating``: new subscription → its customer).
        A customer without a subscription has its events held; one whose subscription another
        worker holds waits for a later batch."""
        fanned: dict[str, list[StoredEvent]] = {}
        for customer in dict.fromkeys(customer_ids):
            if not await locks.take(self.conn, [customer], "cus"):
                continue
            rows = await self.conn.execute(PENDING_OF_CUSTOMER, {"customer": customer})
            events = in_order(decode(row) for row in rows)
            stored = await self.conn.execute(SUBSCRIPTIONS_OF_CUSTOMER, {"customer": customer})
            ids = {row[0] for row in stored} | {s for s, c in creating.items() if c == customer}
            if not ids:
                for event in events:
                    self._mark_event(event, EventStatus.HELD)
                continue
            if len(await locks.take(self.conn, sorted(ids), "sub")) < len(ids):
                continue
            fanned[customer] = events
            self.fanned_to[customer] = sorted(ids)
        return fanned

    # -- runs ----------------------------------------------------------------------------------

    async def run(self, ids: Sequence[str], customer_ids: Sequence[str] = ()) -> None:
        """Advance the subscriptions ``ids`` to ``now`` with their pending events; fan the
        pending events of ``customer_ids`` out to each of their subscriptions.

        A customer of these subscriptions with events still pending has them fanned out too, so
        no occasion runs ahead of an earlier customer-level event (a new card must count at the
        15-day notice); a subscription whose customer's events another worker holds is left for
        a later batch."""
        await self._load(ids)
        pending = await self._pending(list(dict.fromkeys(ids)))
        creating = {s: _created_customer(pending[s]) for s in pending if self.subs[s].state is None}
        customer_of = {s: self._customer(s, creating) for s in pending}
        waiting = await self._customers_waiting({c for c in customer_of.values() if c})
        fanned = await self._fan_outs([*customer_ids, *sorted(waiting)], creating)
        for s in [s for s, c in customer_of.items() if c in waiting and c not in fanned]:
            del pending[s]
        extra = [s for subs in self.fanned_to.values() for s in subs if s not in pending]
        await self._load(extra)
        pending.update(await self._pending(extra))
        held = await self._held(pending)
        every = [
            e for events in (*pending.values(), *held.values(), *fanned.values()) for e in events
        ]
        resolved = {e.id: e for e in await resolve_invoices(self.conn, every, self.numbers)}
        applied: set[str] = set()
        for s in pending:
            tracked = self.subs[s]
            own = [resolved[e.id] for e in (*pending[s], *held.get(s, ()))]
            shared = [
                resolved[e.id]
                for customer, events in fanned.items()
                if s in self.fanned_to[customer]
                for e in events
            ]
            result = advance(
                tracked.state, commands([*own, *shared]), through=tracked.through, now=self.now
            )
            await self._record(tracked, result)
            self._mark(own, result)
            if result.state is not None:
                applied.update(e.id for e in shared if e.id not in result.held)
        for events in fanned.values():
            for event in events:
                status = EventStatus.PROCESSED if event.id in applied else EventStatus.HELD
                self._mark_event(event, status)

    def _customer(self, subscription_id: str, creating: dict[str, str | None]) -> str | None:
        state = self.subs[subscription_id].state
        return state.customer.id if state is not None else creating.get(subscription_id)

    async def _customers_waiting(self, customers: set[str]) -> set[str]:
        """Those of ``customers`` with customer-level events still accepted (one query)."""
        if not customers:
            return set()
        rows = await self.conn.execute(CUSTOMERS_WAITING, {"customers": sorted(customers)})
        return {row[0] for row in rows}

    def _mark(self, events: Sequence[StoredEvent], result: Advanced) -> None:
        held = set(result.held)
        for event in events:
            rejected = result.rejected.get(event.id)
            if event.unreadable is not None:
                self.writes.mark(event.id, EventStatus.REJECTED, event.unreadable)
            elif event.id in held:
                self.writes.mark(event.id, EventStatus.HELD)
            elif rejected is not None:
                self.writes.mark(
                    event.id, EventStatus.REJECTED, f"{rejected.code}: {rejected.reason}"
                )
            else:
                self.writes.mark(event.id, EventStatus.PROCESSED)

    def _mark_event(self, event: StoredEvent, status: EventStatus) -> None:
        if event.unreadable is not None:
            self.writes.mark(event.id, EventStatus.REJECTED, event.unreadable)
        else:
            self.writes.mark(event.id, status)

    # -- what a run did ------------------------------------------------------------------------

    async def _record(self, tracked: Tracked, result: Advanced) -> None:
        tracked.state = result.state
        tracked.through = result.through
        tracked.next_due = result.next_due
        tracked.advanced = True
        notices: list[tuple[Subscription, Notice]] = []
        for step in result.steps:
            for outcome in step.outcomes:
                if isinstance(outcome, InvoiceIssued):
                    await self._issue(outcome)
                elif isinstance(outcome, InvoicePaid):
                    self.writes.update_invoice(outcome.invoice_key, {"paid_at": self.now})
                elif isinstance(outcome, InvoicePaymentFailed):
                    values = {"payment_failed_at": outcome.at}
                    self.writes.update_invoice(outcome.invoice_key, values)
                else:
                    notices.append((step.state, outcome))
        if not notices:
            return
        await self.numbers.look_up(
            n.invoice_key for _, n in notices if isinstance(n, InvoiceNotice)
        )
        at = wall_clock()
        for state, notice in notices:
            self.writes.outbox += self._enqueuer.rows(state, notice, self.numbers.by_key, at)

    async def _issue(self, outcome: InvoiceIssued) -> None:
        invoice = outcome.invoice
        if invoice.key in self.writes.invoices:
            return
        self.writes.invoices[invoice.key] = {
            "number": await self.numbers.give(invoice.key),
            "key": invoice.key,
            "subscription_id": invoice.subscription_id,
            "purpose": invoice.purpose.value,
            "currency": invoice.currency,
            "total": str(invoice.total.amount),
            "lines": codec.dumps(invoice.lines),
            "cause": codec.dumps(outcome.cause.to_view()),
            "issued_on": invoice.issued_on,
            "created_at": self.now,
            "paid_at": None,
            "payment_failed_at": None,
        }

    async def flush(self) -> None:
        await self.writes.flush(self.conn, self.subs, self._hooks, self.now)
        await self.numbers.flush()


def _created_customer(events: Iterable[StoredEvent]) -> str | None:
    """The customer a pending ``subscription.created`` among ``events`` names, if any."""
    for event in events:
        if isinstance(event.command, CreateSubscription):
            return event.command.customer.id
    return None
