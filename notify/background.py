"""The background work of a process: the processor (events and occasions) and delivery.

``notify serve`` runs it beside the HTTP API (unless ``--no-worker``); ``notify worker`` runs it
alone. Both build it here, so the two never differ in what they run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.ext.asyncio import AsyncEngine

from notify.clock import Clock
from notify.config import Settings
from notify.delivery import DeliveryService
from notify.feed import feed_hook
from notify.handlers import Branding
from notify.metrics import Metrics
from notify.processor import Processor
from notify.rendering import Renderer

log = logging.getLogger(__name__)


class Background:
    """Starts and stops the long-running tasks; :meth:`poke` wakes the processor early."""

    def __init__(
        self, settings: Settings, engine: AsyncEngine, clock: Clock, metrics: Metrics
    ) -> None:
        self.settings = settings
        self.processor_wakeup = asyncio.Event()
        self.delivery_wakeup = asyncio.Event()
        branding = Branding(brand=settings.brand, portal_url=settings.portal_url)
        self.processor = Processor(
            engine,
            clock=clock,
            metrics=metrics,
            branding=branding,
            mail_from=settings.mail_from,
            on_enqueued=self.delivery_wakeup.set,
            on_change=[feed_hook(branding)],
        )
        self._engine, self._metrics = engine, metrics
        # Built in start(): compiling the templates is work only a process that delivers does.
        self.delivery: DeliveryService | None = None
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def poke(self) -> None:
        """New events were stored: process them now rather than at the next interval."""
        self.processor_wakeup.set()

    async def start(self) -> None:
        self.delivery = DeliveryService.from_settings(
            self.settings,
            self._engine,
            Renderer.load(),
            self._metrics,
            wakeup=self.delivery_wakeup,
        )
        await self.delivery.start()
        self._tasks.append(
            asyncio.create_task(
                self.processor.run(
                    self._stop, self.processor_wakeup, self.settings.scheduler_interval
                ),
                name="processor",
            )
        )

    async def stop(self) -> None:
        self._stop.set()
        self.processor_wakeup.set()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self.delivery is not None:
            await self.delivery.stop()
