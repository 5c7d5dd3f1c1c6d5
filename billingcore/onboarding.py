"""Onboarding: how seats and overages work, told once a term to those reconciled quarterly.

Rule: CONTRACT §4, ``managing_users`` goes out 1 day after purchase or renewal to QSR-eligible
saas subscriptions, with the term's reconciliation dates.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from billingcore.commands import cause_of
from billingcore.eligibility import qsr_eligibility
from billingcore.notices import ManagingUsers, NoticeKind, notice_key
from billingcore.occasion import Occasion, OccasionKind
from billingcore.outcomes import Applied, Result
from billingcore.qsr import reconciliation_dates
from billingcore.rules import Family, Found, Window
from billingcore.state import Deployment, Subscription

MANAGING_USERS_DELAY = timedelta(days=1)


def _calendar(start: date, end: date, deployment: Deployment) -> list[date]:
    return [start + MANAGING_USERS_DELAY]


def _due(state: Subscription, window: Window, found: Found) -> None:
    on = state.term.start + MANAGING_USERS_DELAY
    if window.holds(on) and state.deployment is Deployment.SAAS and qsr_eligibility(state).eligible:
        found.append((on, OccasionKind.MANAGING_USERS))


def _managing_users(state: Subscription, occasion: Occasion, now: datetime) -> Result:
    """managing_users, 1 day after purchase or renewal, QSR-eligible saas (CONTRACT §4)."""
    managing = ManagingUsers(
        key=notice_key(state.id, NoticeKind.MANAGING_USERS, state.term.start.isoformat()),
        cause=cause_of(occasion),
        seats=state.seats_paid_for,
        term=state.term,
        tier=state.tier,
        unit_price=state.unit_price,
        reconciliation_dates=reconciliation_dates(state.term.start),
    )
    return Applied(state=state, outcomes=(managing,))


FAMILY = Family(
    name="onboarding",
    occasions={OccasionKind.MANAGING_USERS: _managing_users},
    due=_due,
    calendar=_calendar,
)
