"""cancellation_confirmation: on subscription.cancelled (the date the subscription ends)."""

from __future__ import annotations

from billingcore.outcomes import NoticeDue
from billingcore.state import Subscription
from notify.handlers.common import Branding, EmailSpec, FactReader, spec


def build(state: Subscription, notice: NoticeDue, brand: Branding) -> EmailSpec:
    """The subscription runs to its term end and does not renew."""
    facts = FactReader(state, notice)
    return spec(
        state,
        notice,
        brand,
        ends_on=facts.day("ends_on"),
        tier=facts.tier(),
        reason=facts.optional_text("reason"),
    )
