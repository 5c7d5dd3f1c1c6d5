"""Admin API: what a subscription will be billed and sent, and what one event would do now.

``GET /admin/api/v1/subscriptions/{id}/forecast[?through=YYYY-MM-DD]`` and ``POST
/admin/api/v1/subscriptions/{id}/preview`` (CONTRACT §6). Both run the billing core's own
timeline on the stored state (``billingcore.forecast``) and store and send nothing. A preview's
body is checked exactly as ``POST /webhooks`` checks an event, with the same answers.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import date, datetime
from typing import Any, cast

from aiohttp import web
from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from billingcore import Subscription
from billingcore.commands import RecordPaymentFailed, RecordPaymentSucceeded
from billingcore.forecast import Forecast, Preview, forecast, horizon, preview
from billingcore.invoices import Invoice
from notify import codec
from notify.db.models import SubscriptionRow
from notify.keys import CLOCK, ENGINE
from notify.processing.stored import invoice_keys, with_invoice_key
from notify.web.auth import admin_only
from notify.web.bodies import json_body
from webhooks.problems import problem
from webhooks.route import body_problem
from webhooks.schemas import WebhookBodyError, parse_event
from webhooks.translate import Origin, to_command

_SUBSCRIPTIONS = cast(Table, SubscriptionRow.__table__)
# The field of each event's data that names its subscription, or its customer.
_CUSTOMER_EVENTS = frozenset({"payment_method.updated", "customer.updated"})


def invoice_view(invoice: Invoice) -> dict[str, Any]:
    """An invoice as the forecast and the preview show it: date, purpose, total, each line
    with its amount and explanation (CONTRACT §6)."""
    return {
        "date": invoice.issued_on.isoformat(),
        "purpose": invoice.purpose.value,
        "currency": invoice.currency,
        "total": invoice.total.to_wire(),
        "lines": [
            {
                "description": line.description,
                "amount": line.amount.to_wire(),
                "explanation": line.explanation.to_view(),
            }
            for line in invoice.lines
        ],
    }


def forecast_view(ahead: Forecast) -> dict[str, Any]:
    return {
        "as_of": ahead.as_of.isoformat(),
        "through": ahead.through.isoformat(),
        "assumptions": list(ahead.assumptions),
        "charges": [invoice_view(invoice) for invoice in ahead.charges],
        "notifications": [
            {"date": n.date.isoformat(), "kind": n.kind.value} for n in ahead.notifications
        ],
    }


def preview_view(seen: Preview) -> dict[str, Any]:
    refusal = seen.rejected
    return {
        "invoice": None if seen.invoice is None else invoice_view(seen.invoice),
        "rejected": None if refusal is None else {"code": refusal.code, "message": refusal.reason},
        "notifications": [kind.value for kind in seen.notifications],
    }


async def stored_state(
    engine: AsyncEngine, subscription_id: str
) -> tuple[Subscription, datetime] | None:
    """The stored state of ``subscription_id`` and its cursor, or None."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(_SUBSCRIPTIONS.c.state, _SUBSCRIPTIONS.c.occasions_through).where(
                    _SUBSCRIPTIONS.c.id == subscription_id
                )
            )
        ).first()
    if row is None:
        return None
    return codec.loads(Subscription, row.state), row.occasions_through


def _not_found(request: web.Request) -> web.Response:
    return problem(404, "not-found", f"no subscription {request.match_info['id']!r}")


async def get_forecast(request: web.Request) -> web.StreamResponse:
    stored = await stored_state(request.app[ENGINE], request.match_info["id"])
    if stored is None:
        return _not_found(request)
    state, cursor = stored
    as_of = await request.app[CLOCK].now()
    last = horizon(as_of)
    given = request.query.get("through")
    through = last if given is None else _date_or_none(given)
    if through is None or not as_of.date() <= through <= last:
        return problem(
            422,
            "invalid-data",
            "through must be a date from today to 24 months ahead",
            errors=[
                {
                    "field": "through",
                    "message": f"a date (YYYY-MM-DD) from {as_of.date()} to {last}",
                }
            ],
        )
    ahead = forecast(state, through_cursor=cursor, as_of=as_of, through=through)
    return web.json_response(forecast_view(ahead))


def _date_or_none(text: str) -> date | None:
    # Only YYYY-MM-DD: fromisoformat alone also takes 20270101 and week dates.
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


async def post_preview(request: web.Request) -> web.StreamResponse:
    subscription_id = request.match_info["id"]
    wanted = await json_body(request)
    if not isinstance(wanted, dict) or set(wanted) - {"type", "data"}:
        return problem(400, "malformed-body", 'the body must be {"type": …, "data": {…}}')
    stored = await stored_state(request.app[ENGINE], request.match_info["id"])
    now = await request.app[CLOCK].now()
    event_type, data = wanted.get("type"), wanted.get("data")
    if isinstance(data, dict):
        naming = "customer_id" if event_type in _CUSTOMER_EVENTS else "subscription_id"
        default = subscription_id
        if naming == "customer_id":
            default = "" if stored is None else stored[0].customer.id
        given = data.setdefault(naming, default)
        if given != default:
            return problem(
                422,
                "invalid-data",
                "the event names another subscription than the path",
                errors=[{"field": f"data.{naming}", "message": f"must be {default!r} or left out"}],
            )
    envelope = {"type": event_type, "timestamp": now.isoformat(), "data": data}
    try:
        event = parse_event(json.dumps(envelope).encode())
    except WebhookBodyError as exc:
        return body_problem(exc)
    if isinstance(event.data, dict):
        return web.json_response(
            {"invoice": None, "rejected": None, "notifications": [], "ignored": True}
        )
    if stored is None and event.type != "subscription.created":
        return _not_found(request)
    command = to_command(event.data, Origin(key=f"preview:{uuid.uuid4().hex}", at=now))
    if isinstance(command, RecordPaymentSucceeded | RecordPaymentFailed):
        async with request.app[ENGINE].connect() as conn:
            command = with_invoice_key(command, await invoice_keys(conn, [command]))
    state, cursor = (None, None) if stored is None else stored
    seen = preview(state, command, through_cursor=cursor, now=now)
    return web.json_response(preview_view(seen))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/admin/api/v1/subscriptions/{id}/forecast", admin_only(get_forecast))
    app.router.add_post("/admin/api/v1/subscriptions/{id}/preview", admin_only(post_preview))
