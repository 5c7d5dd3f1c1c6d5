"""qsr_failed: the payment of a reconciliation invoice failed."""

from __future__ import annotations

from typing import Any

from billingcore.notices import QsrFailed
from notify.handlers.common import Formatter


def build(notice: QsrFailed, fmt: Formatter) -> dict[str, Any]:
    """The unpaid amount, why it failed, and how to update the payment method."""
    return {
        "amount": fmt.money(notice.invoice_total),
        "reason": notice.reason,
        "card": fmt.card(notice.card_last4),
    }
