"""seats_added: on subscription.seats_added (seats added, new seat count, prorated amount)."""

from __future__ import annotations

from typing import Any

from billingcore.notices import SeatsAdded
from notify.handlers.common import Formatter


def build(notice: SeatsAdded, fmt: Formatter) -> dict[str, Any]:
    """Seats added mid-term, billed for the days left in the term (CONTRACT §3 Seats added)."""
    return {
        "seats_added": notice.seats_added,
        "seats": notice.new_seats,
        "effective_date": fmt.day(notice.effective_date),
        "remaining_days": notice.remaining_days,
        "unit_price": fmt.money(notice.unit_price),
        "amount": fmt.money(notice.invoice_total),
        "invoice_total": fmt.money(notice.invoice_total),
    }
