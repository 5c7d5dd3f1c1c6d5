"""Signing in to the console with the admin token, and out again.

A failed sign-in takes one from the client's bucket (by remote address, in the memory of each
process): five may fail at once, then one a minute; while the bucket is empty every sign-in
of that client is 429 with Retry-After, the right token included, so that no token is tried
meanwhile. Behind a proxy the address is the proxy's (docs/console.md).
"""

from __future__ import annotations

import math

from aiohttp import web
from aiohttp_session import get_session

from notify.console.render import page
from notify.console.sessions import (
    Form,
    begin,
    console_path,
    end,
    flash,
    form_action,
    see_other,
    signed_in,
)
from notify.feed.ratelimit import RateLimit, TokenBuckets
from notify.keys import SETTINGS
from notify.web.auth import is_admin_token
from webhooks.problems import problem

FAILED_SIGN_INS = RateLimit(per_second=1 / 60, burst=5)
FAILURES = web.AppKey("console_failed_sign_ins", TokenBuckets)


async def sign_in_page(request: web.Request) -> web.StreamResponse:
    wanted = console_path(request.query.get("next"))
    if await signed_in(request):
        return see_other(wanted)
    closed = request.app[SETTINGS].admin_token is None
    return await page(request, "sign_in.html", title="Sign in", next=wanted, closed=closed)


async def sign_in(request: web.Request, form: Form) -> web.StreamResponse:
    client = request.remote or "unknown"
    failures = request.app[FAILURES]
    wait = failures.waiting(client)
    if wait > 0:
        return problem(
            429,
            "too-many-sign-ins",
            f"too many failed sign-ins from this address; try again in {math.ceil(wait)} s",
            headers={"Retry-After": str(math.ceil(wait))},
        )
    token = form.get("token")
    wanted = console_path(form.get("next"))
    if not isinstance(token, str) or not is_admin_token(request.app[SETTINGS].admin_token, token):
        failures.take(client)
        flash(await get_session(request), "That is not the admin token.", error=True)
        retry = request.app.router["console_sign_in"].url_for().with_query(next=wanted)
        return see_other(str(retry))
    await begin(request)
    return see_other(wanted)


async def sign_out(request: web.Request, form: Form) -> web.StreamResponse:
    await end(request)
    flash(await get_session(request), "Signed out.")
    return see_other(str(request.app.router["console_sign_in"].url_for()))


def add_routes(app: web.Application) -> None:
    app[FAILURES] = TokenBuckets(FAILED_SIGN_INS, max_entries=10_000)
    app.router.add_get("/admin/sign-in", sign_in_page, name="console_sign_in")
    app.router.add_post("/admin/sign-in", form_action(sign_in, signed_in_first=False))
    app.router.add_post("/admin/sign-out", form_action(sign_out))
