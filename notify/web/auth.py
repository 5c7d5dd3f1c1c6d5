"""Bearer authentication of the admin API (CONTRACT §6)."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web

from notify.keys import SETTINGS
from webhooks.problems import problem

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def admin_only(handler: Handler) -> Handler:
    """The handler behind the admin bearer token: anything else is answered 401."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        refusal = admin_refusal(request)
        return refusal if refusal is not None else await handler(request)

    return guarded


def admin_refusal(request: web.Request) -> web.Response | None:
    """None when the request carries ``Bearer <NOTIFY_ADMIN_TOKEN>``, else the 401 answer.

    Without a configured token nobody is admitted.
    """
    expected = request.app[SETTINGS].admin_token
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if (
        expected is None
        or scheme.lower() != "bearer"
        or not hmac.compare_digest(given.strip().encode(), expected.encode())
    ):
        return problem(
            401,
            "unauthorized",
            "this endpoint needs Authorization: Bearer <admin token>",
            headers={"WWW-Authenticate": 'Bearer realm="notify-admin"'},
        )
    return None
