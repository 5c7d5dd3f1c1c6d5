"""renewal_reminder (reminder): 90, 45 and 30 days before term_end when it will not
auto-renew."""

from __future__ import annotations

from typing import Any

from billingcore.notices import RenewalReminder
from notify.handlers.common import Formatter, tier_name


def build(notice: RenewalReminder, fmt: Formatter) -> dict[str, Any]:
    """The expiry date, what renewing for the seats in use would cost, and how to renew (the
    partner variant: contact the partner)."""
    return {
        "expires_on": fmt.day(notice.expires_on),
        "days_before": notice.days_before,
        "tier": tier_name(notice.tier),
        "seats": notice.seats,
        "term": fmt.term(notice.term),
        "renewal": fmt.renewal(notice.renewal),
    }
