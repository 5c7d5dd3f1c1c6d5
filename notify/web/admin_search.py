"""Admin search: find a subscription by what a support person knows of it (CONTRACT §6).

``GET /admin/api/v1/subscriptions?q=TEXT`` matches, case-insensitively, the subscription id,
the customer's id and name, any billing contact's email, and the namespace or instance id, and
answers at most 50, best matches first: a field that is TEXT exactly, then one that starts
with it, then one that contains it; ties by customer name and id.
"""

from __future__ import annotations

from typing import Any, cast

from aiohttp import web
from sqlalchemy import ColumnElement, Table, case, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from billingcore import Subscription
from notify import codec
from notify.db.models import SubscriptionRow
from notify.keys import ENGINE
from notify.web.auth import admin_only
from webhooks.problems import problem

_SUBSCRIPTIONS = cast(Table, SubscriptionRow.__table__)
LIMIT = 50
MAX_QUERY = 200
_ESCAPE = "\\"


def _like(text: str) -> str:
    """``text`` with LIKE's wildcards escaped, so a ``%`` or ``_`` in a query is itself."""
    for special in (_ESCAPE, "%", "_"):
        text = text.replace(special, _ESCAPE + special)
    return text


def _ranked(q: str) -> tuple[ColumnElement[bool], ColumnElement[int]]:
    """The filter (any field contains ``q``) and the rank (0 exact, 1 prefix, 2 contains)."""
    t = _SUBSCRIPTIONS
    plain = [
        func.lower(column)
        for column in (
            t.c.id,
            t.c.customer_id,
            t.c.customer_name,
            t.c.namespace_id,
            t.c.instance_id,
        )
    ]
    # The contacts are one space-separated column: pad it, so each address is " address ".
    emails = literal(" ") + func.coalesce(t.c.contact_emails, "") + literal(" ")
    word = _like(q)
    contains = [c.like(f"%{word}%", escape=_ESCAPE) for c in plain]
    contains.append(emails.like(f"%{word}%", escape=_ESCAPE))
    exact = [c == q for c in plain] + [emails.like(f"% {word} %", escape=_ESCAPE)]
    prefix = [c.like(f"{word}%", escape=_ESCAPE) for c in plain]
    prefix.append(emails.like(f"% {word}%", escape=_ESCAPE))
    rank = case((or_(*exact), 0), (or_(*prefix), 1), else_=2)
    return or_(*contains), rank


def item_view(state: Subscription) -> dict[str, Any]:
    """A search result: enough to tell the subscriptions of one customer apart."""
    return {
        "subscription_id": state.id,
        "customer": {
            "id": state.customer.id,
            "name": state.customer.name,
            "email": state.customer.email,
        },
        "tier": state.tier.value,
        "seats_paid_for": state.seats_paid_for,
        "status": state.status.value,
        "term_end": state.term.end.isoformat(),
    }


def searchable(text: str) -> str | None:
    """The query ``text`` stands for (trimmed, lower-cased), or None when it cannot be one."""
    q = text.strip().lower()
    if not q or len(q) > MAX_QUERY or not q.isprintable():
        return None
    return q


async def find(engine: AsyncEngine, q: str) -> list[dict[str, Any]]:
    """At most 50 subscriptions matching the ``searchable`` query ``q``, best first."""
    matches, rank = _ranked(q)
    t = _SUBSCRIPTIONS
    query = (
        select(t.c.state)
        .where(matches)
        .order_by(rank, func.lower(func.coalesce(t.c.customer_name, "")), t.c.id)
        .limit(LIMIT)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [item_view(codec.loads(Subscription, row.state)) for row in rows]


async def search(request: web.Request) -> web.StreamResponse:
    q = searchable(request.query.get("q", ""))
    if q is None:
        return problem(
            422,
            "invalid-data",
            f"q must be 1 to {MAX_QUERY} printable characters",
            errors=[{"field": "q", "message": f"a text of 1 to {MAX_QUERY} printable characters"}],
        )
    return web.json_response({"items": await find(request.app[ENGINE], q)})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/admin/api/v1/subscriptions", admin_only(search))
