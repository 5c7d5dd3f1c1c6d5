"""Emails in the console, each shown exactly as sent: its headers, its text part, and its HTML
part in a sandboxed frame; and the gallery of every kind in every language.

A notification's message is the one the admin API answers (``admin_messages.message_bytes``,
composed as delivery composes it); the page shows the parts of those very bytes. The HTML part
is served on its own with a Content-Security-Policy of ``sandbox`` and no scripts, and framed
with ``sandbox`` (no ``allow-scripts``, no ``allow-same-origin``): it can run nothing and reach
nothing of the console. A gallery sample is composed by the same composer from the sample
emails of ``notify.mail.samples`` (the ones ``notify emails preview`` writes), one per sample:
each kind, and the variants a kind has (each reminder, the partner's copy…).
"""

from __future__ import annotations

from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiohttp import web
from sqlalchemy import Row

from notify.console.pages import REQUEUEABLE
from notify.console.render import page
from notify.console.sessions import signed_in_only
from notify.handlers.formatting import LANGUAGES
from notify.keys import SERVICES
from notify.mail.enqueue import mail_domain
from notify.mail.samples import Sample, samples
from notify.timing import wall_clock
from notify.web.admin import notification_view
from notify.web.admin_messages import (
    NotComposable,
    eml_answer,
    message_bytes,
    notification_row,
)
from webhooks.problems import problem

EMAIL_POLICY = (
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data: https:; "
    "frame-ancestors 'self'"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Parts:
    """What a reader sees of a message: its headers, its text and its HTML."""

    headers: list[tuple[str, str]]
    text: str
    html: str


def parts(data: bytes) -> Parts:
    message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return Parts(
        headers=[(name, str(value)) for name, value in message.items()],
        text="" if text is None else str(text.get_content()),
        html="" if html is None else str(html.get_content()),
    )


def html_answer(html: str) -> web.Response:
    return web.Response(
        text=html,
        content_type="text/html",
        charset="utf-8",
        headers={
            "Content-Security-Policy": EMAIL_POLICY,
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "SAMEORIGIN",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        },
    )


async def _composed(request: web.Request) -> tuple[Row[Any], bytes | None, str | None]:
    row = await notification_row(request.app, request.match_info["id"])
    if row is None:
        raise web.HTTPNotFound()
    try:
        return row, await message_bytes(request.app, row), None
    except NotComposable as exc:
        return row, None, str(exc)


async def notification_page(request: web.Request) -> web.StreamResponse:
    row, data, error = await _composed(request)
    view = notification_view(row, request.app[SERVICES].renderer)
    base = f"/admin/notifications/{view['id']}"
    return await page(
        request,
        "email.html",
        title=view["subject"],
        notification=view,
        parts=None if data is None else parts(data),
        error=error,
        frame=f"{base}/html",
        eml=f"{base}/message",
        requeueable=REQUEUEABLE,
    )


async def notification_html(request: web.Request) -> web.StreamResponse:
    _row, data, error = await _composed(request)
    if data is None:
        return problem(409, "not-composable", f"the message does not render: {error}")
    return html_answer(parts(data).html)


async def notification_eml(request: web.Request) -> web.StreamResponse:
    row, data, error = await _composed(request)
    if data is None:
        return problem(409, "not-composable", f"the message does not render: {error}")
    return eml_answer(row, data, "attachment")


def _sample(request: web.Request) -> tuple[str, Sample]:
    language, name = request.match_info["language"], request.match_info["kind"]
    if language not in LANGUAGES:
        raise web.HTTPNotFound()
    found = [s for s in samples(language) if s.name == name]
    if not found:
        raise web.HTTPNotFound()
    return language, found[0]


async def _sample_bytes(request: web.Request, sample: Sample) -> bytes:
    services = request.app[SERVICES]
    composer = await services.composer()
    letter = sample.letter(services.branding, mail_domain(services.settings.mail_from))
    return composer.compose(letter, wall_clock()).data


async def gallery_page(request: web.Request) -> web.StreamResponse:
    kinds = [s.name for s in samples(LANGUAGES[0])]
    return await page(
        request, "gallery.html", title="Email gallery", kinds=kinds, languages=LANGUAGES
    )


async def sample_page(request: web.Request) -> web.StreamResponse:
    language, sample = _sample(request)
    base = f"/admin/emails/{language}/{sample.name}"
    return await page(
        request,
        "email.html",
        title=f"{sample.name} ({language})",
        notification=None,
        sample={"kind": sample.name, "language": language},
        parts=parts(await _sample_bytes(request, sample)),
        error=None,
        frame=f"{base}/html",
        eml=None,
        requeueable=REQUEUEABLE,
    )


async def sample_html(request: web.Request) -> web.StreamResponse:
    _, sample = _sample(request)
    return html_answer(parts(await _sample_bytes(request, sample)).html)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/admin/notifications/{id}", signed_in_only(notification_page))
    app.router.add_get("/admin/notifications/{id}/html", signed_in_only(notification_html))
    app.router.add_get("/admin/notifications/{id}/message", signed_in_only(notification_eml))
    app.router.add_get("/admin/emails", signed_in_only(gallery_page))
    app.router.add_get("/admin/emails/{language}/{kind}", signed_in_only(sample_page))
    app.router.add_get("/admin/emails/{language}/{kind}/html", signed_in_only(sample_html))
