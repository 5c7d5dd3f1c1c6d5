"""auto_renewal_upcoming (reminder): 15 days before term_end when auto-renewal is eligible."""

from __future__ import annotations

from typing import Any

from billingcore.notices import AutoRenewalUpcoming
from notify.handlers.common import Formatter, tier_name


def build(notice: AutoRenewalUpcoming, fmt: Formatter) -> dict[str, Any]:
    """The renewal date, seats, amount and the card it will be charged to.

    The amount is seats × unit_price plus, where it applies, the true-up line of ``users over
    × unit_price`` (CONTRACT §3 Auto-renewal, Annual true-up); both lines are shown.
    """
    true_up = None
    if notice.true_up_amount is not None:
        true_up = {"users": notice.true_up_users, "amount": fmt.money(notice.true_up_amount)}
    return {
        "renewal_date": fmt.day(notice.renewal_date),
        "new_term": fmt.term(notice.new_term),
        "tier": tier_name(notice.tier),
        "seats": notice.seats,
        "unit_price": fmt.money(notice.unit_price),
        "seats_amount": fmt.money(notice.seats_amount),
        "true_up": true_up,
        "amount": fmt.money(notice.amount),
        "card": fmt.card(notice.card_last4),
    }
