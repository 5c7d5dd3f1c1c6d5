"""The processor: stored events and due occasions through the billing core, into rows.

One transaction takes a batch of subscriptions with work: it reads their states and pending
events with one query each, applies the events of each subscription in ``timestamp`` order (the
occasions that fell due before each event first, then those due by now), and writes the new
states, the invoices (numbered from one gapless counter), an outbox row per email and recipient,
and each event's status, each kind of row with one statement for the whole batch. Events of a
subscription not known yet are held and applied when its ``subscription.created`` arrives;
customer-level events (payment method, customer details) fan out to every subscription of that
customer.

Concurrency: on PostgreSQL a transaction-scoped advisory lock per subscription keeps two
workers off the same subscription (one that cannot take it leaves that subscription for later);
on SQLite the transaction starts with BEGIN IMMEDIATE, which serializes writers. Exactly-once
effects come from keys: the billing core ignores a command key it applied already, invoices are
unique on the core's invoice key and outbox rows on their idempotency key. Invoice numbers are
taken from the counter row, locked for the rest of the transaction, so they have no gaps.

A batch that fails for a reason other than the database being away (a bug tripped by one
subscription's data) is retried one subscription per transaction, so one subscription cannot
hold up the others.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import json
import logging
import zlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, text, update
from sqlalchemy.exc import InterfaceError, OperationalError
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
from notify.db.clauses import one_of
from notify.db.engine import dialect_insert, write_transaction
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
_INVOICE_COUNTER = "invoice"
# A row of the inbox with the columns in _EVENT_COLUMNS.
_Event = Any
# Failures that say the database is away, not that a batch holds bad data: retrying the batch
# one subscription at a time would only fail as many more times.
_UNAVAILABLE = (OperationalError, InterfaceError, OSError, TimeoutError)

# Runs in the transaction that saves a batch of subscriptions, once for the whole batch; returns,
# per subscription in the order given, when it next wants to run for it (a time boundary of its
# own, such as a feed item's), or None.
ChangeHook = Callable[
    [AsyncConnection, Sequence[Subscription], datetime], Awaitable[Sequence[datetime | None]]
]

# -- statements, built once ------------------------------------------------------------------

_EVENT_COLUMNS = (
    INBOX.c.id,
    INBOX.c.body,
    INBOX.c.occurred_at,
    INBOX.c.received_at,
    INBOX.c.subscription_id,
    INBOX.c.customer_id,
)
_ORDER = (INBOX.c.occurred_at, INBOX.c.received_at, INBOX.c.id)
# The oldest accepted events, in index order: their subscriptions (or customers) are the batch.
# Reading a bounded run of the index keeps the cost of a batch independent of the backlog.
_OLDEST = (
    select(INBOX.c.subscription_id, INBOX.c.customer_id)
    .where(INBOX.c.status == EventStatus.ACCEPTED)
    .order_by(INBOX.c.occurred_at)
    .limit(bindparam("limit"))
)
_PENDING_OF_SUBSCRIPTIONS = (
    select(*_EVENT_COLUMNS)
    .where(one_of(INBOX.c.subscription_id, "ids") & (INBOX.c.status == EventStatus.ACCEPTED))
    .order_by(*_ORDER)
)
_PENDING_OF_CUSTOMER = (
    select(*_EVENT_COLUMNS)
    .where(
        (INBOX.c.customer_id == bindparam("customer"))
        & INBOX.c.subscription_id.is_(None)
        & (INBOX.c.status == EventStatus.ACCEPTED)
    )
    .order_by(*_ORDER)
)
# Events that waited for subscriptions about to be created: their own, and their customers'.
_HELD_FOR = select(*_EVENT_COLUMNS).where(
    (INBOX.c.status == EventStatus.HELD)
    & (
        one_of(INBOX.c.subscription_id, "ids")
        | (one_of(INBOX.c.customer_id, "customers") & INBOX.c.subscription_id.is_(None))
    )
)
_MARK = (
    update(INBOX)
    .where(INBOX.c.id == bindparam("b_id"))
    .values(
        status=bindparam("b_status"), error=bindparam("b_error"), processed_at=bindparam("b_at")
    )
)
_STATES = select(
    SUBSCRIPTIONS.c.id, SUBSCRIPTIONS.c.state, SUBSCRIPTIONS.c.occasions_through
).where(one_of(SUBSCRIPTIONS.c.id, "ids"))
_SUBSCRIPTIONS_OF_CUSTOMER = (
    select(SUBSCRIPTIONS.c.id)
    .where(SUBSCRIPTIONS.c.customer_id == bindparam("customer"))
    .order_by(SUBSCRIPTIONS.c.id)
)
_DUE = (
    select(SUBSCRIPTIONS.c.id)
    .where(SUBSCRIPTIONS.c.next_due_at <= bindparam("now"))
    .order_by(SUBSCRIPTIONS.c.next_due_at)
    .limit(bindparam("limit"))
)
_SAVE_COLUMNS = (
    "customer_id",
    "namespace_id",
    "instance_id",
    "state",
    "next_due_at",
    "occasions_through",
    "updated_at",
)
_INSERT_SUBSCRIPTION = SUBSCRIPTIONS.insert().values(
    id=bindparam("b_id"),
    version=1,
    created_at=bindparam("b_updated_at"),
    **{name: bindparam(f"b_{name}") for name in _SAVE_COLUMNS},
)
# Time passed but nothing happened (a feed boundary, say): only the cursor and the wake-up move.
_MOVE_CURSOR = (
    update(SUBSCRIPTIONS)
    .where(SUBSCRIPTIONS.c.id == bindparam("b_id"))
    .values(
        next_due_at=bindparam("b_next_due_at"),
        occasions_through=bindparam("b_occasions_through"),
        updated_at=bindparam("b_updated_at"),
    )
)
_UPDATE_SUBSCRIPTION = (
    update(SUBSCRIPTIONS)
    .where(SUBSCRIPTIONS.c.id == bindparam("b_id"))
    .values(
        version=SUBSCRIPTIONS.c.version + 1,
        **{name: bindparam(f"b_{name}") for name in _SAVE_COLUMNS},
    )
)
_EXISTING_INVOICES = select(INVOICES.c.key).where(one_of(INVOICES.c.key, "keys"))
_INVOICE_KEY_BY_NUMBER = select(INVOICES.c.key).where(
    (INVOICES.c.number == bindparam("number")) & (INVOICES.c.subscription_id == bindparam("sub"))
)
_INVOICE_NUMBER_BY_KEY = select(INVOICES.c.number).where(INVOICES.c.key == bindparam("key"))
_SET_COUNTER = (
    update(COUNTERS).where(COUNTERS.c.name == bindparam("b_name")).values(value=bindparam("b_v"))
)


@dataclass
class _Sub:
    """A subscription as this transaction sees it."""

    state: Subscription | None
    exists: bool
    occasions_through: datetime | None
    dirty: bool = False
    stored: Subscription | None = None  # the state as read, to tell whether it changed


@dataclass
class _Unit:
    """One transaction: what it read, and the writes it flushes at the end in few statements."""

    conn: AsyncConnection
    now: datetime
    subs: dict[str, _Sub] = field(default_factory=dict)
    # Event id → (status, error); a later status of the same event replaces an earlier one.
    marks: dict[str, tuple[EventStatus, str | None]] = field(default_factory=dict)
    # Events this transaction held (not yet written as such), and held events it read.
    held: dict[str, _Event] = field(default_factory=dict)
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)  # key → new row
    numbers: dict[str, str | None] = field(default_factory=dict)  # invoice key → number
    keys: dict[tuple[str, str], str] = field(default_factory=dict)  # (number, sub) → key
    invoice_updates: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    counter: int | None = None  # the last invoice number taken, once the counter is locked

    def mark(self, event: _Event, status: EventStatus, error: str | None = None) -> None:
        self.marks[event.id] = (status, error)
        if status == EventStatus.HELD:
            self.held[event.id] = event

    def still_held(self, event: _Event) -> bool:
        mark = self.marks.get(event.id)
        return mark is None or mark[0] == EventStatus.HELD


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
        batch_size: int = 100,
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
        insert = dialect_insert(engine.dialect.name)
        self._insert_outbox = insert(OUTBOX).on_conflict_do_nothing(
            index_elements=["idempotency_key"]
        )
        # Locks the counter row for the rest of the transaction and reads it (creating it at 0).
        self._take_counter = (
            insert(COUNTERS)
            .values(name=bindparam("b_name"), value=0)
            .on_conflict_do_update(index_elements=["name"], set_={"value": COUNTERS.c.value})
            .returning(COUNTERS.c.value)
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
        return await self._batch_or_each(
            "events", lambda targets: self._events_unit(now, targets), self._targets
        )

    async def occasions_once(self, now: datetime | None = None) -> int:
        """Apply the occasions due by ``now`` for one batch of subscriptions; return how many
        subscriptions were brought up to date."""
        at = now or await self._clock.now()
        return await self._batch_or_each(
            "occasions", lambda ids: self._occasions_unit(at, ids), lambda c: self._due(c, at)
        )

    async def _batch_or_each(
        self,
        kind: str,
        run: Callable[[list[Any] | None], Awaitable[int]],
        candidates: Callable[[AsyncConnection], Awaitable[list[Any]]],
    ) -> int:
        """``run(None)``: one transaction for a whole batch. Should it fail for a reason other
        than the database being away, run each candidate in a transaction of its own, so that one
        subscription's bad data holds up only itself."""
        try:
            return await run(None)
        except _UNAVAILABLE:
            raise
        except Exception:
            log.exception("processor.batch_failed kind=%s; retrying one at a time", kind)
        async with self._engine.connect() as conn:
            found = await candidates(conn)
        done = 0
        for candidate in found:
            try:
                done += await run([candidate])
            except _UNAVAILABLE:
                raise
            except Exception:
                log.exception("processor.target_failed kind=%s target=%s", kind, candidate)
        return done

    async def _events_unit(
        self, now: datetime, targets: list[tuple[str | None, str | None]] | None
    ) -> int:
        async with write_transaction(self._engine) as conn:
            unit = _Unit(conn, now)
            if targets is None:
                targets = await self._targets(conn)
            wanted = [s for s, _ in targets if s is not None]
            locked = set(await self._lock(conn, wanted, "sub"))
            ids = [s for s in wanted if s in locked]
            await self._prefetch(unit, ids)
            pending = await self._pending(conn, ids)
            await self._prefetch_held(unit, pending)
            for subscription_id, customer_id in targets:
                if subscription_id is not None:
                    if subscription_id in locked:
                        await self._process_subscription(unit, subscription_id, pending)
                elif customer_id is not None:
                    await self._process_customer(unit, customer_id)
            await self._flush(unit)
        self._finish(unit)
        return len(unit.marks)

    async def _occasions_unit(self, now: datetime, ids: list[str] | None) -> int:
        async with write_transaction(self._engine) as conn:
            unit = _Unit(conn, now)
            if ids is None:
                ids = await self._due(conn, now)
            ids = await self._lock(conn, ids, "sub")
            await self._prefetch(unit, ids)
            # Events accepted for these subscriptions but not applied yet (they arrived after
            # the last events pass read the inbox) go in first, each after what fell due before
            # it: occasions never run ahead of an event that happened earlier.
            pending = await self._pending(conn, ids)
            for subscription_id in ids:
                await self._process_subscription(unit, subscription_id, pending)
            await self._flush(unit)
        self._finish(unit)
        return len(ids)

    # -- events --------------------------------------------------------------------------------

    async def _pending(self, conn: AsyncConnection, ids: list[str]) -> dict[str, list[_Event]]:
        """The accepted events of ``ids``, in order, by subscription (one query)."""
        pending: dict[str, list[_Event]] = {s: [] for s in ids}
        if ids:
            for event in await conn.execute(_PENDING_OF_SUBSCRIPTIONS, {"ids": ids}):
                pending[event.subscription_id].append(event)
        return pending

    async def _process_subscription(
        self, unit: _Unit, subscription_id: str, pending: dict[str, list[_Event]]
    ) -> None:
        sub = unit.subs[subscription_id]
        work = list(pending.get(subscription_id, ()))
        while work:
            event = work.pop(0)
            if sub.state is not None:
                # What fell due before the event happened comes first (a usage report after a
                # reconciliation date must not count in the quarter already reconciled).
                await self._apply_occasions(unit, sub, min(event.occurred_at, unit.now + _TICK))
            was_new = sub.state is None
            sub.state = await self._apply_event(unit, sub.state, event, subscription_id)
            if was_new and sub.state is not None:
                sub.occasions_through = midnight(sub.state.term.start)
                work.extend(self._held_for(unit, sub.state))
                work.sort(key=_order)
        if sub.state is not None:
            await self._apply_occasions(unit, sub, unit.now + _TICK)
            sub.dirty = True

    async def _process_customer(self, unit: _Unit, customer_id: str) -> None:
        conn = unit.conn
        if not await self._lock(conn, [customer_id], "cus"):
            return
        events = list(await conn.execute(_PENDING_OF_CUSTOMER, {"customer": customer_id}))
        stored = (await conn.execute(_SUBSCRIPTIONS_OF_CUSTOMER, {"customer": customer_id})).all()
        ids = sorted(
            {row[0] for row in stored}
            | {
                s
                for s, sub in unit.subs.items()
                if sub.state is not None and sub.state.customer.id == customer_id
            }
        )
        if not ids:
            for event in events:
                unit.mark(event, EventStatus.HELD)
            return
        if len(await self._lock(conn, ids, "sub")) < len(ids):
            return  # another worker has one of them; the whole fan-out waits for later
        await self._prefetch(unit, ids)
        for subscription_id in ids:
            sub = unit.subs[subscription_id]
            for event in events:
                sub.state = await self._apply_event(
                    unit, sub.state, event, subscription_id, fan_out=True
                )
            sub.dirty = True
        for event in events:
            unit.mark(event, EventStatus.PROCESSED)

    async def _apply_event(
        self,
        unit: _Unit,
        state: Subscription | None,
        event: _Event,
        subscription_id: str,
        *,
        fan_out: bool = False,
    ) -> Subscription | None:
        """Apply one stored event; mark it (unless fanned out) and return the new state."""
        parsed = parse_event(event.body.encode())
        if state is None and not isinstance(parsed.data, SubscriptionCreated):
            unit.mark(event, EventStatus.HELD)
            return None
        invoice_key = await self._invoice_key(unit, parsed, subscription_id)
        try:
            command = to_command(
                parsed.data,
                Context(
                    key=event.id,
                    at=parsed.timestamp,
                    subscription_id=subscription_id,
                    currency=None if state is None else state.unit_price.currency,
                    invoice_key=invoice_key,
                ),
            )
        except Untranslatable as exc:
            if not fan_out:
                unit.mark(event, EventStatus.REJECTED, str(exc))
            return state
        result = apply(state, command, unit.now)
        if isinstance(result, Rejected):
            if not fan_out:
                unit.mark(event, EventStatus.REJECTED, f"{result.code}: {result.reason}")
            return state
        await self._record(unit, result)
        if isinstance(parsed.data, PaymentFailed) and invoice_key is not None:
            self._update_invoice(unit, invoice_key, {"payment_failed_at": parsed.timestamp})
        if not fan_out:
            unit.mark(event, EventStatus.PROCESSED)
        return result.state

    async def _invoice_key(
        self, unit: _Unit, parsed: ParsedEvent, subscription_id: str
    ) -> str | None:
        """The core's key of the invoice a payment event names (None when unknown)."""
        if not isinstance(parsed.data, PaymentSucceeded | PaymentFailed):
            return None
        name = (parsed.data.invoice_number, subscription_id)
        if name not in unit.keys:
            found = await unit.conn.execute(
                _INVOICE_KEY_BY_NUMBER, {"number": name[0], "sub": subscription_id}
            )
            key = found.scalar_one_or_none()
            if key is None:
                return None
            unit.keys[name] = key
            unit.numbers[key] = name[0]
        return unit.keys[name]

    # -- occasions -----------------------------------------------------------------------------

    async def _apply_occasions(self, unit: _Unit, sub: _Sub, until: datetime) -> None:
        """Apply, in date order, every occasion due in [occasions_through, until); move the
        cursor to ``until``. The unit's ``now`` is the business time the core decides
        supersession with."""
        assert sub.occasions_through is not None and sub.state is not None
        start = sub.occasions_through
        if start >= until:
            return
        state = sub.state
        seen: set[str] = set()
        for _ in range(_MAX_OCCASIONS_PER_PASS):
            pending = [o for o in occasions(state, start, until) if o.key not in seen]
            if not pending:
                break
            occasion = pending[0]
            seen.add(occasion.key)
            result = apply(state, occasion, unit.now)
            if isinstance(result, Rejected):
                log.warning(
                    "processor.occasion_rejected key=%s code=%s reason=%s",
                    occasion.key,
                    result.code,
                    result.reason,
                )
                continue
            await self._record(unit, result)
            state = result.state
        else:
            log.error("processor.occasion_limit subscription_id=%s", state.id)
        sub.state = state
        sub.occasions_through = until

    # -- outcomes ------------------------------------------------------------------------------

    async def _record(self, unit: _Unit, result: Applied) -> None:
        for outcome in result.outcomes:
            if isinstance(outcome, InvoiceIssued):
                await self._issue(unit, outcome)
            elif isinstance(outcome, InvoicePaid):
                self._update_invoice(unit, outcome.invoice_key, {"paid_at": unit.now})
            elif isinstance(outcome, NoticeDue):
                await self._enqueue(unit, result.state, outcome)

    async def _issue(self, unit: _Unit, outcome: InvoiceIssued) -> None:
        """Number the invoice with the next number of the gapless sequence.

        The first invoice of a transaction locks the counter row (on PostgreSQL concurrent
        issuers wait for this commit) and reads it; the rest count on from there, and the flush
        writes the last number taken. A rollback gives every number back.
        """
        invoice = outcome.invoice
        if invoice.key in unit.numbers:
            return
        if unit.counter is None:
            taken = await unit.conn.execute(self._take_counter, {"b_name": _INVOICE_COUNTER})
            unit.counter = int(taken.scalar_one())
        unit.counter += 1
        number = f"INV-{unit.counter:06d}"
        unit.numbers[invoice.key] = number
        unit.keys[(number, invoice.subscription_id)] = invoice.key
        unit.invoices[invoice.key] = {
            "number": number,
            "key": invoice.key,
            "subscription_id": invoice.subscription_id,
            "purpose": invoice.purpose.value,
            "currency": invoice.currency,
            "total": str(invoice.total.amount),
            "lines": codec.dumps(invoice.lines),
            "issued_on": invoice.issued_on,
            "created_at": unit.now,
            "paid_at": None,
            "payment_failed_at": None,
        }

    def _update_invoice(self, unit: _Unit, key: str, values: dict[str, Any]) -> None:
        new = unit.invoices.get(key)
        if new is not None:
            new.update(values)
        else:
            unit.invoice_updates.append((key, values))

    async def _enqueue(self, unit: _Unit, state: Subscription, notice: NoticeDue) -> None:
        spec = email_for(state, notice, self._branding)
        context = dict(spec.context)
        invoice_key = notice.facts.get("invoice_key")
        if isinstance(invoice_key, str):
            if invoice_key not in unit.numbers:
                found = await unit.conn.execute(_INVOICE_NUMBER_BY_KEY, {"key": invoice_key})
                unit.numbers[invoice_key] = found.scalar_one_or_none()
            context["invoice_number"] = unit.numbers[invoice_key]
        body = json.dumps(context, separators=(",", ":"))
        at = now_wall()
        for recipient in spec.recipients:
            key = f"{notice.key}:{recipient.lower()}"
            unit.outbox.append(
                {
                    "idempotency_key": key,
                    "kind": spec.kind,
                    "subscription_id": state.id,
                    "recipient": recipient,
                    "context": body,
                    "message_id": self._message_id(key),
                    "status": OutboxStatus.PENDING,
                    "attempts": 0,
                    "next_attempt_at": at,
                    "created_at": at,
                }
            )

    def _message_id(self, idempotency_key: str) -> str:
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
        return f"<{digest}@{self._domain}>"

    # -- reads ---------------------------------------------------------------------------------

    async def _due(self, conn: AsyncConnection, now: datetime) -> list[str]:
        """Up to ``batch_size`` subscriptions with something due by ``now``, earliest first."""
        due = await conn.execute(_DUE, {"now": now, "limit": self._batch_size})
        return [row[0] for row in due]

    async def _targets(self, conn: AsyncConnection) -> list[tuple[str | None, str | None]]:
        """Up to ``batch_size`` subscriptions (or customers, for customer-level events) with
        accepted events, those with the oldest events first."""
        rows = await conn.execute(_OLDEST, {"limit": self._batch_size * 4})
        targets = dict.fromkeys((row[0], row[1]) for row in rows)
        return list(targets)[: self._batch_size]

    async def _lock(self, conn: AsyncConnection, names: Sequence[str], kind: str) -> list[str]:
        """Take the advisory locks of those not taken by another transaction; return them."""
        if not self._postgres or not names:
            return list(names)  # on SQLite BEGIN IMMEDIATE already holds the only write lock
        keys = {zlib.crc32(f"{kind}:{name}".encode()) - 2**31: name for name in names}
        taken = await conn.execute(
            text(
                "SELECT k FROM unnest(CAST(:keys AS bigint[])) AS k "
                "WHERE pg_try_advisory_xact_lock(k)"
            ),
            {"keys": sorted(keys)},
        )
        got = {keys[k] for (k,) in taken}
        return [name for name in names if name in got]

    async def _prefetch(self, unit: _Unit, ids: Iterable[str]) -> None:
        """Load the subscriptions this transaction has not seen yet, in one query."""
        missing = [s for s in dict.fromkeys(ids) if s not in unit.subs]
        if not missing:
            return
        for s in missing:
            unit.subs[s] = _Sub(state=None, exists=False, occasions_through=None)
        for row in await unit.conn.execute(_STATES, {"ids": missing}):
            state = codec.loads(Subscription, row.state)
            unit.subs[row.id] = _Sub(
                state=state,
                exists=True,
                occasions_through=row.occasions_through,
                stored=state,
            )

    async def _prefetch_held(self, unit: _Unit, pending: dict[str, list[_Event]]) -> None:
        """Read the events held for the subscriptions this batch is about to create."""
        conn = unit.conn
        new = [s for s, events in pending.items() if unit.subs[s].state is None and events]
        customers = {e.customer_id for s in new for e in pending[s] if e.customer_id}
        if new:
            rows = await conn.execute(_HELD_FOR, {"ids": new, "customers": sorted(customers)})
            for row in rows:
                unit.held.setdefault(row.id, row)

    def _held_for(self, unit: _Unit, state: Subscription) -> list[_Event]:
        """Events that waited for this subscription: its own, and its customer's."""
        return [
            event
            for event in unit.held.values()
            if unit.still_held(event)
            and (
                event.subscription_id == state.id
                or (event.subscription_id is None and event.customer_id == state.customer.id)
            )
        ]

    # -- writes --------------------------------------------------------------------------------

    async def _flush(self, unit: _Unit) -> None:
        conn = unit.conn
        dirty = [(s, sub) for s, sub in unit.subs.items() if sub.dirty and sub.state is not None]
        if dirty:
            await self._save(unit, dirty)
        if unit.invoices:
            existing = await conn.execute(_EXISTING_INVOICES, {"keys": list(unit.invoices)})
            clash = existing.scalars().all()
            if clash:
                raise RuntimeError(f"invoice keys issued twice: {sorted(clash)}")
            await conn.execute(INVOICES.insert(), list(unit.invoices.values()))
            await conn.execute(_SET_COUNTER, {"b_name": _INVOICE_COUNTER, "b_v": unit.counter})
        for key, values in unit.invoice_updates:
            await conn.execute(update(INVOICES).where(INVOICES.c.key == key).values(values))
        if unit.outbox:
            await conn.execute(self._insert_outbox, unit.outbox)
        if unit.marks:
            at = now_wall()
            await conn.execute(
                _MARK,
                [
                    {"b_id": event_id, "b_status": status, "b_error": error, "b_at": at}
                    for event_id, (status, error) in unit.marks.items()
                ],
            )

    async def _save(self, unit: _Unit, dirty: list[tuple[str, _Sub]]) -> None:
        states = [cast(Subscription, sub.state) for _, sub in dirty]
        hooked = [await hook(unit.conn, states, unit.now) for hook in self._on_change]
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        moves: list[dict[str, Any]] = []
        at = now_wall()
        for i, (subscription_id, sub) in enumerate(dirty):
            state = states[i]
            through = sub.occasions_through or midnight(state.term.start)
            wake_ups = [next_due(state, through - _TICK), *(h[i] for h in hooked)]
            values = {
                "b_id": subscription_id,
                "b_next_due_at": min((w for w in wake_ups if w is not None), default=None),
                "b_occasions_through": through,
                "b_updated_at": at,
            }
            if sub.exists and state is sub.stored:
                moves.append(values)
            else:
                values["b_customer_id"] = state.customer.id
                values["b_namespace_id"] = state.namespace_id
                values["b_instance_id"] = state.instance_id
                values["b_state"] = codec.dumps(state)
                (updates if sub.exists else inserts).append(values)
        for statement, rows in (
            (_INSERT_SUBSCRIPTION, inserts),
            (_UPDATE_SUBSCRIPTION, updates),
            (_MOVE_CURSOR, moves),
        ):
            if rows:
                await unit.conn.execute(statement, rows)

    def _finish(self, unit: _Unit) -> None:
        for status, n in collections.Counter(status for status, _ in unit.marks.values()).items():
            self._metrics.events_processed.labels(status).inc(n)
        if unit.outbox:
            self._on_enqueued()


def _order(row: _Event) -> tuple[datetime, datetime, str]:
    return (row.occurred_at, row.received_at, row.id)


def now_wall() -> datetime:
    """Real time, for bookkeeping columns (business time is the clock's)."""
    return datetime.now(UTC)
