"""The operations endpoints of ``notify worker`` (``/metrics``, ``/healthz``, ``/readyz``) on
``NOTIFY_METRICS_PORT``: the worker has no HTTP API, but it has queues to watch."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from notify.config import Settings
from notify.keys import ENGINE, METRICS
from notify.metrics import Metrics
from notify.web import errors, limits, ops


async def start(settings: Settings, engine: AsyncEngine, metrics: Metrics) -> web.AppRunner:
    """Serve the worker's ops endpoints until the returned runner is cleaned up."""
    assert settings.metrics_port is not None
    app = web.Application(middlewares=[errors.problems])
    limits.install(app)
    app[ENGINE] = engine
    app[METRICS] = metrics
    ops.add_routes(app, smtp=settings.smtp)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await limits.GuardedSite(runner, settings.host, settings.metrics_port).start()
    print(f"notify: worker ops on http://{settings.host}:{settings.metrics_port}", flush=True)
    return runner
