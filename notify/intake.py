"""Intake first: the background work makes way while webhooks are arriving.

``notify serve`` answers webhooks and runs the processor and delivery in one event loop (one
process, CONTRACT §1). Left alone, a backlog's processing and sending take the loop in turns
of tens of milliseconds and a burst of webhooks waits behind them. ``Intake`` is what the HTTP
side tells the background: when a webhook last arrived and how many wait to be stored. While
it is busy, the background works in smaller steps, one at a time across all its tasks, each
followed by a pause of a multiple of the time it took (``turn``): the loop is then mostly the
HTTP path's, and the backlog still moves, at a bounded share, until the burst ends and it runs
at full speed again.
The decision is in ``docs/decisions.md`` ("Intake first").
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class IntakePolicy:
    """How much room the background leaves while webhooks arrive."""

    # A webhook within this many seconds means a burst is still on.
    window: float = 0.1
    # After a step of t seconds the background pauses share × t: it gets 1 / (1 + share) of
    # the loop at most while intake is busy (a quarter with 3.0).
    share: float = 3.0
    # One pause never longer than this, so the backlog keeps moving.
    max_pause: float = 0.1
    # The processor's batch while busy (100 otherwise): short write transactions, so a
    # webhook's commit does not queue behind one.
    busy_batch: int = 10


class Intake:
    """The HTTP intake's pressure, as the background sees it."""

    def __init__(
        self,
        policy: IntakePolicy | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        pause: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.policy = policy or IntakePolicy()
        self.clock = clock  # seconds, monotonic: when webhooks arrive and how long steps take
        self._pause = pause
        self._last = float("-inf")
        self._turns = asyncio.Lock()
        self.waiting = 0  # receipts handed to the inbox and not stored yet

    def arrived(self) -> None:
        """A webhook was received."""
        self._last = self.clock()

    @property
    def busy(self) -> bool:
        """Webhooks are arriving, or waiting to be stored."""
        return self.waiting > 0 or self.clock() - self._last < self.policy.window

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Around one step of background work (a processor transaction, a delivery pass).

        While busy, the steps of every background task take turns, one at a time, and each
        turn ends with a pause of ``share`` times the step's length: the background as a whole,
        not each of its tasks, keeps to its share of the loop. Otherwise steps run freely.
        """
        if not self.busy:
            yield
            return
        async with self._turns:
            started = self.clock()
            yield
            worked = self.clock() - started
            if self.busy:
                await self._pause(min(worked * self.policy.share, self.policy.max_pause))

    def batch(self, usual: int) -> int:
        """The processor's batch size now: small while busy."""
        return min(usual, self.policy.busy_batch) if self.busy else usual
