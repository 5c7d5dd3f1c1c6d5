"""Admin API for internal teams (CONTRACT §6): a subscription's whole story, and the test clock.

The story is what was stored when it happened: each event with its data as received, each
invoice with its cause and every line's explanation, each notification with its cause and
subject (rendered from its stored context by the same templates that send it).

Every route here answers 401 unless the request carries the admin bearer token.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any, cast

from aiohttp import web
from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from billingcore import (
    Subscription,
    auto_renew_eligibility,
    latest_billable_users,
    max_users,
    qsr_eligibility,
)
from notify import codec
from notify.clock import ClockWentBack, DatabaseClock
from notify.db.models import InboxEvent, InvoiceRow, OutboxRow, SubscriptionRow
from notify.keys import CLOCK, ENGINE, SERVICES
from notify.mail.render import Renderer
from notify.web.admin_suppressions import opt_outs
from notify.web.auth import admin_only
from notify.web.bodies import json_body
from webhooks.fields import parse_timestamp
from webhooks.problems import problem

_EVENTS = cast(Table, InboxEvent.__table__)
_INVOICES = cast(Table, InvoiceRow.__table__)
_OUTBOX = cast(Table, OutboxRow.__table__)
_SUBSCRIPTIONS = cast(Table, SubscriptionRow.__table__)
_BARRIER_SECONDS = 120


def _iso(value: Any) -> Any:
    return value.isoformat() if value is not None else None


def _event_view(e: Any, level: str = "subscription") -> dict[str, Any]:
    return {
        "id": e.id,
        "type": e.type,
        "level": level,
        "timestamp": _iso(e.occurred_at),
        "received_at": _iso(e.received_at),
        "status": e.status,
        "reason": e.error,
        "processed_at": _iso(e.processed_at),
        "data": _data_as_received(e.body),
    }


def notification_view(n: Any, renderer: Renderer) -> dict[str, Any]:
    """One outbox row as internal teams read it: what, to whom, why, and how delivery went."""
    return {
        "id": n.id,
        "subscription_id": n.subscription_id,
        "kind": n.kind,
        "subject": renderer.subject(n.kind, codec.json_tree(n.context)),
        "cause": _json_or_none(n.cause),
        "recipient": n.recipient,
        "status": n.status,
        "attempts": n.attempts,
        "last_error": n.last_error,
        "message_id": n.message_id,
        "created_at": _iso(n.created_at),
        "sent_at": _iso(n.sent_at),
        "next_attempt_at": _iso(n.next_attempt_at),
    }


def _json_or_none(text: str | None) -> Any:
    return None if text is None else codec.json_tree(text)


def _data_as_received(body: str) -> Any:
    """The ``data`` of a stored body, as the sender sent it (the body itself when it has none)."""
    decoded = json.loads(body)
    return decoded.get("data") if isinstance(decoded, dict) else decoded


def state_view(state: Subscription, next_due_at: datetime | None) -> dict[str, Any]:
    """The state as internal teams read it: the contract's fields first, then the rest."""
    qsr = qsr_eligibility(state)
    renewal = auto_renew_eligibility(state)
    return {
        "subscription_id": state.id,
        "tier": state.tier.value,
        "seats_paid_for": state.seats_paid_for,
        "term_start": state.term.start.isoformat(),
        "term_end": state.term.end.isoformat(),
        "max_users": max_users(state, state.term),
        "billable_users": latest_billable_users(state),
        "status": state.status.value,
        "auto_renew": state.auto_renew,
        "qsr_eligible": qsr.eligible,
        "qsr_ineligible_reasons": list(qsr.reasons),
        "auto_renew_eligible": renewal.eligible,
        "auto_renew_blocked_reasons": list(renewal.reasons),
        "unit_price": str(state.unit_price.amount),
        "currency": state.unit_price.currency,
        "next_occasion_at": _iso(next_due_at),
        "detail": codec.to_jsonable(state),
    }


async def story(
    engine: AsyncEngine, renderer: Renderer, subscription_id: str
) -> dict[str, Any] | None:
    """A subscription's whole story as stored, or None when nothing names it."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(select(_SUBSCRIPTIONS).where(_SUBSCRIPTIONS.c.id == subscription_id))
        ).first()
        events = await conn.execute(
            select(_EVENTS)
            .where(_EVENTS.c.subscription_id == subscription_id)
            .order_by(_EVENTS.c.occurred_at, _EVENTS.c.received_at)
        )
        event_list = [_event_view(e) for e in events]
        if row is None and not event_list:
            return None
        if row is not None:
            # What arrived for the customer (a new card, new details) is part of the story too.
            shared = await conn.execute(
                select(_EVENTS)
                .where(
                    (_EVENTS.c.customer_id == row.customer_id) & _EVENTS.c.subscription_id.is_(None)
                )
                .order_by(_EVENTS.c.occurred_at, _EVENTS.c.received_at)
            )
            event_list += [_event_view(e, level="customer") for e in shared]
            event_list.sort(key=lambda e: (e["timestamp"], e["received_at"]))
        invoices = await conn.execute(
            select(_INVOICES)
            .where(_INVOICES.c.subscription_id == subscription_id)
            .order_by(_INVOICES.c.number)
        )
        invoice_list = [
            {
                "number": i.number,
                "purpose": i.purpose,
                "issued_on": i.issued_on.isoformat(),
                "currency": i.currency,
                "total": i.total,
                "lines": codec.json_tree(i.lines),
                "cause": _json_or_none(i.cause),
                "paid_at": _iso(i.paid_at),
                "payment_failed_at": _iso(i.payment_failed_at),
            }
            for i in invoices
        ]
        notifications = await conn.execute(
            select(_OUTBOX)
            .where(_OUTBOX.c.subscription_id == subscription_id)
            .order_by(_OUTBOX.c.id)
        )
        notification_list = [notification_view(n, renderer) for n in notifications]
    opted_out = await opt_outs(engine, subscription_id)
    state = None
    if row is not None:
        state = state_view(codec.loads(Subscription, row.state), row.next_due_at)
    return {
        "state": state,
        "events": event_list,
        "invoices": invoice_list,
        "notifications": notification_list,
        "opt_outs": [
            {"address": o["address"], "created_at": _iso(o["created_at"])} for o in opted_out
        ],
    }


async def subscription(request: web.Request) -> web.Response:
    subscription_id = request.match_info["id"]
    found = await story(request.app[ENGINE], request.app[SERVICES].renderer, subscription_id)
    if found is None:
        return problem(404, "not-found", f"no subscription or event for {subscription_id!r}")
    return web.json_response(found)


async def get_clock(request: web.Request) -> web.Response:
    return web.json_response({"now": (await request.app[CLOCK].now()).isoformat()})


async def set_clock(request: web.Request) -> web.Response:
    body = await json_body(request)
    try:
        when = parse_timestamp(body["now"])
    except (ValueError, KeyError, TypeError):
        return problem(
            422,
            "invalid-data",
            'the body must be {"now": "<RFC 3339 timestamp with offset>"}',
            errors=[{"field": "now", "message": "an RFC 3339 timestamp with Z or an offset"}],
        )
    clock = request.app[CLOCK]
    assert isinstance(clock, DatabaseClock)
    try:
        now = await clock.set(when)
    except ClockWentBack as exc:
        return problem(409, "clock-went-back", str(exc))
    try:
        async with asyncio.timeout(_BARRIER_SECONDS):
            await request.app[SERVICES].processor.settle()
    except TimeoutError:
        return problem(
            503, "clock-barrier-timeout", "the clock moved but the work due has not finished yet"
        )
    return web.json_response({"now": now.isoformat()})


def add_routes(app: web.Application, *, test_clock: bool) -> None:
    app.router.add_get("/admin/api/v1/subscriptions/{id}", admin_only(subscription))
    if test_clock:
        app.router.add_get("/admin/api/v1/clock", admin_only(get_clock))
        app.router.add_post("/admin/api/v1/clock", admin_only(set_clock))
