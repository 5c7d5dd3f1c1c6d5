"""The background work of a process: the processor (events and occasions) and delivery.

``notify serve`` runs it beside the HTTP API (unless ``--no-worker``); ``notify worker`` runs it
alone. The composition root (``notify.services``) builds it, so the two never differ in what
they run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from notify.delivery.worker import Deliverer
from notify.processing import Processor

log = logging.getLogger(__name__)
# How long stop() lets a delivery pass under way finish before cancelling it.
STOP_GRACE = 30.0


class Background:
    """Starts and stops the long-running tasks; :meth:`poke` wakes the processor early."""

    def __init__(
        self,
        processor: Processor,
        deliverer: Callable[[], Deliverer],
        *,
        interval: float,
        processor_wakeup: asyncio.Event,
        delivery_wakeup: asyncio.Event,
    ) -> None:
        self.processor = processor
        self._make_deliverer = deliverer
        self._interval = interval
        self.processor_wakeup = processor_wakeup
        self.delivery_wakeup = delivery_wakeup
        # Built in start(): compiling the templates is work only a process that delivers does.
        self.deliverer: Deliverer | None = None
        self._stop = asyncio.Event()
        self._processing: asyncio.Task[None] | None = None
        self._delivering: asyncio.Task[None] | None = None

    def poke(self) -> None:
        """New events were stored: process them now rather than at the next interval."""
        self.processor_wakeup.set()

    async def start(self) -> None:
        self._stop.clear()
        self.deliverer = deliverer = self._make_deliverer()
        self._delivering = asyncio.create_task(
            deliverer.run(self._stop, self.delivery_wakeup), name="delivery"
        )
        log.info("delivery.started owner=%s", deliverer.owner)
        self._processing = asyncio.create_task(
            self.processor.run(self._stop, self.processor_wakeup, self._interval),
            name="processor",
        )

    async def stop(self) -> None:
        """Stop processing between transactions; let the delivery pass under way finish (or
        give up on it after a grace period); then disconnect."""
        self._stop.set()
        self.processor_wakeup.set()
        processing, self._processing = self._processing, None
        if processing is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await processing
        delivering, self._delivering = self._delivering, None
        if delivering is not None:
            try:
                await asyncio.wait_for(asyncio.shield(delivering), STOP_GRACE)
            except TimeoutError:
                delivering.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await delivering
        if self.deliverer is not None:
            await self.deliverer.close()
            log.info("delivery.stopped owner=%s", self.deliverer.owner)
