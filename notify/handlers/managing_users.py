"""managing_users: 1 day after purchase or renewal, QSR-eligible saas subscriptions."""

from __future__ import annotations

from typing import Any

from billingcore.notices import ManagingUsers
from notify.handlers.common import Formatter, tier_name


def build(notice: ManagingUsers, fmt: Formatter) -> dict[str, Any]:
    """How seats, billable users and quarterly reconciliation work, with this term's dates."""
    return {
        "seats": notice.seats,
        "term": fmt.term(notice.term),
        "tier": tier_name(notice.tier),
        "reconciliation_dates": [fmt.day(day) for day in notice.reconciliation_dates],
        "unit_price": fmt.money(notice.unit_price),
    }
