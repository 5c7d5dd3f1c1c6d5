"""payment_method_expiring (reminder): the card on file expires before the next renewal."""

from __future__ import annotations

from billingcore.outcomes import NoticeDue
from billingcore.state import Subscription
from notify.handlers.common import Branding, EmailSpec, FactReader, spec
from notify.handlers.formatting import format_month


def build(state: Subscription, notice: NoticeDue, brand: Branding) -> EmailSpec:
    """The card's last 4 digits and expiry, and the renewal it would not cover."""
    facts = FactReader(state, notice)
    month = facts.integer("card_exp_month")
    year = facts.integer("card_exp_year")
    valid_through = facts.day_value("card_valid_through")
    return spec(
        state,
        notice,
        brand,
        renewal_date=facts.day("renewal_date"),
        card={
            "brand": facts.text("card_brand"),
            "last4": facts.text("card_last4"),
            "expiry": f"{month:02d}/{year}",
            "expiry_month": format_month(valid_through, facts.locale),
            "valid_through": facts.day("card_valid_through"),
        },
    )
