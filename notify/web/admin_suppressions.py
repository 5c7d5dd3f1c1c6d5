"""Admin API for suppressed addresses: list them, lift one (contract, section 6)."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import delete, select

from notify.db.engine import write_gate
from notify.delivery.outbox import SUPPRESSIONS, normalize_address
from notify.keys import ENGINE
from notify.web.auth import admin_only
from webhooks.problems import problem


async def list_suppressions(request: web.Request) -> web.StreamResponse:
    t = SUPPRESSIONS
    async with request.app[ENGINE].connect() as conn:
        rows = (
            await conn.execute(
                select(t.c.address, t.c.reason, t.c.created_at).order_by(
                    t.c.created_at, t.c.address
                )
            )
        ).all()
    items = [
        {
            "address": row.address,
            "reason": row.reason,
            "created_at": row.created_at.isoformat().replace("+00:00", "Z"),
        }
        for row in rows
    ]
    return web.json_response({"items": items})


async def lift_suppression(request: web.Request) -> web.StreamResponse:
    address = normalize_address(request.match_info["address"])
    engine = request.app[ENGINE]
    async with write_gate(engine), engine.begin() as conn:
        result = await conn.execute(delete(SUPPRESSIONS).where(SUPPRESSIONS.c.address == address))
    if result.rowcount == 0:
        return problem(404, "not-suppressed", f"{address} is not suppressed")
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/admin/api/v1/suppressions", admin_only(list_suppressions))
    app.router.add_delete("/admin/api/v1/suppressions/{address}", admin_only(lift_suppression))
