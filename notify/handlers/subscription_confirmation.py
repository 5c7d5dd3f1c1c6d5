"""subscription_confirmation: on subscription.created (tier, seats, term, invoice total)."""

from __future__ import annotations

from typing import Any

from billingcore.notices import SubscriptionConfirmation
from notify.handlers.common import Formatter, tier_name


def build(notice: SubscriptionConfirmation, fmt: Formatter) -> dict[str, Any]:
    """The purchase confirmed: what was bought, for how long, and the invoice total."""
    return {
        "tier": tier_name(notice.tier),
        "seats": notice.seats,
        "term": fmt.term(notice.term),
        "unit_price": fmt.money(notice.unit_price),
        "invoice_total": fmt.money(notice.invoice_total),
    }
