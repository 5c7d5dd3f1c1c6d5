"""The composition root: the one place that builds what a process runs from its settings.

``notify serve`` (through the app factory) and ``notify worker`` both open ``Services``: the
database engine (migrated), the business clock, the metrics, the processor with the feed hook,
and the background work with its deliverer. Nothing else constructs these.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import socket
import uuid
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncEngine

from notify.background import Background
from notify.clock import Clock, business_clock
from notify.config import Settings
from notify.db.engine import create_engine
from notify.db.migrate import migrate
from notify.delivery.policy import DEFAULT_POLICY, DeliveryPolicy
from notify.delivery.transports import FileTransport, SmtpTransport, Transport
from notify.delivery.worker import Deliverer
from notify.feed import feed_hook
from notify.handlers import Branding
from notify.intake import Intake
from notify.mail.compose import Composer
from notify.mail.enqueue import Enqueuer
from notify.mail.render import Renderer
from notify.metrics import Metrics
from notify.processing import Processor


def worker_name() -> str:
    """A name unique to this worker, readable in ``lease_owner``: host, pid, random suffix."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def transport_for(settings: Settings, policy: DeliveryPolicy = DEFAULT_POLICY) -> Transport:
    """SMTP when ``NOTIFY_SMTP_URL`` is set, else .eml files under ``NOTIFY_MAIL_DIR``."""
    if settings.smtp is not None:
        # One connection per concurrent send: no send spends its timeout waiting for a slot.
        return SmtpTransport(
            settings.smtp, connections=policy.concurrency, timeout=policy.send_timeout
        )
    return FileTransport(settings.mail_dir)


class Services:
    """What one process runs, wired once."""

    def __init__(
        self, settings: Settings, engine: AsyncEngine, clock: Clock, metrics: Metrics
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.clock = clock
        self.metrics = metrics
        self.branding = Branding(brand=settings.brand, portal_url=settings.portal_url)
        self.enqueuer = Enqueuer(self.branding, settings.mail_from)
        # What the HTTP side of this process tells its background work (notify.intake).
        self.intake = Intake()
        self._composer: Composer | None = None
        processor_wakeup, delivery_wakeup = asyncio.Event(), asyncio.Event()
        self.processor = Processor(
            engine,
            clock=clock,
            metrics=metrics,
            enqueuer=self.enqueuer,
            on_enqueued=delivery_wakeup.set,
            on_change=[feed_hook(self.branding)],
            intake=self.intake,
        )
        self.background = Background(
            self.processor,
            self.deliverer,
            interval=settings.scheduler_interval,
            processor_wakeup=processor_wakeup,
            delivery_wakeup=delivery_wakeup,
        )

    @functools.cached_property
    def renderer(self) -> Renderer:
        """Every email kind's templates, compiled on first use (only where mail is rendered)."""
        return Renderer.shipped()

    def deliverer(self, policy: DeliveryPolicy = DEFAULT_POLICY) -> Deliverer:
        """A deliverer through the configured transport, under a name of its own."""
        return Deliverer(
            self.engine,
            self.renderer,
            transport_for(self.settings, policy),
            self.settings,
            self.metrics,
            worker_name(),
            policy=policy,
            intake=self.intake,
        )

    async def composer(self) -> Composer:
        """How this process composes emails, for showing a message as it was (or will be)
        sent. Taken from a deliverer, the one place a Composer is built, so that what is shown
        is composed exactly as delivery composes it; that deliverer never sends."""
        if self._composer is None:
            self._composer = await self.deliverer().composer()
        return self._composer


@contextlib.asynccontextmanager
async def open_services(
    settings: Settings,
    *,
    run_migrations: bool = True,
    clock: Clock | None = None,
    metrics: Metrics | None = None,
) -> AsyncIterator[Services]:
    """Services on a (migrated) engine; the engine is disposed when the block ends."""
    engine = create_engine(settings.database_url)
    try:
        if run_migrations:
            await migrate(engine)
        yield Services(
            settings,
            engine,
            clock or business_clock(settings.test_clock, engine),
            metrics or Metrics(),
        )
    finally:
        await engine.dispose()
