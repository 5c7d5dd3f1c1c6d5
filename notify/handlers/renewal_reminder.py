"""renewal_reminder (reminder): 90, 45 and 30 days before term_end when it will not
auto-renew."""

from __future__ import annotations

from billingcore.outcomes import NoticeDue
from billingcore.state import Subscription
from notify.handlers.common import Branding, EmailSpec, FactReader, spec


def build(state: Subscription, notice: NoticeDue, brand: Branding) -> EmailSpec:
    """The expiry date and how to renew (the partner variant: contact the partner)."""
    facts = FactReader(state, notice)
    return spec(
        state,
        notice,
        brand,
        expires_on=facts.day("expires_on"),
        days_before=facts.integer("days_before"),
        tier=facts.tier(),
        seats=facts.integer("seats"),
        term=facts.term("term"),
    )
