"""One-click unsubscribe (RFC 8058) from the reminder kinds of one subscription.

``POST /unsubscribe/{token}`` records the opt-out; mail clients call it when the reader presses
their unsubscribe button, with the body ``List-Unsubscribe=One-Click``. ``GET`` shows a page
whose button posts: a GET never unsubscribes, because mail scanners follow every link.
"""

from __future__ import annotations

from html import escape

from aiohttp import web

from notify.db.engine import dialect_insert, write_gate
from notify.delivery.outbox import UNSUBSCRIBES, normalize_address
from notify.delivery.tokens import OptOut, unsubscribe_key, verify_token
from notify.keys import ENGINE
from notify.timing import wall_clock
from webhooks.problems import problem


class _Key:
    """The signing key, read from the database on first use (startup needs no database)."""

    value: bytes | None = None


UNSUBSCRIBE_KEY = web.AppKey("unsubscribe_key", _Key)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title></head>
<body style="font-family: sans-serif; max-width: 36em; margin: 3em auto; padding: 0 1em">
<h1 style="font-size: 1.4em">{title}</h1>
{body}
</body></html>
"""


def _page(title: str, body: str) -> web.Response:
    return web.Response(
        text=_PAGE.format(title=escape(title), body=body),
        content_type="text/html",
        headers={"Cache-Control": "no-store"},
    )


async def _opt_out(request: web.Request) -> OptOut | None:
    holder = request.app[UNSUBSCRIBE_KEY]
    if holder.value is None:
        holder.value = await unsubscribe_key(request.app[ENGINE])
    return verify_token(holder.value, request.match_info["token"])


def _not_found() -> web.Response:
    return problem(404, "unknown-unsubscribe-link", "this unsubscribe link is not valid")


async def confirm_page(request: web.Request) -> web.Response:
    opt_out = await _opt_out(request)
    if opt_out is None:
        return _not_found()
    body = (
        f"<p>Stop reminder emails about subscription "
        f"<strong>{escape(opt_out.subscription_id)}</strong> to "
        f"<strong>{escape(opt_out.address)}</strong>?</p>\n"
        "<p>Confirmations, invoices and payment problems are still sent.</p>\n"
        '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Unsubscribe</button></form>'
    )
    return _page("Unsubscribe from reminders", body)


async def unsubscribe(request: web.Request) -> web.Response:
    opt_out = await _opt_out(request)
    if opt_out is None:
        return _not_found()
    engine = request.app[ENGINE]
    async with write_gate(engine), engine.begin() as conn:
        await conn.execute(
            dialect_insert(engine.dialect.name)(UNSUBSCRIBES)
            .values(
                subscription_id=opt_out.subscription_id,
                address=normalize_address(opt_out.address),
                created_at=wall_clock(),
            )
            .on_conflict_do_nothing(index_elements=["subscription_id", "address"])
        )
    body = (
        f"<p>{escape(opt_out.address)} will no longer receive reminder emails about "
        f"subscription {escape(opt_out.subscription_id)}.</p>"
    )
    return _page("You are unsubscribed", body)


def add_routes(app: web.Application) -> None:
    app[UNSUBSCRIBE_KEY] = _Key()
    app.router.add_get("/unsubscribe/{token}", confirm_page)
    app.router.add_post("/unsubscribe/{token}", unsubscribe)
