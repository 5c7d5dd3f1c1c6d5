"""payment_method_expiring (reminder): the card on file expires before the next renewal."""

from __future__ import annotations

from typing import Any

from billingcore.notices import PaymentMethodExpiring
from notify.handlers.common import Formatter
from notify.handlers.formatting import format_month


def build(notice: PaymentMethodExpiring, fmt: Formatter) -> dict[str, Any]:
    """The card's last 4 digits and expiry, and the renewal it would not cover."""
    card = notice.card
    return {
        "renewal_date": fmt.day(notice.renewal_date),
        "card": {
            "brand": card.brand,
            "last4": card.last4,
            "expiry": f"{card.exp_month:02d}/{card.exp_year}",
            "expiry_month": format_month(card.valid_through, fmt.locale),
            "valid_through": fmt.day(card.valid_through),
        },
    }
