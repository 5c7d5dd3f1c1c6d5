"""qsr_notice: an overage found at a quarterly reconciliation, invoiced 7 days later."""

from __future__ import annotations

from typing import Any

from billingcore.notices import QsrNotice
from notify.handlers.common import Formatter


def build(notice: QsrNotice, fmt: Formatter) -> dict[str, Any]:
    """Overage seats, what they will cost, and when the invoice comes (CONTRACT §3 QSR).

    The amount covers the quarters left in the term: ``overage × unit_price × (4 − k) / 4``.
    """
    return {
        "quarter": notice.quarter,
        "quarter_period": fmt.term(notice.quarter_period),
        "remaining_quarters": notice.quarters_left,
        "reconciliation_date": fmt.day(notice.reconciliation_date),
        "overage": notice.overage,
        "seats": notice.seats,
        "max_users": notice.max_users,
        "unit_price": fmt.money(notice.unit_price),
        "amount": fmt.money(notice.amount),
        "invoice_date": fmt.day(notice.invoice_date),
    }
