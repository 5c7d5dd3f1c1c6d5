"""upgrade_confirmation: on subscription.upgraded (new tier, net prorated amount)."""

from __future__ import annotations

from typing import Any

from billingcore.notices import UpgradeConfirmation
from notify.handlers.common import Formatter, tier_name


def build(notice: UpgradeConfirmation, fmt: Formatter) -> dict[str, Any]:
    """The upgrade: a credit for the old tier and a charge for the new, over the days left."""
    return {
        "tier": tier_name(notice.tier),
        "previous_tier": tier_name(notice.previous_tier),
        "seats": notice.seats,
        "effective_date": fmt.day(notice.effective_date),
        "remaining_days": notice.remaining_days,
        "unit_price": fmt.money(notice.unit_price),
        "credit": fmt.money(notice.credit),
        "charge": fmt.money(notice.charge),
        "amount": fmt.money(notice.invoice_total),
        "invoice_total": fmt.money(notice.invoice_total),
    }
