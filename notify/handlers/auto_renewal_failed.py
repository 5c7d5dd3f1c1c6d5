"""auto_renewal_failed: the payment of a renewal invoice failed; the grace period began."""

from __future__ import annotations

from billingcore.outcomes import NoticeDue
from billingcore.state import Subscription
from notify.handlers.common import Branding, EmailSpec, FactReader, card_on_file, spec


def build(state: Subscription, notice: NoticeDue, brand: Branding) -> EmailSpec:
    """The unpaid renewal and the end of the 14-day grace period (CONTRACT §3)."""
    facts = FactReader(state, notice)
    return spec(
        state,
        notice,
        brand,
        grace_ends=facts.day("grace_ends"),
        amount=facts.money("amount"),
        reason=facts.optional_text("reason"),
        card=card_on_file(state, facts.optional_text("card_last4")),
    )
