"""upgrade_confirmation: on subscription.upgraded (new tier, net prorated amount)."""

from __future__ import annotations

from billingcore.outcomes import NoticeDue
from billingcore.state import Subscription
from notify.handlers.common import Branding, EmailSpec, FactReader, remaining_days, spec, tier_name


def build(state: Subscription, notice: NoticeDue, brand: Branding) -> EmailSpec:
    """The upgrade: a credit for the old tier and a charge for the new, over the days left."""
    facts = FactReader(state, notice)
    effective = facts.day_value("effective_date")
    return spec(
        state,
        notice,
        brand,
        tier=facts.tier(),
        previous_tier=tier_name(facts.text("previous_tier")),
        seats=facts.integer("seats"),
        effective_date=facts.day("effective_date"),
        remaining_days=remaining_days(state, effective),
        unit_price=facts.money("unit_price"),
        credit=facts.money("credit"),
        charge=facts.money("charge"),
        amount=facts.money("amount"),
        invoice_total=facts.money("invoice_total"),
    )
