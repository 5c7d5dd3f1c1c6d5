"""subscription_expired: a term ended without renewal (after the grace period, if any)."""

from __future__ import annotations

from billingcore.outcomes import NoticeDue
from billingcore.state import Subscription
from notify.handlers.common import Branding, EmailSpec, FactReader, spec


def build(state: Subscription, notice: NoticeDue, brand: Branding) -> EmailSpec:
    """What the expiry took away and how to renew."""
    facts = FactReader(state, notice)
    return spec(
        state,
        notice,
        brand,
        expired_on=facts.day("expired_on"),
        tier=facts.tier(),
        seats=facts.integer("seats"),
        term=facts.term("term"),
    )
