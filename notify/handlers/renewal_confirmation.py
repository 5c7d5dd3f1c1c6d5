"""renewal_confirmation: on subscription.renewed and every auto-renewal (term, seats, total,
true-up line)."""

from __future__ import annotations

from typing import Any

from billingcore.outcomes import NoticeDue
from billingcore.state import Subscription
from notify.handlers.common import Branding, EmailSpec, FactReader, spec
from notify.handlers.formatting import format_money


def build(state: Subscription, notice: NoticeDue, brand: Branding) -> EmailSpec:
    """The new term, and the invoice split into the seats line and the true-up line if any."""
    facts = FactReader(state, notice)
    total = facts.money_value("invoice_total")
    true_up: dict[str, Any] | None = None
    seats_amount = total
    if facts.has("true_up_amount"):
        true_up_amount = facts.money_value("true_up_amount")
        # The total is the sum of rounded lines, so the seats line is exactly the difference.
        seats_amount = total - true_up_amount
        true_up = {
            "users": facts.integer("true_up_users"),
            "amount": format_money(true_up_amount, facts.locale),
        }
    return spec(
        state,
        notice,
        brand,
        tier=facts.tier(),
        seats=facts.integer("seats"),
        term=facts.term("term"),
        unit_price=facts.money("unit_price"),
        seats_amount=format_money(seats_amount, facts.locale),
        true_up=true_up,
        invoice_total=format_money(total, facts.locale),
        automatic=facts.flag("automatic"),
    )
