"""renewal_confirmation: on subscription.renewed and every auto-renewal (term, seats, total,
true-up line)."""

from __future__ import annotations

from typing import Any

from billingcore.notices import RenewalConfirmation
from notify.handlers.common import Formatter, tier_name


def build(notice: RenewalConfirmation, fmt: Formatter) -> dict[str, Any]:
    """The new term, and the invoice split into the seats line and the true-up line if any."""
    true_up = None
    if notice.true_up_amount is not None:
        true_up = {"users": notice.true_up_users, "amount": fmt.money(notice.true_up_amount)}
    return {
        "tier": tier_name(notice.tier),
        "seats": notice.seats,
        "term": fmt.term(notice.term),
        "unit_price": fmt.money(notice.unit_price),
        "seats_amount": fmt.money(notice.seats_amount),
        "true_up": true_up,
        "invoice_total": fmt.money(notice.invoice_total),
        "automatic": notice.automatic,
    }
