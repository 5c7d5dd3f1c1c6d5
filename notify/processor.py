"""The processor: stored events and due occasions through the billing core, into rows.

For each subscription with work, in one transaction: load its state, apply its events in
``timestamp`` order (then the occasions that fell due), and write the new state, the invoices
(numbered from one gapless counter), an outbox row per email and recipient, and each event's
status. Events of a subscription not known yet are held and applied when its
``subscription.created`` arrives; customer-level events (payment method, customer details) fan
out to every subscription of that customer.

Concurrency: on PostgreSQL a transaction-scoped advisory lock per subscription keeps two
workers off the same subscription (one that cannot take it leaves that subscription for later);
on SQLite the transaction starts with BEGIN IMMEDIATE, which serializes writers. Exactly-once
effects come from keys: the billing core ignores a command key it applied already, invoices are
unique on the core's invoice key and outbox rows on their idempotency key.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from typing import Any, cast

from sqlalchemy import Table, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from billingcore import (
    Applied,
    InvoiceIssued,
    InvoicePaid,
    NoticeDue,
    Rejected,
    Subscription,
    apply,
    next_due,
    occasions,
)
from billingcore.dates import midnight
from notify import codec
from notify.clock import Clock
from notify.db.engine import dialect_insert, immediate, write_gate
from notify.db.models import (
    Counter,
    EventStatus,
    InboxEvent,
    InvoiceRow,
    OutboxRow,
    OutboxStatus,
    SubscriptionRow,
)
from notify.handlers import Branding, email_for
from notify.metrics import Metrics
from webhooks.schemas import (
    ParsedEvent,
    PaymentFailed,
    PaymentSucceeded,
    SubscriptionCreated,
    parse_event,
)
from webhooks.translate import Context, Untranslatable, to_command

log = logging.getLogger(__name__)

INBOX = cast(Table, InboxEvent.__table__)
SUBSCRIPTIONS = cast(Table, SubscriptionRow.__table__)
INVOICES = cast(Table, InvoiceRow.__table__)
OUTBOX = cast(Table, OutboxRow.__table__)
COUNTERS = cast(Table, Counter.__table__)
_TICK = timedelta(microseconds=1)
# A subscription whose occasions keep producing occasions is a bug; stop rather than spin.
_MAX_OCCASIONS_PER_PASS = 500

# Runs in the transaction that saved a subscription; returns when it next wants to run for that
# subscription (a time boundary of its own, such as a feed item's), or None.
ChangeHook = Callable[[AsyncConnection, Subscription, datetime], Awaitable[datetime | None]]


@dataclass
class _Loaded:
    state: Subscription | None
    exists: bool
    occasions_through: datetime | None


@dataclass
class _Batch:
    """What one transaction did, for metrics and wake-ups."""

    events: int = 0
    emails: int = 0
    statuses: dict[str, int] = field(default_factory=dict)

    def count(self, status: str) -> None:
        self.events += 1
        self.statuses[status] = self.statuses.get(status, 0) + 1


class Processor:
    """Applies stored events and due occasions. Run :meth:`run`, or drain with the ``*_once``."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        clock: Clock,
        metrics: Metrics,
        branding: Branding,
        mail_from: str,
        on_enqueued: Callable[[], None] = lambda: None,
        on_change: Sequence[ChangeHook] = (),
        batch_size: int = 20,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._metrics = metrics
        self._branding = branding
        self._domain = parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"
        self._on_enqueued = on_enqueued
        self._on_change = tuple(on_change)
        self._batch_size = batch_size
        self._postgres = engine.dialect.name == "postgresql"
        self._insert_outbox = dialect_insert(engine.dialect.name)(OUTBOX).on_conflict_do_nothing(
            index_elements=["idempotency_key"]
        )

    # -- driving -------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event, wakeup: asyncio.Event, interval: float) -> None:
        """Process until ``stop``: woken by new events, and every ``interval`` for occasions."""
        while not stop.is_set():
            try:
                await self.drain(stop)
            except Exception:
                log.exception("processor.pass_failed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    waiter = asyncio.ensure_future(wakeup.wait())
                    stopper = asyncio.ensure_future(stop.wait())
                    try:
                        await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        waiter.cancel()
                        stopper.cancel()
            wakeup.clear()

    async def drain(self, stop: asyncio.Event | None = None) -> int:
        """Process every pending event, then every occasion due by now; return the work done.
        With ``stop``, return early once it is set (between transactions)."""
        done = 0
        for step in (self.events_once, self.occasions_once):
            while not (stop is not None and stop.is_set()) and (handled := await step()):
                done += handled
        return done

    async def settle(self) -> None:
        """Return once no accepted event is waiting and no subscription is due by now.

        The barrier behind the test clock: work held by another process's lock is waited for
        (callers bound the wait with ``asyncio.timeout``).
        """
        while True:
            await self.drain()
            if not await self._outstanding():
                return
            await asyncio.sleep(0.02)

    async def _outstanding(self) -> bool:
        now = await self._clock.now()
        async with self._engine.connect() as conn:
            events = await conn.execute(
                select(INBOX.c.id).where(INBOX.c.status == EventStatus.ACCEPTED).limit(1)
            )
            due = await conn.execute(
                select(SUBSCRIPTIONS.c.id).where(SUBSCRIPTIONS.c.next_due_at <= now).limit(1)
            )
            return events.first() is not None or due.first() is not None

    async def events_once(self) -> int:
        """One transaction's worth of pending events; returns how many were handled."""
        now = await self._clock.now()
        batch = _Batch()
        async with self._transaction() as conn:
            targets = await conn.execute(
                select(INBOX.c.subscription_id, INBOX.c.customer_id)
                .where(INBOX.c.status == EventStatus.ACCEPTED)
                .group_by(INBOX.c.subscription_id, INBOX.c.customer_id)
                .order_by(func.min(INBOX.c.occurred_at))
                .limit(self._batch_size)
            )
            for subscription_id, customer_id in targets.all():
                if subscription_id is not None:
                    if await self._lock(conn, f"sub:{subscription_id}"):
                        await self._process_subscription(conn, subscription_id, now, batch)
                elif customer_id is not None:
                    await self._process_customer(conn, customer_id, now, batch)
        self._finish(batch)
        return batch.events

    async def occasions_once(self, now: datetime | None = None) -> int:
        """Apply the occasions due by ``now`` for one batch of subscriptions; return how many
        subscriptions were brought up to date."""
        now = now or await self._clock.now()
        batch = _Batch()
        updated = 0
        async with self._transaction() as conn:
            due = await conn.execute(
                select(SUBSCRIPTIONS.c.id)
                .where(SUBSCRIPTIONS.c.next_due_at <= now)
                .order_by(SUBSCRIPTIONS.c.next_due_at)
                .limit(self._batch_size)
            )
            ids = [row[0] for row in due]
            for subscription_id in ids:
                if not await self._lock(conn, f"sub:{subscription_id}"):
                    continue
                loaded = await self._load(conn, subscription_id)
                if loaded.state is None:  # pragma: no cover - ids come from the same table
                    continue
                state = await self._apply_occasions(
                    conn, loaded, loaded.state, now + _TICK, now, batch
                )
                await self._save(conn, state, loaded, now)
                updated += 1
        self._finish(batch)
        return updated

    # -- events --------------------------------------------------------------------------------

    async def _process_subscription(
        self, conn: AsyncConnection, subscription_id: str, now: datetime, batch: _Batch
    ) -> None:
        loaded = await self._load(conn, subscription_id)
        state = loaded.state
        work = list(await self._events(conn, INBOX.c.subscription_id == subscription_id))
        while work:
            event = work.pop(0)
            if state is not None:
                # What fell due before the event happened comes first (a usage report after a
                # reconciliation date must not count in the quarter already reconciled).
                until = min(event.occurred_at, now + _TICK)
                state = await self._apply_occasions(conn, loaded, state, until, now, batch)
            was_new = state is None
            state = await self._apply_event(conn, state, event, subscription_id, now, batch)
            if was_new and state is not None:
                loaded.occasions_through = midnight(state.term.start)
                work.extend(await self._held_for(conn, state))
                work.sort(key=_order)
        if state is not None:
            state = await self._apply_occasions(conn, loaded, state, now + _TICK, now, batch)
            await self._save(conn, state, loaded, now)

    async def _process_customer(
        self, conn: AsyncConnection, customer_id: str, now: datetime, batch: _Batch
    ) -> None:
        if not await self._lock(conn, f"cus:{customer_id}"):
            return
        events = await self._events(
            conn, (INBOX.c.customer_id == customer_id) & INBOX.c.subscription_id.is_(None)
        )
        ids = (
            (
                await conn.execute(
                    select(SUBSCRIPTIONS.c.id)
                    .where(SUBSCRIPTIONS.c.customer_id == customer_id)
                    .order_by(SUBSCRIPTIONS.c.id)
                )
            )
            .scalars()
            .all()
        )
        if not ids:
            for event in events:
                await self._mark(conn, event.id, EventStatus.HELD, None, now, batch)
            return
        for subscription_id in ids:
            if not await self._lock(conn, f"sub:{subscription_id}"):
                return  # another worker has one of them; the whole fan-out waits for later
        for subscription_id in ids:
            loaded = await self._load(conn, subscription_id)
            state = loaded.state
            for event in events:
                state = await self._apply_event(
                    conn, state, event, subscription_id, now, batch, fan_out=True
                )
            assert state is not None
            await self._save(conn, state, loaded, now)
        for event in events:
            await self._mark(conn, event.id, EventStatus.PROCESSED, None, now, batch)

    async def _apply_event(
        self,
        conn: AsyncConnection,
        state: Subscription | None,
        event: Any,
        subscription_id: str,
        now: datetime,
        batch: _Batch,
        *,
        fan_out: bool = False,
    ) -> Subscription | None:
        """Apply one stored event; mark it (unless fanned out) and return the new state."""
        parsed = parse_event(event.body.encode())
        if state is None and not isinstance(parsed.data, SubscriptionCreated):
            await self._mark(conn, event.id, EventStatus.HELD, None, now, batch)
            return None
        try:
            command = to_command(
                parsed.data,
                Context(
                    key=event.id,
                    at=parsed.timestamp,
                    subscription_id=subscription_id,
                    currency=None if state is None else state.unit_price.currency,
                    invoice_key=await self._invoice_key(conn, parsed, subscription_id),
                ),
            )
        except Untranslatable as exc:
            if not fan_out:
                await self._mark(conn, event.id, EventStatus.REJECTED, str(exc), now, batch)
            return state
        result = apply(state, command, now)
        if isinstance(result, Rejected):
            if not fan_out:
                reason = f"{result.code}: {result.reason}"
                await self._mark(conn, event.id, EventStatus.REJECTED, reason, now, batch)
            return state
        await self._record(conn, result, now, batch)
        if isinstance(parsed.data, PaymentFailed):
            await conn.execute(
                update(INVOICES)
                .where(INVOICES.c.number == parsed.data.invoice_number)
                .values(payment_failed_at=parsed.timestamp)
            )
        if not fan_out:
            await self._mark(conn, event.id, EventStatus.PROCESSED, None, now, batch)
        return result.state

    async def _invoice_key(
        self, conn: AsyncConnection, parsed: ParsedEvent, subscription_id: str
    ) -> str | None:
        if not isinstance(parsed.data, PaymentSucceeded | PaymentFailed):
            return None
        found = await conn.execute(
            select(INVOICES.c.key).where(
                (INVOICES.c.number == parsed.data.invoice_number)
                & (INVOICES.c.subscription_id == subscription_id)
            )
        )
        return found.scalar_one_or_none()

    # -- occasions -----------------------------------------------------------------------------

    async def _apply_occasions(
        self,
        conn: AsyncConnection,
        loaded: _Loaded,
        state: Subscription,
        until: datetime,
        now: datetime,
        batch: _Batch,
    ) -> Subscription:
        """Apply, in date order, every occasion due in [occasions_through, until); move the
        cursor to ``until``. ``now`` is the business time the core decides supersession with."""
        assert loaded.occasions_through is not None
        start = loaded.occasions_through
        if start >= until:
            return state
        seen: set[str] = set()
        for _ in range(_MAX_OCCASIONS_PER_PASS):
            pending = [o for o in occasions(state, start, until) if o.key not in seen]
            if not pending:
                break
            occasion = pending[0]
            seen.add(occasion.key)
            result = apply(state, occasion, now)
            if isinstance(result, Rejected):
                log.warning(
                    "processor.occasion_rejected key=%s code=%s reason=%s",
                    occasion.key,
                    result.code,
                    result.reason,
                )
                continue
            await self._record(conn, result, now, batch)
            state = result.state
        else:
            log.error("processor.occasion_limit subscription_id=%s", state.id)
        loaded.occasions_through = until
        return state

    # -- outcomes ------------------------------------------------------------------------------

    async def _record(
        self, conn: AsyncConnection, result: Applied, now: datetime, batch: _Batch
    ) -> None:
        numbers: dict[str, str] = {}
        for outcome in result.outcomes:
            if isinstance(outcome, InvoiceIssued):
                numbers[outcome.invoice.key] = await self._issue(conn, outcome, now)
            elif isinstance(outcome, InvoicePaid):
                await conn.execute(
                    update(INVOICES)
                    .where(INVOICES.c.key == outcome.invoice_key)
                    .values(paid_at=now)
                )
            elif isinstance(outcome, NoticeDue):
                batch.emails += await self._enqueue(conn, result.state, outcome, numbers, now)

    async def _issue(self, conn: AsyncConnection, outcome: InvoiceIssued, now: datetime) -> str:
        """Store the invoice under the next number of the gapless sequence (once per key)."""
        invoice = outcome.invoice
        existing = await conn.execute(
            select(INVOICES.c.number).where(INVOICES.c.key == invoice.key)
        )
        number = existing.scalar_one_or_none()
        if number is not None:
            return str(number)
        number = f"INV-{await self._next('invoice', conn):06d}"
        await conn.execute(
            INVOICES.insert().values(
                number=number,
                key=invoice.key,
                subscription_id=invoice.subscription_id,
                purpose=invoice.purpose.value,
                currency=invoice.currency,
                total=str(invoice.total.amount),
                lines=codec.dumps(invoice.lines),
                issued_on=invoice.issued_on,
                created_at=now,
            )
        )
        return number

    async def _next(self, name: str, conn: AsyncConnection) -> int:
        """Increment a counter inside the current transaction: a rollback gives the number back,
        so the sequence has no gaps; the row lock orders concurrent issuers."""
        bumped = await conn.execute(
            update(COUNTERS)
            .where(COUNTERS.c.name == name)
            .values(value=COUNTERS.c.value + 1)
            .returning(COUNTERS.c.value)
        )
        value = bumped.scalar_one_or_none()
        if value is not None:
            return int(value)
        created = await conn.execute(
            dialect_insert(conn.dialect.name)(COUNTERS)
            .values(name=name, value=1)
            .on_conflict_do_update(index_elements=["name"], set_={"value": COUNTERS.c.value + 1})
            .returning(COUNTERS.c.value)
        )
        return int(created.scalar_one())

    async def _enqueue(
        self,
        conn: AsyncConnection,
        state: Subscription,
        notice: NoticeDue,
        numbers: dict[str, str],
        now: datetime,
    ) -> int:
        spec = email_for(state, notice, self._branding)
        context = dict(spec.context)
        invoice_key = notice.facts.get("invoice_key")
        if isinstance(invoice_key, str):
            context["invoice_number"] = numbers.get(invoice_key) or await self._number_of(
                conn, invoice_key
            )
        rows = []
        for recipient in spec.recipients:
            key = f"{notice.key}:{recipient.lower()}"
            rows.append(
                {
                    "idempotency_key": key,
                    "kind": spec.kind,
                    "subscription_id": state.id,
                    "recipient": recipient,
                    "context": json.dumps(context, separators=(",", ":")),
                    "message_id": self._message_id(key),
                    "status": OutboxStatus.PENDING,
                    "attempts": 0,
                    "next_attempt_at": now_wall(),
                    "created_at": now_wall(),
                }
            )
        if rows:
            await conn.execute(self._insert_outbox, rows)
        return len(rows)

    async def _number_of(self, conn: AsyncConnection, invoice_key: str) -> str | None:
        found = await conn.execute(select(INVOICES.c.number).where(INVOICES.c.key == invoice_key))
        return found.scalar_one_or_none()

    def _message_id(self, idempotency_key: str) -> str:
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
        return f"<{digest}@{self._domain}>"

    # -- rows ----------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        async with write_gate(self._engine), self._engine.connect() as conn:
            if not self._postgres:
                conn = await immediate(conn)
            async with conn.begin():
                yield conn

    async def _lock(self, conn: AsyncConnection, name: str) -> bool:
        if not self._postgres:
            return True  # BEGIN IMMEDIATE already holds the only write lock
        key = zlib.crc32(name.encode()) - 2**31
        taken = await conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key})
        return bool(taken.scalar_one())

    async def _events(self, conn: AsyncConnection, where: Any) -> list[Any]:
        rows = await conn.execute(
            select(INBOX.c.id, INBOX.c.body, INBOX.c.occurred_at, INBOX.c.received_at)
            .where(where & (INBOX.c.status == EventStatus.ACCEPTED))
            .order_by(INBOX.c.occurred_at, INBOX.c.received_at, INBOX.c.id)
        )
        return list(rows.all())

    async def _held_for(self, conn: AsyncConnection, state: Subscription) -> list[Any]:
        """Events that waited for this subscription: its own, and its customer's."""
        rows = await conn.execute(
            select(INBOX.c.id, INBOX.c.body, INBOX.c.occurred_at, INBOX.c.received_at).where(
                (INBOX.c.status == EventStatus.HELD)
                & (
                    (INBOX.c.subscription_id == state.id)
                    | (
                        (INBOX.c.customer_id == state.customer.id)
                        & INBOX.c.subscription_id.is_(None)
                    )
                )
            )
        )
        return list(rows.all())

    async def _load(self, conn: AsyncConnection, subscription_id: str) -> _Loaded:
        query = select(SUBSCRIPTIONS.c.state, SUBSCRIPTIONS.c.occasions_through).where(
            SUBSCRIPTIONS.c.id == subscription_id
        )
        row = (await conn.execute(query)).first()
        if row is None:
            return _Loaded(state=None, exists=False, occasions_through=None)
        return _Loaded(
            state=codec.loads(Subscription, row.state),
            exists=True,
            occasions_through=row.occasions_through,
        )

    async def _save(
        self,
        conn: AsyncConnection,
        state: Subscription,
        loaded: _Loaded,
        now: datetime,
    ) -> None:
        through = loaded.occasions_through or midnight(state.term.start)
        wake_ups = [next_due(state, through - _TICK)]
        for hook in self._on_change:
            wake_ups.append(await hook(conn, state, now))
        values = {
            "customer_id": state.customer.id,
            "namespace_id": state.namespace_id,
            "instance_id": state.instance_id,
            "state": codec.dumps(state),
            "next_due_at": min((w for w in wake_ups if w is not None), default=None),
            "occasions_through": through,
            "updated_at": now_wall(),
        }
        if loaded.exists:
            await conn.execute(
                update(SUBSCRIPTIONS)
                .where(SUBSCRIPTIONS.c.id == state.id)
                .values(version=SUBSCRIPTIONS.c.version + 1, **values)
            )
        else:
            await conn.execute(
                SUBSCRIPTIONS.insert().values(
                    id=state.id, version=1, created_at=now_wall(), **values
                )
            )
            loaded.exists = True
        loaded.state, loaded.occasions_through = state, through

    async def _mark(
        self,
        conn: AsyncConnection,
        event_id: str,
        status: EventStatus,
        error: str | None,
        now: datetime,
        batch: _Batch,
    ) -> None:
        await conn.execute(
            update(INBOX)
            .where(INBOX.c.id == event_id)
            .values(status=status, error=error, processed_at=now_wall())
        )
        batch.count(status)

    def _finish(self, batch: _Batch) -> None:
        for status, n in batch.statuses.items():
            self._metrics.events_processed.labels(status).inc(n)
        if batch.emails:
            self._on_enqueued()


def _order(row: Any) -> tuple[datetime, datetime, str]:
    return (row.occurred_at, row.received_at, row.id)


def now_wall() -> datetime:
    """Real time, for bookkeeping columns (business time is the clock's)."""
    return datetime.now(UTC)
