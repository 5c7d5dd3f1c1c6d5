"""Operations endpoints: liveness, readiness (the database answers) and Prometheus metrics.

``/readyz`` names each dependency and whether it answers: the database, whose absence makes it
``503``, and, in a process that delivers by SMTP, the SMTP server, which is reported but never
makes the process unready (emails wait in the outbox until the server is back).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web
from sqlalchemy import text

from notify.config import SmtpSettings
from notify.delivery.transports import probe
from notify.keys import ENGINE, METRICS
from webhooks.problems import CONTENT_TYPE, problem_document

# A readiness probe every few seconds must not become an SMTP session every few seconds.
SMTP_CHECK_SECONDS = 10.0
SMTP_TIMEOUT = 3.0


class SmtpCheck:
    """Whether the SMTP server answers, asked at most every SMTP_CHECK_SECONDS."""

    def __init__(self, settings: SmtpSettings) -> None:
        self._settings = settings
        self._result: str | None = None
        self._at = -SMTP_CHECK_SECONDS
        self._running: asyncio.Task[str | None] | None = None

    async def problem(self) -> str | None:
        """None when the server answered, else why it did not."""
        if time.monotonic() - self._at < SMTP_CHECK_SECONDS:
            return self._result
        if self._running is None:
            self._running = asyncio.create_task(probe(self._settings, SMTP_TIMEOUT))
        running = self._running
        try:
            self._result = await asyncio.shield(running)
        finally:
            if running.done():
                self._running = None
                self._at = time.monotonic()
        return self._result


SMTP_CHECK = web.AppKey("smtp_check", SmtpCheck)


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _database_problem(request: web.Request) -> str | None:
    try:
        async with asyncio.timeout(2):
            async with request.app[ENGINE].connect() as conn:
                await conn.execute(text("SELECT 1"))
    except Exception as exc:
        return f"does not answer: {type(exc).__name__}"
    return None


async def readyz(request: web.Request) -> web.Response:
    checks = {"database": _database_problem(request)}
    smtp = request.app.get(SMTP_CHECK)
    if smtp is not None:
        checks["smtp"] = smtp.problem()
    problems = dict(zip(checks, await asyncio.gather(*checks.values()), strict=True))
    dependencies = {
        name: {"up": False, "error": error} if error else {"up": True}
        for name, error in problems.items()
    }
    if problems["database"] is not None:
        body: dict[str, Any] = problem_document(
            503, "database-unavailable", f"the database {problems['database']}"
        )
        body["dependencies"] = dependencies
        return web.json_response(body, status=503, content_type=CONTENT_TYPE)
    return web.json_response({"status": "ready", "dependencies": dependencies})


async def metrics(request: web.Request) -> web.Response:
    return web.Response(
        body=request.app[METRICS].render(),
        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
    )


def add_routes(app: web.Application, *, smtp: SmtpSettings | None = None) -> None:
    """The three routes; with ``smtp``, ``/readyz`` also reports that server."""
    if smtp is not None:
        app[SMTP_CHECK] = SmtpCheck(smtp)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
