"""A notification's email exactly as sent, or as it will be sent (CONTRACT §6).

``GET /admin/api/v1/notifications/{id}/message`` answers ``message/rfc822``: the outbox row
composed again by the composer delivery uses (``Services.composer``). Composition is
reproducible: the MIME boundary is derived from the Message-ID, and a sent row's ``sent_at``
is the Date it went out with, so a sent row composed at its ``sent_at`` gives the bytes that
went out. Any other row is composed now, as its next attempt would compose it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from aiohttp import web
from sqlalchemy import Row, Table, select

from notify.db.models import OutboxRow, OutboxStatus
from notify.keys import ENGINE, SERVICES
from notify.mail.compose import Letter
from notify.timing import wall_clock
from notify.web.admin_outbox import row_id
from notify.web.auth import admin_only
from webhooks.problems import problem

_OUTBOX = cast(Table, OutboxRow.__table__)
MEDIA_TYPE = "message/rfc822"


class NotComposable(Exception):
    """The row's stored context no longer renders with the templates of this version."""


async def notification_row(app: web.Application, given: str) -> Row[Any] | None:
    """The outbox row the path text ``given`` names, or None."""
    found = row_id(given)
    if found is None:
        return None
    async with app[ENGINE].connect() as conn:
        return (await conn.execute(select(_OUTBOX).where(_OUTBOX.c.id == found))).first()


def composed_at(row: Row[Any]) -> datetime:
    """The Date of the message: when it went out, or now for one still to go."""
    if row.status == OutboxStatus.SENT and row.sent_at is not None:
        return cast(datetime, row.sent_at)
    return wall_clock()


async def message_bytes(app: web.Application, row: Row[Any]) -> bytes:
    """The message of ``row``, byte for byte as it was (or will be) sent."""
    composer = await app[SERVICES].composer()
    letter = Letter(
        kind=row.kind,
        subscription_id=row.subscription_id,
        recipient=row.recipient,
        context=row.context,
        message_id=row.message_id,
        idempotency_key=row.idempotency_key,
    )
    try:
        return composer.compose(letter, composed_at(row)).data
    except Exception as exc:
        # The same failure delivery records as "render failed": the row cannot be shown.
        raise NotComposable(f"{type(exc).__name__}: {exc}") from exc


async def get_message(request: web.Request) -> web.StreamResponse:
    given = request.match_info["id"]
    row = await notification_row(request.app, given)
    if row is None:
        return problem(404, "not-found", f"no notification {given!r}")
    try:
        data = await message_bytes(request.app, row)
    except NotComposable as exc:
        return problem(409, "not-composable", f"notification {row.id} does not render: {exc}")
    return eml_answer(row, data, "inline")


def eml_answer(row: Row[Any], data: bytes, disposition: str) -> web.Response:
    """``data`` as ``message/rfc822``, named after ``row`` (``inline`` or ``attachment``)."""
    return web.Response(
        body=data,
        content_type=MEDIA_TYPE,
        headers={"Content-Disposition": f'{disposition}; filename="notification-{row.id}.eml"'},
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/admin/api/v1/notifications/{id}/message", admin_only(get_message))
