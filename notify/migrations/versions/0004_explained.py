"""Commands kept with accepted events; causes and explanations on invoices and notifications.

Revision ID: 0004
Revises: 0003

The edge now stores, with each accepted event, the billing core's command made of it; the
processor reads that command and never parses a body again. Invoice lines carry their
explanation and invoices and outbox rows their cause (CONTRACT §6).

Rows written before this revision are brought up as far as they can be:

- accepted and held events get their command, made from their stored body by the same
  validation and translation the edge runs now (a body that no longer passes is rejected,
  with the reason, rather than left to fail on every pass);
- invoice lines get an explanation from what the line recorded (its rule, its quantity and
  unit price, its service period, the quarter of a reconciliation), marked
  ``"reconstructed": true`` in its inputs: the day counts behind an old prorated line were
  not kept, so its formula names the days left but not the term's length;
- invoices and notifications get the cause their stable keys name (the event id, or the
  occasion and its date; a purchase's, a cancellation's and a failed payment's event is looked
  up in the inbox), marked ``"reconstructed": true``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from alembic import op

from billingcore.explanations import money_text
from billingcore.money import Money

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_inbox = sa.table(
    "inbox_events",
    sa.column("id", sa.String),
    sa.column("type", sa.String),
    sa.column("body", sa.Text),
    sa.column("status", sa.String),
    sa.column("error", sa.Text),
    sa.column("command", sa.Text),
    sa.column("subscription_id", sa.String),
    sa.column("occurred_at", sa.String),
)
_invoices = sa.table(
    "invoices",
    sa.column("number", sa.String),
    sa.column("key", sa.String),
    sa.column("subscription_id", sa.String),
    sa.column("purpose", sa.String),
    sa.column("lines", sa.Text),
    sa.column("cause", sa.Text),
    sa.column("issued_on", sa.Date),
    sa.column("payment_failed_at", sa.String),
)
_outbox = sa.table(
    "outbox",
    sa.column("id", sa.Integer),
    sa.column("idempotency_key", sa.String),
    sa.column("kind", sa.String),
    sa.column("subscription_id", sa.String),
    sa.column("recipient", sa.String),
    sa.column("cause", sa.Text),
)
_subscriptions = sa.table("subscriptions", sa.column("id", sa.String), sa.column("state", sa.Text))


def upgrade() -> None:
    op.add_column("inbox_events", sa.Column("command", sa.Text(), nullable=True))
    op.add_column("invoices", sa.Column("cause", sa.Text(), nullable=True))
    op.add_column("outbox", sa.Column("cause", sa.Text(), nullable=True))
    conn = op.get_bind()
    _keep_commands(conn)
    events = _Events(conn)
    _explain_invoices(conn, events)
    _cause_notifications(conn, events)


def downgrade() -> None:
    for table, column in (("outbox", "cause"), ("invoices", "cause"), ("inbox_events", "command")):
        with op.batch_alter_table(table) as batch:
            batch.drop_column(column)


# -- commands ------------------------------------------------------------------------------------


def _keep_commands(conn: sa.Connection) -> None:
    # The edge's own path, as it stands at this revision.
    from notify import codec
    from webhooks.schemas import WebhookBodyError, parse_event
    from webhooks.translate import Origin, to_command

    waiting = conn.execute(
        sa.select(_inbox.c.id, _inbox.c.body).where(_inbox.c.status.in_(("accepted", "held")))
    ).all()
    for event_id, body in waiting:
        try:
            parsed = parse_event(body.encode("utf-8"))
        except WebhookBodyError as exc:
            values: dict[str, Any] = {"status": "rejected", "error": f"invalid_body: {exc}"}
        else:
            if isinstance(parsed.data, dict):
                values = {"status": "ignored"}
            else:
                origin = Origin(key=event_id, at=parsed.timestamp)
                values = {"command": codec.dumps(to_command(parsed.data, origin))}
        conn.execute(sa.update(_inbox).where(_inbox.c.id == event_id).values(**values))


# -- causes --------------------------------------------------------------------------------------


class _Events:
    """The inbox as the causes need it: the events of a subscription by type."""

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn
        self._deployments: dict[str, str] = {}

    def first(self, subscription_id: str, event_type: str) -> str | None:
        return self._conn.execute(
            sa.select(_inbox.c.id)
            .where(
                (_inbox.c.subscription_id == subscription_id)
                & (_inbox.c.type == event_type)
                & (_inbox.c.status == "processed")
            )
            .order_by(_inbox.c.occurred_at)
            .limit(1)
        ).scalar_one_or_none()

    def payment_failed(self, subscription_id: str, invoice_key: str) -> str | None:
        number = self._conn.execute(
            sa.select(_invoices.c.number).where(_invoices.c.key == invoice_key)
        ).scalar_one_or_none()
        rows = self._conn.execute(
            sa.select(_inbox.c.id, _inbox.c.body)
            .where(
                (_inbox.c.subscription_id == subscription_id)
                & (_inbox.c.type == "payment.failed")
                & (_inbox.c.status == "processed")
            )
            .order_by(_inbox.c.occurred_at)
        ).all()
        for event_id, body in rows:
            if json.loads(body).get("data", {}).get("invoice_number") == number:
                return str(event_id)
        return None

    def deployment(self, subscription_id: str) -> str:
        if subscription_id not in self._deployments:
            state = self._conn.execute(
                sa.select(_subscriptions.c.state).where(_subscriptions.c.id == subscription_id)
            ).scalar_one_or_none()
            found = "saas" if state is None else json.loads(state).get("deployment", "saas")
            self._deployments[subscription_id] = found
        return self._deployments[subscription_id]


def _event(event_id: str | None) -> dict[str, Any]:
    return {"event_id": event_id, "reconstructed": True}


def _occasion(kind: str, on: date | str) -> dict[str, Any]:
    day = on if isinstance(on, str) else on.isoformat()
    return {"occasion": kind, "date": day, "reconstructed": True}


def _is_date(text: str) -> bool:
    return re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) is not None


def _after(day: str, days: int) -> str:
    return (date.fromisoformat(day) + timedelta(days=days)).isoformat()


def _invoice_cause(events: _Events, row: Any) -> dict[str, Any]:
    occasion = row.key[len(f"{row.subscription_id}:{row.purpose}:") :]
    if row.purpose == "purchase":
        return _event(events.first(row.subscription_id, "subscription.created"))
    if row.purpose == "qsr":
        return _occasion("qsr_invoice", row.issued_on)
    if row.purpose == "renewal":
        day, _, event_id = occasion.partition(":")
        return _event(event_id) if event_id else _occasion("term_end", day)
    return _event(occasion)


def _notice_cause(events: _Events, row: Any) -> dict[str, Any]:
    prefix = f"{row.subscription_id}:{row.kind}:"
    occasion = row.idempotency_key[len(prefix) : -len(f":{row.recipient.lower()}")]
    sub = row.subscription_id
    by_date = {
        "renewal_reminder": "renewal_reminder",
        "auto_renewal_upcoming": "auto_renewal_notice",
        "auto_renewal_blocked": "auto_renewal_notice",
        "payment_method_expiring": "payment_method_expiring",
        "subscription_expired": "term_end",
    }
    if row.kind in by_date:
        return _occasion(by_date[row.kind], occasion)
    if row.kind == "subscription_confirmation":
        return _event(events.first(sub, "subscription.created"))
    if row.kind == "cancellation_confirmation":
        return _event(events.first(sub, "subscription.cancelled"))
    if row.kind in ("auto_renewal_failed", "qsr_failed"):
        return _event(events.payment_failed(sub, occasion))
    if row.kind == "managing_users":
        return _occasion("managing_users", _after(occasion, 1))
    if row.kind in ("qsr_notice", "qsr_reconciled"):
        notice_on = _after(occasion, 6) if events.deployment(sub) == "self_managed" else occasion
        if row.kind == "qsr_notice":
            return _occasion("qsr_notice", notice_on)
        return _occasion("qsr_invoice", _after(notice_on, 7))
    if row.kind == "renewal_confirmation" and _is_date(occasion):
        return _occasion("term_end", occasion)
    return _event(occasion)


def _cause_notifications(conn: sa.Connection, events: _Events) -> None:
    rows = conn.execute(sa.select(_outbox).where(_outbox.c.cause.is_(None))).all()
    for row in rows:
        cause = json.dumps(_notice_cause(events, row), separators=(",", ":"))
        conn.execute(sa.update(_outbox).where(_outbox.c.id == row.id).values(cause=cause))


# -- explanations --------------------------------------------------------------------------------


def _explain_invoices(conn: sa.Connection, events: _Events) -> None:
    rows = conn.execute(sa.select(_invoices).where(_invoices.c.cause.is_(None))).all()
    for row in rows:
        lines = [_explained(row.purpose, line) for line in json.loads(row.lines)]
        conn.execute(
            sa.update(_invoices)
            .where(_invoices.c.number == row.number)
            .values(
                lines=json.dumps(lines, separators=(",", ":"), sort_keys=True),
                cause=json.dumps(_invoice_cause(events, row), separators=(",", ":")),
            )
        )


def _explained(purpose: str, line: dict[str, Any]) -> dict[str, Any]:
    if "explanation" in line:
        return line
    price = Money(
        amount=Decimal(line["unit_price"]["amount"]), currency=line["unit_price"]["currency"]
    )
    quantity = int(line["quantity"])
    inputs: dict[str, Any] = {
        "quantity": quantity,
        "unit_price": price.to_wire(),
        "currency": price.currency,
        "reconstructed": True,
    }
    period = line.get("service_period")
    if period:
        inputs["period_start"], inputs["period_end"] = period["start"], period["end"]
    rule, formula = _legacy_rule(purpose, line, quantity, money_text(price), inputs)
    return {**line, "explanation": {"rule": rule, "formula": formula, "inputs": inputs}}


def _legacy_rule(
    purpose: str, line: dict[str, Any], quantity: int, price: str, inputs: dict[str, Any]
) -> tuple[str, str]:
    seats = f"{quantity} {'seat' if quantity == 1 else 'seats'}"
    users = f"{quantity} {'user' if quantity == 1 else 'users'} over"
    period = line.get("service_period")
    days = ""
    if period:
        left = (date.fromisoformat(period["end"]) - date.fromisoformat(period["start"])).days
        inputs["remaining_days"] = left
        days = f" × {left} days left of the term"
    description = str(line.get("description", ""))
    if purpose == "seats_added":
        return "proration.seats", f"{seats} added × {price}{days}"
    if purpose == "upgrade":
        if Decimal(line["amount"]["amount"]) < 0:
            return "proration.upgrade_credit", f"−{seats} × {price}{days}"
        return "proration.upgrade_charge", f"{seats} × {price}{days}"
    if purpose == "qsr":
        found = re.search(r"quarter (\d)", description)
        k = int(found.group(1)) if found else 0
        inputs.update(quarter=k, quarters_left=4 - k, quarters=4)
        return "qsr.overage", f"{users} × {price} × {4 - k}/4 quarters left"
    if purpose == "renewal" and description.startswith("Annual true-up"):
        return "trueup", f"{users} × {price}"
    if purpose == "renewal":
        return "renewal.seats", f"{seats} × {price}"
    return "purchase", f"{seats} × {price}"
