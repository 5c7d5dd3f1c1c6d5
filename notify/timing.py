"""Real time and waiting: the wall clock, and the wait for a stop, a wake-up or an interval.

Business time (reminders, renewals, the test clock) is ``notify.clock``'s; the wall clock here
is for bookkeeping columns, leases and backoff, which measure how long things really took.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime


def wall_clock() -> datetime:
    """The real time, aware UTC."""
    return datetime.now(UTC)


async def wait_for_either(
    stop: asyncio.Event, wakeup: asyncio.Event | None, interval: float
) -> None:
    """Return when ``stop`` or ``wakeup`` is set, or after ``interval`` seconds; clear the
    wake-up, so the next wait waits for the next one."""
    waiters = [asyncio.ensure_future(stop.wait())]
    if wakeup is not None:
        waiters.append(asyncio.ensure_future(wakeup.wait()))
    try:
        await asyncio.wait(waiters, timeout=interval, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waiter
    if wakeup is not None:
        wakeup.clear()
