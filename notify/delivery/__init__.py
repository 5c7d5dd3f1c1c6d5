"""Email delivery: the outbox worker, its transports, and the messages it composes.

The application and the ``notify worker`` command start a :class:`DeliveryService`; everything
else here is reachable for tests and for other workers that share the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid

from sqlalchemy.ext.asyncio import AsyncEngine

from notify.config import Settings
from notify.delivery.compose import REMINDER_KINDS, Composer, Letter, RenderedLike, Renders
from notify.delivery.policy import DEFAULT_POLICY, DeliveryPolicy, RetryDecision, retry_decision
from notify.delivery.tokens import sign_token, unsubscribe_key, verify_token
from notify.delivery.transports import (
    DeliveryError,
    FileTransport,
    Outgoing,
    PermanentFailure,
    SmtpTransport,
    TransientFailure,
    Transport,
)
from notify.delivery.worker import Deliverer
from notify.metrics import Metrics

__all__ = [
    "DEFAULT_POLICY",
    "REMINDER_KINDS",
    "Composer",
    "Deliverer",
    "DeliveryError",
    "DeliveryPolicy",
    "DeliveryService",
    "FileTransport",
    "Letter",
    "Outgoing",
    "PermanentFailure",
    "RenderedLike",
    "Renders",
    "RetryDecision",
    "SmtpTransport",
    "TransientFailure",
    "Transport",
    "retry_decision",
    "sign_token",
    "transport_for",
    "unsubscribe_key",
    "verify_token",
    "worker_name",
]

log = logging.getLogger(__name__)
# How long stop() lets a pass under way finish before cancelling it.
STOP_GRACE = 30.0


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


class DeliveryService:
    """A running Deliverer as one component: ``start()`` on startup, ``stop()`` on shutdown."""

    def __init__(
        self, deliverer: Deliverer, transport: Transport, wakeup: asyncio.Event | None = None
    ) -> None:
        self.deliverer = deliverer
        self._transport = transport
        self._stop = asyncio.Event()
        self._wakeup = wakeup if wakeup is not None else asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        engine: AsyncEngine,
        renderer: Renders,
        metrics: Metrics,
        *,
        policy: DeliveryPolicy = DEFAULT_POLICY,
        wakeup: asyncio.Event | None = None,
    ) -> DeliveryService:
        """Wire a service; ``wakeup`` is the event whoever fills the outbox sets (optional)."""
        transport = transport_for(settings, policy)
        deliverer = Deliverer(
            engine, renderer, transport, settings, metrics, worker_name(), policy=policy
        )
        return cls(deliverer, transport, wakeup)

    async def start(self) -> None:
        """Start delivering in the background."""
        if self._task is not None:
            return
        self._stop.clear()
        self._task = asyncio.create_task(
            self.deliverer.run(self._stop, self._wakeup), name="delivery"
        )
        log.info("delivery.started owner=%s", self.deliverer.owner)

    def wake(self) -> None:
        """New rows are in the outbox: start the next pass now rather than at the next poll."""
        self._wakeup.set()

    async def stop(self) -> None:
        """Finish the pass under way (or give up on it after a grace period) and disconnect."""
        task, self._task = self._task, None
        if task is not None:
            self._stop.set()
            try:
                await asyncio.wait_for(asyncio.shield(task), STOP_GRACE)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self._transport.close()
        log.info("delivery.stopped owner=%s", self.deliverer.owner)
