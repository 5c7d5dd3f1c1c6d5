"""The console's pages: Jinja2 templates, autoescaped everywhere, and the headers they carry.

Every page is rendered on the server and needs no script: its Content-Security-Policy allows
none (``script-src`` falls back to ``default-src 'none'``), only the console's own stylesheet,
its own frames (an email's HTML part, itself sandboxed) and forms posting to itself; no page
may be framed. Amounts are written as the emails of an ``en`` customer write them
(``$1,234.56``), dates as ISO 8601, as the emails give them beside their long form.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from aiohttp import web
from aiohttp_session import get_session
from babel import Locale

from billingcore.eligibility import REASONS
from billingcore.money import Money
from notify.console.sessions import csrf_token, signed_in
from notify.handlers.formatting import money_text

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"
ENGLISH = Locale.parse("en")

PAGE_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def money(amount: str | Decimal, currency: str) -> str:
    """``$1,234.56``: an amount as an ``en`` customer's email writes it."""
    return money_text(Money.of(amount, currency), ENGLISH)


def reason(code: str) -> str:
    """An eligibility reason code in words (``billingcore.eligibility.REASONS``)."""
    return REASONS.get(code, code.replace("_", " "))


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = money
    env.filters["reason"] = reason
    env.filters["segment"] = lambda value: quote(str(value), safe="")
    return env


ENVIRONMENT = _environment()


async def page(
    request: web.Request, template: str, *, status: int = 200, **context: Any
) -> web.Response:
    """``template`` rendered for this request's session: its CSRF token for the forms, the
    message a form left for it, whether it is signed in."""
    session = await get_session(request)
    message = session.pop("flash", None)
    body = ENVIRONMENT.get_template(template).render(
        csrf=csrf_token(session),
        flash=message,
        signed_in=await signed_in(request),
        path=request.path,
        **context,
    )
    return web.Response(
        text=body, status=status, content_type="text/html", charset="utf-8", headers=PAGE_HEADERS
    )


async def stylesheet(request: web.Request) -> web.Response:
    return web.Response(
        body=(STATIC / "console.css").read_bytes(),
        content_type="text/css",
        charset="utf-8",
        headers={"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"},
    )
