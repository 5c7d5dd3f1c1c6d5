"""Operations endpoints: liveness, readiness (the database answers) and Prometheus metrics."""

from __future__ import annotations

import asyncio

from aiohttp import web
from sqlalchemy import text

from notify.keys import ENGINE, METRICS
from webhooks.problems import problem


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    try:
        async with asyncio.timeout(2):
            async with request.app[ENGINE].connect() as conn:
                await conn.execute(text("SELECT 1"))
    except Exception as exc:
        return problem(
            503, "database-unavailable", f"the database does not answer: {type(exc).__name__}"
        )
    return web.json_response({"status": "ready"})


async def metrics(request: web.Request) -> web.Response:
    return web.Response(
        body=request.app[METRICS].render(),
        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
