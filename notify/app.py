"""The composition root: the one place that builds engines, wires components and routes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from notify.background import Background
from notify.clock import Clock, business_clock
from notify.config import Settings
from notify.db.engine import create_engine
from notify.db.migrate import migrate
from notify.feed.web import install as install_feed
from notify.inbox import Inbox, stop_writer
from notify.keys import BACKGROUND, CLOCK, ENGINE, INBOX, METRICS, SETTINGS, VERIFIER
from notify.metrics import Metrics
from notify.secrets import webhook_secrets
from notify.web import admin, admin_suppressions, errors, limits, openapi, ops, unsubscribe
from webhooks.route import MAX_BODY, webhook_handler
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
    app = web.Application(client_max_size=MAX_BODY + 1024, middlewares=[errors.problems])
    limits.install(app, bounds)
    app[SETTINGS] = settings
    app[METRICS] = metrics = Metrics()

    async def database(app: web.Application) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        app[ENGINE] = engine
        if run_migrations:
            await migrate(engine)
        secrets = await webhook_secrets(engine, settings.webhook_secrets, announce_secret)
        app[VERIFIER] = Verifier(secrets)
        app[CLOCK] = business = clock or business_clock(settings.test_clock, engine)
        background = Background(settings, engine, business, metrics)
        app[BACKGROUND] = background
        inbox = Inbox(engine, on_stored=background.poke if run_worker else lambda: None)
        app[INBOX] = inbox
        writer = asyncio.create_task(inbox.run(), name="inbox-writer")
        if run_worker:
            await background.start()
        yield
        await stop_writer(writer, inbox)
        await background.stop()
        await engine.dispose()

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
    install_feed(app, engine=lambda: app[ENGINE], clock=lambda: app[CLOCK])
    return app
