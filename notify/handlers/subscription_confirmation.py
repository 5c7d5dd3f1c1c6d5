"""subscription_confirmation: on subscription.created (tier, seats, term, invoice total)."""

from __future__ import annotations

from billingcore.outcomes import NoticeDue
from billingcore.state import Subscription
from notify.handlers.common import Branding, EmailSpec, FactReader, spec


def build(state: Subscription, notice: NoticeDue, brand: Branding) -> EmailSpec:
    """The purchase confirmed: what was bought, for how long, and the invoice total."""
    facts = FactReader(state, notice)
    return spec(
        state,
        notice,
        brand,
        tier=facts.tier(),
        seats=facts.integer("seats"),
        term=facts.term("term"),
        unit_price=facts.money("unit_price"),
        invoice_total=facts.money("invoice_total"),
    )
