"""Admin outbox: what waits, what failed, what gave up, and sending it again (CONTRACT §6).

``GET /admin/api/v1/outbox?status=dead|failed|pending|suppressed`` lists the notifications of
one status, newest first (``limit``, default 100 and at most 1,000; ``before`` an id: only
older ones, for the next page). ``POST /admin/api/v1/outbox/{id}/requeue`` makes a ``dead``
or ``failed`` row ``pending`` again with its attempts reset (202); any other status is 409.
The row keeps its idempotency key and Message-ID, so the requeued email is the same message.
"""

from __future__ import annotations

from typing import Any, cast

from aiohttp import web
from sqlalchemy import Row, Table, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from notify.db.engine import write_transaction
from notify.db.models import OutboxRow, OutboxStatus
from notify.keys import ENGINE, SERVICES
from notify.timing import wall_clock
from notify.web.admin import notification_view
from notify.web.auth import admin_only
from webhooks.problems import problem

_OUTBOX = cast(Table, OutboxRow.__table__)
LISTED = (OutboxStatus.DEAD, OutboxStatus.FAILED, OutboxStatus.PENDING, OutboxStatus.SUPPRESSED)
REQUEUED = (OutboxStatus.DEAD, OutboxStatus.FAILED)
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_ID = 2**31 - 1  # the id column is a 32-bit integer on PostgreSQL


def _invalid(field: str, message: str) -> web.Response:
    return problem(
        422, "invalid-data", f"{field}: {message}", errors=[{"field": field, "message": message}]
    )


def _whole(text: str | None, default: int, high: int) -> int | None:
    if text is None:
        return default
    if not text.isdigit() or not 1 <= int(text) <= high:
        return None
    return int(text)


async def list_outbox(request: web.Request) -> web.StreamResponse:
    status = request.query.get("status", "")
    if status not in {s.value for s in LISTED}:
        return _invalid("status", "one of " + ", ".join(s.value for s in LISTED))
    limit = _whole(request.query.get("limit"), DEFAULT_LIMIT, MAX_LIMIT)
    if limit is None:
        return _invalid("limit", f"a whole number from 1 to {MAX_LIMIT}")
    before = None
    if "before" in request.query:
        before = row_id(request.query["before"])
        if before is None:
            return _invalid("before", "the id of a notification")
    rows = await outbox_rows(request.app[ENGINE], status, limit=limit, before=before)
    renderer = request.app[SERVICES].renderer
    return web.json_response({"items": [notification_view(row, renderer) for row in rows]})


async def outbox_rows(
    engine: AsyncEngine, status: str, *, limit: int = DEFAULT_LIMIT, before: int | None = None
) -> list[Row[Any]]:
    """The rows of ``status``, newest first; with ``before``, only older ids."""
    query = select(_OUTBOX).where(_OUTBOX.c.status == status)
    if before is not None:
        query = query.where(_OUTBOX.c.id < before)
    async with engine.connect() as conn:
        return list((await conn.execute(query.order_by(_OUTBOX.c.id.desc()).limit(limit))).all())


def row_id(given: str) -> int | None:
    """The outbox id ``given`` names, or None when it cannot name one."""
    return _whole(given, 0, MAX_ID)


class NotRequeueable(Exception):
    """The row is neither dead nor failed; the message says what it is."""


async def requeue_row(engine: AsyncEngine, row_id: int) -> bool:
    """Make the dead or failed row ``row_id`` pending again, attempts 0, due now.

    False when no row has that id; NotRequeueable when its status is another.
    """
    async with write_transaction(engine) as conn:
        status = (
            await conn.execute(select(_OUTBOX.c.status).where(_OUTBOX.c.id == row_id))
        ).scalar_one_or_none()
        if status is None:
            return False
        if status not in REQUEUED:
            raise NotRequeueable(f"notification {row_id} is {status}: only dead or failed")
        await conn.execute(
            update(_OUTBOX)
            .where(_OUTBOX.c.id == row_id)
            .values(
                status=OutboxStatus.PENDING,
                attempts=0,
                next_attempt_at=wall_clock(),
                lease_owner=None,
                lease_expires_at=None,
            )
        )
    return True


async def requeue(request: web.Request) -> web.StreamResponse:
    given = request.match_info["id"]
    found = row_id(given)
    if found is None:
        return problem(404, "not-found", f"no notification {given!r}")
    try:
        if not await requeue_row(request.app[ENGINE], found):
            return problem(404, "not-found", f"no notification {found}")
    except NotRequeueable as exc:
        return problem(409, "not-requeueable", str(exc))
    request.app[SERVICES].background.delivery_wakeup.set()
    return web.json_response({"id": found, "status": OutboxStatus.PENDING.value}, status=202)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/admin/api/v1/outbox", admin_only(list_outbox))
    app.router.add_post("/admin/api/v1/outbox/{id}/requeue", admin_only(requeue))
