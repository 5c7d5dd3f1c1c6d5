"""Admin API for the addresses that are not mailed: suppressions and opt-outs, listed and lifted.

A suppressed address answered with a permanent failure; nothing is sent to it until the
suppression is lifted (contract, section 6). An opt-out is a recipient's one-click
unsubscribe from one subscription's reminders; lifting it sends that address the reminders
again (``DELETE /admin/api/v1/subscriptions/{id}/opt-outs/{address}``, docs/admin.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from notify.db.engine import write_gate
from notify.delivery.outbox import SUPPRESSIONS, UNSUBSCRIBES, normalize_address
from notify.keys import ENGINE
from notify.web.auth import admin_only
from webhooks.problems import problem


def _timestamp(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


async def suppressions(engine: AsyncEngine) -> list[dict[str, Any]]:
    """Every suppressed address with its reason, oldest first."""
    t = SUPPRESSIONS
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(t.c.address, t.c.reason, t.c.created_at).order_by(
                    t.c.created_at, t.c.address
                )
            )
        ).all()
    return [
        {"address": row.address, "reason": row.reason, "created_at": _timestamp(row.created_at)}
        for row in rows
    ]


async def opt_outs(engine: AsyncEngine, subscription_id: str | None = None) -> list[dict[str, Any]]:
    """The opt-outs of one subscription (or of all), oldest first; ``created_at`` a datetime."""
    t = UNSUBSCRIBES
    query = select(t.c.subscription_id, t.c.address, t.c.created_at)
    if subscription_id is not None:
        query = query.where(t.c.subscription_id == subscription_id)
    async with engine.connect() as conn:
        rows = (await conn.execute(query.order_by(t.c.created_at, t.c.address))).all()
    return [
        {
            "subscription_id": row.subscription_id,
            "address": row.address,
            "created_at": row.created_at,
        }
        for row in rows
    ]


async def lift_suppression(engine: AsyncEngine, address: str) -> bool:
    """Mail ``address`` again; False when it was not suppressed."""
    address = normalize_address(address)
    async with write_gate(engine), engine.begin() as conn:
        result = await conn.execute(delete(SUPPRESSIONS).where(SUPPRESSIONS.c.address == address))
    return bool(result.rowcount)


async def lift_opt_out(engine: AsyncEngine, subscription_id: str, address: str) -> bool:
    """Send ``address`` the reminders of ``subscription_id`` again; False when it had not
    opted out."""
    t = UNSUBSCRIBES
    address = normalize_address(address)
    async with write_gate(engine), engine.begin() as conn:
        result = await conn.execute(
            delete(t).where((t.c.subscription_id == subscription_id) & (t.c.address == address))
        )
    return bool(result.rowcount)


async def get_suppressions(request: web.Request) -> web.StreamResponse:
    return web.json_response({"items": await suppressions(request.app[ENGINE])})


async def delete_suppression(request: web.Request) -> web.StreamResponse:
    address = request.match_info["address"]
    if not await lift_suppression(request.app[ENGINE], address):
        return problem(404, "not-suppressed", f"{normalize_address(address)} is not suppressed")
    return web.Response(status=204)


async def delete_opt_out(request: web.Request) -> web.StreamResponse:
    subscription_id, address = request.match_info["id"], request.match_info["address"]
    if not await lift_opt_out(request.app[ENGINE], subscription_id, address):
        return problem(
            404,
            "not-opted-out",
            f"{normalize_address(address)} has not opted out of {subscription_id!r}",
        )
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/admin/api/v1/suppressions", admin_only(get_suppressions))
    app.router.add_delete("/admin/api/v1/suppressions/{address}", admin_only(delete_suppression))
    app.router.add_delete(
        "/admin/api/v1/subscriptions/{id}/opt-outs/{address}", admin_only(delete_opt_out)
    )
