"""cancellation_confirmation: on subscription.cancelled (the date the subscription ends)."""

from __future__ import annotations

from typing import Any

from billingcore.notices import CancellationConfirmation
from notify.handlers.common import Formatter, tier_name


def build(notice: CancellationConfirmation, fmt: Formatter) -> dict[str, Any]:
    """The subscription runs to its term end and does not renew."""
    return {
        "ends_on": fmt.day(notice.ends_on),
        "tier": tier_name(notice.tier),
        "reason": notice.reason,
    }
