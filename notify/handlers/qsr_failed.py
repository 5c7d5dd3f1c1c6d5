"""qsr_failed: the payment of a reconciliation invoice failed."""

from __future__ import annotations

from billingcore.outcomes import NoticeDue
from billingcore.state import Subscription
from notify.handlers.common import Branding, EmailSpec, FactReader, card_on_file, spec


def build(state: Subscription, notice: NoticeDue, brand: Branding) -> EmailSpec:
    """The unpaid amount, why it failed, and how to update the payment method."""
    facts = FactReader(state, notice)
    return spec(
        state,
        notice,
        brand,
        amount=facts.money("amount"),
        reason=facts.optional_text("reason"),
        card=card_on_file(state, facts.optional_text("card_last4")),
    )
