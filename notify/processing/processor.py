"""The processor: stored events and due occasions through the billing core, into rows.

One transaction takes a batch of subscriptions with work (``batch.Batch``). Two kinds of pass
feed it: the events pass takes the subscriptions (and customers) of the oldest accepted
events; the occasions pass takes the subscriptions whose ``next_due_at`` has come, with any
accepted events they still have (an event stored just after the last events pass read the
inbox is never overtaken by a later occasion).

Concurrency: on PostgreSQL a transaction-scoped advisory lock per subscription keeps two
workers off the same subscription (one that cannot take it leaves that subscription for later);
on SQLite the transaction starts with BEGIN IMMEDIATE, which serializes writers, and runs whole
in one thread call (``notify.db.engine.in_one_call``). Exactly-once effects come from keys: the
billing core ignores a command key it applied already, invoices are unique on the core's
invoice key and outbox rows on their idempotency key.

A batch that fails for a reason other than the database being away (a bug tripped by one
subscription's data) is retried one subscription per transaction, so one subscription cannot
hold up the others.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from notify.clock import Clock
from notify.db.engine import Statements, in_one_call
from notify.intake import Intake
from notify.mail.enqueue import Enqueuer
from notify.metrics import Metrics
from notify.processing import locks
from notify.processing.batch import Batch
from notify.processing.statements import ANY_ACCEPTED, DUE, OLDEST, SUBSCRIPTIONS
from notify.processing.writes import ChangeHook
from notify.timing import wait_for_either

log = logging.getLogger(__name__)
# Failures that say the database is away, not that a batch holds bad data: retrying the batch
# one subscription at a time would only fail as many more times.
_UNAVAILABLE = (OperationalError, InterfaceError, OSError, TimeoutError)
Target = tuple[str | None, str | None]  # (subscription id, customer id) of an accepted event


class Processor:
    """Applies stored events and due occasions. Run :meth:`run`, or drain with the ``*_once``."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        clock: Clock,
        metrics: Metrics,
        enqueuer: Enqueuer,
        on_enqueued: Callable[[], None] = lambda: None,
        on_change: Sequence[ChangeHook] = (),
        batch_size: int = 100,
        intake: Intake | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._metrics = metrics
        self._enqueuer = enqueuer
        self._on_enqueued = on_enqueued
        self._on_change = tuple(on_change)
        self._batch_size = batch_size
        self._intake = intake or Intake()

    # -- driving -------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event, wakeup: asyncio.Event, interval: float) -> None:
        """Process until ``stop``: woken by new events, and every ``interval`` for occasions."""
        while not stop.is_set():
            try:
                await self.drain(stop)
            except Exception:
                log.exception("processor.pass_failed")
            await wait_for_either(stop, wakeup, interval)

    async def drain(self, stop: asyncio.Event | None = None) -> int:
        """Process every pending event, then every occasion due by now; return the work done.
        With ``stop``, return early once it is set (between transactions)."""
        done = 0
        for step in (self.events_once, self.occasions_once):
            while not (stop is not None and stop.is_set()):
                async with self._intake.turn():
                    handled = await step()
                if not handled:
                    break
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
            events = await conn.execute(ANY_ACCEPTED)
            due = await conn.execute(
                select(SUBSCRIPTIONS.c.id).where(SUBSCRIPTIONS.c.next_due_at <= now).limit(1)
            )
            return events.first() is not None or due.first() is not None

    async def events_once(self) -> int:
        """One transaction's worth of pending events; returns how many were handled."""
        now = await self._clock.now()
        return await self._batch_or_each(
            "events", lambda targets: self._events(now, targets), self._targets
        )

    async def occasions_once(self, now: datetime | None = None) -> int:
        """Apply the occasions due by ``now`` for one batch of subscriptions; return how many
        subscriptions were brought up to date."""
        at = now or await self._clock.now()
        return await self._batch_or_each(
            "occasions", lambda ids: self._occasions(at, ids), lambda c: self._due(c, at)
        )

    async def _batch_or_each(
        self,
        kind: str,
        run: Callable[[list[Any] | None], Awaitable[int]],
        candidates: Callable[[Statements], Awaitable[list[Any]]],
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

    # -- the two passes ------------------------------------------------------------------------

    async def _events(self, now: datetime, targets: list[Target] | None) -> int:
        async def transaction(conn: Statements) -> Batch:
            batch = self._batch(conn, now)
            found = await self._targets(conn) if targets is None else targets
            wanted = [s for s, _ in found if s is not None]
            customers = [c for s, c in found if s is None and c is not None]
            await batch.run(await locks.take(conn, wanted, "sub"), customers)
            await batch.flush()
            return batch

        batch = await in_one_call(self._engine, transaction)
        self._finish(batch)
        return len(batch.writes.marks)

    async def _occasions(self, now: datetime, ids: list[str] | None) -> int:
        async def transaction(conn: Statements) -> tuple[Batch, int]:
            batch = self._batch(conn, now)
            found = await self._due(conn, now) if ids is None else ids
            taken = await locks.take(conn, found, "sub")
            await batch.run(taken)
            await batch.flush()
            return batch, len(taken)

        batch, done = await in_one_call(self._engine, transaction)
        self._finish(batch)
        return done

    def _batch(self, conn: Statements, now: datetime) -> Batch:
        return Batch(conn, now, self._enqueuer, self._on_change)

    async def _due(self, conn: Statements, now: datetime) -> list[str]:
        """Up to ``batch_size`` subscriptions with something due by ``now``, earliest first."""
        due = await conn.execute(DUE, {"now": now, "limit": self._intake.batch(self._batch_size)})
        return [row[0] for row in due]

    async def _targets(self, conn: Statements) -> list[Target]:
        """Up to ``batch_size`` subscriptions (or customers, for customer-level events) with
        accepted events, those with the oldest events first."""
        size = self._intake.batch(self._batch_size)
        rows = await conn.execute(OLDEST, {"limit": size * 4})
        targets = dict.fromkeys((row[0], row[1]) for row in rows)
        return list(targets)[:size]

    def _finish(self, batch: Batch) -> None:
        marks = batch.writes.marks.values()
        for status, n in collections.Counter(status for status, _ in marks).items():
            self._metrics.events_processed.labels(status).inc(n)
        if batch.writes.outbox:
            self._on_enqueued()
