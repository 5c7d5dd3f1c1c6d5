"""qsr_reconciled: the reconciliation invoice was issued and the seats paid for rose."""

from __future__ import annotations

from typing import Any

from billingcore.notices import QsrReconciled
from notify.handlers.common import Formatter


def build(notice: QsrReconciled, fmt: Formatter) -> dict[str, Any]:
    """Seats now paid for and the invoice total."""
    return {
        "quarter": notice.quarter,
        "remaining_quarters": notice.quarters_left,
        "reconciliation_date": fmt.day(notice.reconciliation_date),
        "overage": notice.overage,
        "seats": notice.seats,
        "invoice_total": fmt.money(notice.invoice_total),
    }
