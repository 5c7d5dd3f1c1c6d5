"""auto_renewal_failed: the payment of a renewal invoice failed; the grace period began."""

from __future__ import annotations

from typing import Any

from billingcore.notices import AutoRenewalFailed
from notify.handlers.common import Formatter


def build(notice: AutoRenewalFailed, fmt: Formatter) -> dict[str, Any]:
    """The unpaid renewal and the end of the 14-day grace period (CONTRACT §3)."""
    return {
        "grace_ends": fmt.day(notice.grace_ends),
        "amount": fmt.money(notice.invoice_total),
        "reason": notice.reason,
        "card": fmt.card(notice.card_last4),
    }
