"""subscription_expired: a term ended without renewal (after the grace period, if any)."""

from __future__ import annotations

from typing import Any

from billingcore.notices import SubscriptionExpired
from notify.handlers.common import Formatter, tier_name


def build(notice: SubscriptionExpired, fmt: Formatter) -> dict[str, Any]:
    """What the expiry took away and how to renew."""
    return {
        "expired_on": fmt.day(notice.expired_on),
        "tier": tier_name(notice.tier),
        "seats": notice.seats,
        "term": fmt.term(notice.term),
    }
