"""Expiry: the end of a term without renewal, and the grace period after a failed renewal.

Rules (CONTRACT §3, §4): a failed renewal payment opens a 14-day grace period; without a later
``payment.succeeded`` the subscription expires when it ends; ``subscription_expired`` goes out
when a term ends without renewal (after the grace period, if any).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from billingcore.causes import Cause
from billingcore.commands import cause_of
from billingcore.notices import NoticeKind, SubscriptionExpired, notice_key
from billingcore.occasion import Occasion, OccasionKind
from billingcore.outcomes import Applied, Result
from billingcore.rules import Family, Found, Window
from billingcore.state import Status, Subscription, evolve

GRACE_PERIOD = timedelta(days=14)


def grace_end(failed_on: date, covers_from: date) -> date:
    """The end of the grace period: 14 days after the failure, or after the unpaid term starts.

    Rule: CONTRACT §3 (a failed renewal payment opens a 14-day grace period). A renewal paid in
    advance that fails before its term starts gets its 14 days from that start.
    """
    return max(failed_on, covers_from) + GRACE_PERIOD


def expire(state: Subscription, on: date, cause: Cause) -> Applied:
    """The subscription expires on ``on``; ``subscription_expired`` says what was lost.

    Rule: CONTRACT §3 (expiry at the term end, or at the end of the grace period) and §4.
    """
    expired = evolve(state, status=Status.EXPIRED, expired_on=on, grace_ends=None)
    notice = SubscriptionExpired(
        key=notice_key(state.id, NoticeKind.SUBSCRIPTION_EXPIRED, on.isoformat()),
        cause=cause,
        expired_on=on,
        tier=state.tier,
        seats=state.seats_paid_for,
        term=state.term,
    )
    return Applied(state=expired, outcomes=(notice,))


def _moving(state: Subscription) -> tuple[date | None]:
    return (state.grace_ends,)


def _due(state: Subscription, window: Window, found: Found) -> None:
    grace = state.grace_ends
    if state.status is Status.GRACE and grace is not None and window.holds(grace):
        found.append((grace, OccasionKind.GRACE_END))


def _grace_end(state: Subscription, occasion: Occasion, now: datetime) -> Result:
    """The grace period ran out unpaid: the subscription expires (CONTRACT §3, §4)."""
    return expire(state, occasion.due_on, cause_of(occasion))


FAMILY = Family(
    name="expiry",
    occasions={OccasionKind.GRACE_END: _grace_end},
    due=_due,
    moving=_moving,
)
