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
    if scheme.lower() != "bearer" or not is_admin_token(expected, given.strip()):
        return problem(
            401,
            "unauthorized",
            "this endpoint needs Authorization: Bearer <admin token>",
            headers={"WWW-Authenticate": 'Bearer realm="notify-admin"'},
        )
    return None


def is_admin_token(expected: str | None, given: str) -> bool:
    """Whether ``given`` is the configured admin token (compared in constant time); with no
    token configured, nothing is."""
    return expected is not None and hmac.compare_digest(given.encode(), expected.encode())
