"""auto_renewal_upcoming (reminder): 15 days before term_end when auto-renewal is eligible."""

from __future__ import annotations

from typing import Any

from billingcore.money import round_line
from billingcore.outcomes import NoticeDue
from billingcore.state import Subscription
from notify.handlers.common import Branding, EmailSpec, FactReader, card_on_file, spec
from notify.handlers.formatting import format_money


def build(state: Subscription, notice: NoticeDue, brand: Branding) -> EmailSpec:
    """The renewal date, seats, amount and the card it will be charged to.

    The amount is seats × unit_price plus, where it applies, the true-up line of ``users over
    × unit_price`` (CONTRACT §3 Auto-renewal, Annual true-up); both lines are shown.
    """
    facts = FactReader(state, notice)
    amount = facts.money_value("amount")
    users_over = facts.integer("true_up_users")
    true_up: dict[str, Any] | None = None
    seats_amount = amount
    if users_over > 0:
        # The notice carries the users over but not the line's amount: it is recomputed from
        # the same rule, rounded once like the invoice line will be.
        line = round_line(users_over * state.unit_price.amount, state.currency)
        seats_amount = amount - line
        true_up = {"users": users_over, "amount": format_money(line, facts.locale)}
    return spec(
        state,
        notice,
        brand,
        renewal_date=facts.day("renewal_date"),
        new_term=facts.term("new_term"),
        tier=facts.tier(),
        seats=facts.integer("seats"),
        unit_price=format_money(state.unit_price, facts.locale),
        seats_amount=format_money(seats_amount, facts.locale),
        true_up=true_up,
        amount=format_money(amount, facts.locale),
        card=card_on_file(state, facts.optional_text("card_last4")),
    )
