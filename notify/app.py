"""The app factory: the HTTP application on the services of ``notify.services``, and its routes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from notify import console
from notify.clock import Clock
from notify.config import Settings
from notify.feed.web import install as install_feed
from notify.inbox import Inbox, stop_writer
from notify.keys import CLOCK, ENGINE, INBOX, METRICS, SERVICES, SETTINGS, VERIFIER
from notify.metrics import Metrics
from notify.secrets import webhook_secrets
from notify.services import open_services
from notify.web import (
    admin,
    admin_forecast,
    admin_messages,
    admin_outbox,
    admin_search,
    admin_suppressions,
    errors,
    limits,
    openapi,
    ops,
    unsubscribe,
)
from webhooks.route import webhook_handler
from webhooks.schemas import MAX_BODY_BYTES
from webhooks.signature import Verifier

log = logging.getLogger(__name__)


def _announce_secret(secret: str) -> None:
    print(
        "notify: no NOTIFY_WEBHOOK_SECRETS set; generated a webhook secret and kept it in the "
        f"database. It is shown only this once:\n{secret}",
        flush=True,
    )


def create_app(
    settings: Settings,
    *,
    run_migrations: bool = True,
    run_worker: bool = True,
    clock: Clock | None = None,
    announce_secret: Callable[[str], None] = _announce_secret,
    bounds: limits.Limits | None = None,
) -> web.Application:
    """Build the HTTP application; its database and, with ``run_worker``, the background work
    (processor, scheduler, delivery) start and stop with it; ``bounds`` limit slow and idle
    clients (notify.web.limits)."""
    app = web.Application(client_max_size=MAX_BODY_BYTES + 1024, middlewares=[errors.problems])
    limits.install(app, bounds)
    app[SETTINGS] = settings
    app[METRICS] = metrics = Metrics()

    async def database(app: web.Application) -> AsyncIterator[None]:
        opened = open_services(
            settings, run_migrations=run_migrations, clock=clock, metrics=metrics
        )
        async with opened as services:
            engine = services.engine
            app[SERVICES] = services
            app[ENGINE] = engine
            app[CLOCK] = services.clock
            secrets = await webhook_secrets(engine, settings.webhook_secrets, announce_secret)
            app[VERIFIER] = Verifier(secrets)
            background = services.background
            inbox = Inbox(
                engine,
                on_stored=background.poke if run_worker else lambda: None,
                intake=services.intake,
            )
            app[INBOX] = inbox
            writer = asyncio.create_task(inbox.run(), name="inbox-writer")
            if run_worker:
                await background.start()
            yield
            await stop_writer(writer, inbox)
            if run_worker:
                await background.stop()

    app.cleanup_ctx.append(database)

    def observe(status: int, seconds: float) -> None:
        metrics.webhooks.labels(str(status)).inc()
        metrics.ingest_latency.observe(seconds)

    app.router.add_post(
        "/webhooks",
        webhook_handler(verifier=lambda: app[VERIFIER], store=lambda: app[INBOX], observe=observe),
    )
    ops.add_routes(app, smtp=settings.smtp if run_worker else None)
    openapi.add_route(app)
    unsubscribe.add_routes(app)
    admin_suppressions.add_routes(app)
    admin.add_routes(app, test_clock=settings.test_clock)
    admin_forecast.add_routes(app)
    admin_search.add_routes(app)
    admin_outbox.add_routes(app)
    admin_messages.add_routes(app)
    install_feed(app, engine=lambda: app[ENGINE], clock=lambda: app[CLOCK])
    console.install(app)
    return app
