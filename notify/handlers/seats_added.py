"""seats_added: on subscription.seats_added (seats added, new seat count, prorated amount)."""

from __future__ import annotations

from billingcore.outcomes import NoticeDue
from billingcore.state import Subscription
from notify.handlers.common import Branding, EmailSpec, FactReader, remaining_days, spec
from notify.handlers.formatting import format_money


def build(state: Subscription, notice: NoticeDue, brand: Branding) -> EmailSpec:
    """Seats added mid-term, billed for the days left in the term (CONTRACT §3 Seats added)."""
    facts = FactReader(state, notice)
    effective = facts.day_value("effective_date")
    return spec(
        state,
        notice,
        brand,
        seats_added=facts.integer("seats_added"),
        seats=facts.integer("new_seats"),
        effective_date=facts.day("effective_date"),
        remaining_days=remaining_days(state, effective),
        unit_price=format_money(state.unit_price, facts.locale),
        amount=facts.money("amount"),
        invoice_total=facts.money("invoice_total"),
    )
