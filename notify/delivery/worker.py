"""The delivery worker: claim due outbox rows, render and send each, record what happened.

One pass (:meth:`Deliverer.run_once`) claims a batch under a lease, drops what is suppressed or
opted out, sends the rest a few at a time (each with a few quick in-process retries for
transient failures), and records every outcome in one transaction. :meth:`Deliverer.run` repeats
passes until stopped: at once while there is work, else after the poll interval or a wake-up.

Delivery times are the real wall clock, never the business (test) clock: a lease or a backoff
measures how long a server has been failing, which a test clock standing still cannot tell.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from notify.config import Settings
from notify.db.models import OutboxStatus
from notify.delivery import outbox
from notify.delivery.outbox import Claimed, Outcome
from notify.delivery.policy import DEFAULT_POLICY, DeliveryPolicy, quick_retry_wait, retry_decision
from notify.delivery.tokens import unsubscribe_key
from notify.delivery.transports import Outgoing, PermanentFailure, TransientFailure, Transport
from notify.intake import Intake
from notify.mail.compose import Composer, Renders
from notify.mail.signing import Signer
from notify.metrics import Metrics
from notify.timing import wait_for_either, wall_clock

log = logging.getLogger(__name__)
# The outbox depth gauge (a count over the table) is refreshed at most this often while passes
# follow each other, and at once when a row went dead (what an operator is alerted on) or
# the pass found nothing to do.
DEPTH_REFRESH_SECONDS = 1.0


class Deliverer:
    """Delivers the outbox through one transport; several may run against one database."""

    def __init__(
        self,
        engine: AsyncEngine,
        renderer: Renders,
        transport: Transport,
        settings: Settings,
        metrics: Metrics,
        owner: str,
        *,
        policy: DeliveryPolicy = DEFAULT_POLICY,
        unsubscribe_key: bytes | None = None,
        clock: Callable[[], datetime] = wall_clock,
        rng: random.Random | None = None,
        intake: Intake | None = None,
    ) -> None:
        self._engine = engine
        self._renderer = renderer
        self._transport = transport
        self._settings = settings
        self._metrics = metrics
        self.owner = owner
        self.policy = policy
        self._key = unsubscribe_key
        self._composer: Composer | None = None
        self._clock = clock
        self._rng = rng or random.Random()
        self._passes = itertools.count(1)
        # Sends in flight across every pass of this deliverer.
        self._slots = asyncio.Semaphore(policy.concurrency)
        self._depth_at = -DEPTH_REFRESH_SECONDS
        self._expired_at = datetime.min.replace(tzinfo=UTC)
        self._intake = intake or Intake()
        # Notified at the end of every pass, for whoever waits on delivery (pass_finished).
        self._passed = asyncio.Condition()

    async def composer(self) -> Composer:
        """The composer of this deliverer's messages, built once (the key is read on first use)."""
        if self._composer is None:
            key = self._key if self._key is not None else await unsubscribe_key(self._engine)
            self._composer = Composer(
                renderer=self._renderer,
                mail_from=self._settings.mail_from,
                public_url=self._settings.public_url,
                unsubscribe_key=key,
                reply_to=self._settings.reply_to,
                signer=None if self._settings.dkim is None else Signer(self._settings.dkim),
            )
        return self._composer

    async def run_once(self, limit: int | None = None) -> int:
        """One pass of at most ``limit`` rows (the policy's batch size by default); returns how
        many rows it claimed (and recorded, lease permitting)."""
        composer = await self.composer()
        token = f"{self.owner}#{next(self._passes)}"[-64:]
        now = self._clock()
        # Rows under an expired lease are few (what a crashed worker held) and may wait a tenth
        # of a lease longer: looking for them on every pass would cost a statement per pass.
        # Once some are found, every pass looks again until none are left.
        expired = abs(now - self._expired_at) >= self.policy.lease / 10
        found = await outbox.claim(
            self._engine,
            token,
            now,
            self.policy.lease,
            limit or self.policy.batch_size,
            expired=expired,
        )
        if expired and not found.lapsed:
            self._expired_at = now
        claimed, reasons = found.rows, found.blocked
        outcomes: list[Outcome] = []
        if claimed:

            async def one(row: Claimed) -> Outcome:
                if row.id in reasons:
                    return Outcome(
                        id=row.id,
                        kind=row.kind,
                        status=OutboxStatus.SUPPRESSED,
                        extra_tries=-1,
                        last_error=reasons[row.id],
                    )
                async with self._slots:
                    return await self._deliver(composer, row)

            outcomes = await asyncio.gather(*(one(row) for row in claimed))
            applied = await outbox.record(self._engine, token, outcomes, self._clock())
            for outcome in outcomes:
                if outcome.id not in applied:
                    log.warning("outbox.lease_lost notification_id=%s", outcome.id)
                elif outcome.status != OutboxStatus.PENDING:
                    self._metrics.notifications.labels(outcome.kind, outcome.status).inc()
        went_dead = any(o.status == OutboxStatus.DEAD for o in outcomes)
        stale = time.monotonic() - self._depth_at >= DEPTH_REFRESH_SECONDS
        if not claimed or went_dead or stale:
            await self.refresh_depth()
        async with self._passed:
            self._passed.notify_all()
        return len(claimed)

    async def pass_finished(self) -> None:
        """Return when the next pass of this deliverer has finished, whatever it found: a
        caller waiting for rows to be delivered checks them again then, rather than at a guess.
        An idle deliverer still passes once every poll interval."""
        async with self._passed:
            await self._passed.wait()

    async def close(self) -> None:
        """Release the transport's connections."""
        await self._transport.close()

    async def refresh_depth(self) -> None:
        self._depth_at = time.monotonic()
        for status, count in (await outbox.depth(self._engine)).items():
            self._metrics.outbox_depth.labels(status).set(count)

    async def _deliver(self, composer: Composer, row: Claimed) -> Outcome:
        if row.attempts > self.policy.max_attempts:
            # Claimed again and again without a record: the worker died on it each time.
            return Outcome(
                id=row.id,
                kind=row.kind,
                status=OutboxStatus.DEAD,
                extra_tries=-1,
                last_error="out of attempts: leases expired without a result",
            )
        # The message's Date is the moment it is composed, and a sent row records that same
        # moment as sent_at: composing the row again at sent_at gives the bytes that went out.
        composed_at = self._clock()
        try:
            message = composer.compose(row.letter(), composed_at)
        except Exception as exc:
            # A template or context bug: no server was asked, and retrying will not help.
            log.exception("outbox.render_failed notification_id=%s kind=%s", row.id, row.kind)
            return Outcome(
                id=row.id,
                kind=row.kind,
                status=OutboxStatus.FAILED,
                extra_tries=-1,
                last_error=f"render failed: {type(exc).__name__}: {exc}",
            )
        tries = 0
        try:
            while True:
                tries += 1
                try:
                    await self._send(message, row.recipient)
                    break
                except TransientFailure:
                    if tries >= self.policy.tries:
                        raise
                    await asyncio.sleep(quick_retry_wait(tries, self.policy))
        except TransientFailure as exc:
            return self._transient(row, tries, str(exc))
        except PermanentFailure as exc:
            log.warning(
                "outbox.delivery_refused notification_id=%s attempt=%s error=%s",
                row.id,
                row.attempts + tries - 1,
                exc,
            )
            return Outcome(
                id=row.id,
                kind=row.kind,
                status=OutboxStatus.FAILED,
                extra_tries=tries - 1,
                last_error=str(exc),
                suppress=(row.recipient, str(exc)) if exc.suppress else None,
            )
        return Outcome(
            id=row.id,
            kind=row.kind,
            status=OutboxStatus.SENT,
            extra_tries=tries - 1,
            sent_at=composed_at,
        )

    def _transient(self, row: Claimed, tries: int, error: str) -> Outcome:
        attempts = row.attempts + tries - 1
        decision = retry_decision(attempts, self._clock(), self._rng, self.policy)
        log.warning(
            "outbox.delivery_failed notification_id=%s attempt=%s give_up=%s error=%s",
            row.id,
            attempts,
            decision.give_up,
            error,
        )
        return Outcome(
            id=row.id,
            kind=row.kind,
            status=OutboxStatus.DEAD if decision.give_up else OutboxStatus.PENDING,
            extra_tries=tries - 1,
            last_error=error,
            next_attempt_at=decision.next_attempt_at,
        )

    async def _send(self, message: Outgoing, recipient: str) -> None:
        started = time.perf_counter()
        result = "sent"
        try:
            async with asyncio.timeout(self.policy.send_timeout):
                await self._transport.send(message, recipient)
        except TimeoutError as exc:
            result = "transient"
            raise TransientFailure(f"timeout after {self.policy.send_timeout} s") from exc
        except TransientFailure:
            result = "transient"
            raise
        except PermanentFailure:
            result = "permanent"
            raise
        except Exception as exc:
            # Transports translate every failure they know, the transient ones included.
            # Anything else (a bug, a message the transport cannot encode) fails the same way
            # on every try: retrying it would keep the row pending until its attempts run out.
            result = "permanent"
            log.exception("outbox.transport_error")
            raise PermanentFailure(
                f"unexpected error: {type(exc).__name__}: {exc}", suppress=False
            ) from exc
        finally:
            self._metrics.delivery_attempts.labels(result).inc()
            self._metrics.delivery_latency.observe(time.perf_counter() - started)

    async def run(self, stop: asyncio.Event, wakeup: asyncio.Event | None = None) -> None:
        """Deliver until ``stop`` is set; the passes under way are finished first.

        ``policy.lanes`` passes run side by side, each of an equal share of the batch size and
        all sharing the ``concurrency`` sends in flight: while one pass records its outcomes
        and claims its next rows, the other keeps the connections busy. Rows in flight are
        bounded as with one pass of the whole batch, so the lease bound holds.
        """
        share = -(-self.policy.batch_size // self.policy.lanes)
        lanes = [self._lane(stop, wakeup, share) for _ in range(self.policy.lanes)]
        await asyncio.gather(*lanes)

    async def _lane(self, stop: asyncio.Event, wakeup: asyncio.Event | None, limit: int) -> None:
        while not stop.is_set():
            try:
                async with self._intake.turn():
                    handled = await self.run_once(limit)
            except Exception:
                # Most often the database is away; the next pass tries again.
                log.exception("outbox.pass_failed owner=%s", self.owner)
                handled = 0
            if handled == 0:
                await wait_for_either(stop, wakeup, self.policy.poll_interval)
