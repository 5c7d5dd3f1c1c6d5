"""Reminders before the term end: the renewal reminders, the auto-renewal notice, the card.

Rules (CONTRACT §3 Scheduling, §4): ``renewal_reminder`` 90, 45 and 30 days before
``term_end`` when the subscription will not auto-renew (for a reason other than a fixable
block: an expiring card, an unpaid QSR invoice) and was not renewed by hand; of the series only
the latest due is sent; each states what renewing for the seats in use would cost (§3,
Forecast). ``auto_renewal_notice`` 15 days before ``term_end`` when ``auto_renew``
is on: ``auto_renewal_upcoming`` when eligible, ``auto_renewal_blocked`` with the reasons when
not. ``payment_method_expiring`` 30 days before ``term_end`` when the card on file expires
before it and the card is the only thing that would stop the auto-renewal.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache

from billingcore.commands import cause_of
from billingcore.dates import midnight
from billingcore.eligibility import FIXABLE_BLOCKS, auto_renew_eligibility
from billingcore.notices import (
    AutoRenewalBlocked,
    AutoRenewalUpcoming,
    NoticeKind,
    PaymentMethodExpiring,
    RenewalReminder,
    notice_key,
)
from billingcore.occasion import Occasion, OccasionKind
from billingcore.outcomes import Applied, Result
from billingcore.renewal import plan_auto_renewal
from billingcore.rules import Family, Found, Window
from billingcore.state import Deployment, Status, Subscription

REMINDER_DAYS = (90, 45, 30)
AUTO_RENEWAL_NOTICE_DAYS = 15
PAYMENT_METHOD_EXPIRING_DAYS = 30


@lru_cache(maxsize=8192)
def _dates(end: date) -> tuple[tuple[date, ...], date, date]:
    """The reminders', the 15-day notice's and the card warning's dates of a term end."""
    reminders = tuple(end - timedelta(days=d) for d in REMINDER_DAYS)
    notice_on = end - timedelta(days=AUTO_RENEWAL_NOTICE_DAYS)
    return reminders, notice_on, end - timedelta(days=PAYMENT_METHOD_EXPIRING_DAYS)


def _calendar(start: date, end: date, deployment: Deployment) -> list[date]:
    reminders, notice_on, expiring_on = _dates(end)
    return [*reminders, notice_on, expiring_on]


def _due(state: Subscription, window: Window, found: Found) -> None:
    if state.renewal is not None or state.status not in (Status.ACTIVE, Status.CANCELLED):
        return
    reminders, notice_on, expiring_on = _dates(state.term.end)
    wanted = [d for d in reminders if window.holds(d)]
    active_auto = state.status is Status.ACTIVE and state.auto_renew
    if not wanted and not (active_auto and (window.holds(notice_on) or window.holds(expiring_on))):
        return
    reasons = auto_renew_eligibility(state).reasons
    if not FIXABLE_BLOCKS.issuperset(reasons):  # a block the customer cannot lift
        found.extend((d, OccasionKind.RENEWAL_REMINDER) for d in wanted)
    if active_auto and window.holds(notice_on):
        found.append((notice_on, OccasionKind.AUTO_RENEWAL_NOTICE))
    if active_auto and window.holds(expiring_on) and reasons == ("card_expires_before_renewal",):
        found.append((expiring_on, OccasionKind.PAYMENT_METHOD_EXPIRING))


def _renewal_reminder(state: Subscription, occasion: Occasion, now: datetime) -> Result:
    """renewal_reminder 90/45/30 days before term_end; only the latest due one is sent.

    Rule: CONTRACT §3 Scheduling / §4: applied at ``now``, a reminder whose successor in the
    series is already due sends nothing; the latest due one is sent even after a clock jump
    or a scheduler outage carried ``now`` past it.
    """
    end = state.term.end
    days = (end - occasion.due_on).days
    later = [d for d in REMINDER_DAYS if d < days]
    if any(now >= midnight(end - timedelta(days=d)) for d in later):
        return Applied(state=state)
    # What renewing for the seats in use would cost: the same plan an automatic renewal makes.
    reminder = RenewalReminder(
        key=notice_key(state.id, NoticeKind.RENEWAL_REMINDER, occasion.due_on.isoformat()),
        cause=cause_of(occasion),
        expires_on=end,
        days_before=days,
        tier=state.tier,
        seats=state.seats_paid_for,
        term=state.term,
        renewal=plan_auto_renewal(state).cost(),
    )
    return Applied(state=state, outcomes=(reminder,))


def _auto_renewal_notice(state: Subscription, occasion: Occasion, now: datetime) -> Result:
    """15 days before term_end: auto_renewal_upcoming if eligible, else auto_renewal_blocked.

    Rule: CONTRACT §4; §3 Scheduling: every occasion that fell due is done, in order, also
    when the scheduler catches up past the renewal date.
    """
    end = state.term.end
    eligibility = auto_renew_eligibility(state)
    on = occasion.due_on.isoformat()
    cause = cause_of(occasion)
    if not eligibility.eligible:
        blocked = AutoRenewalBlocked(
            key=notice_key(state.id, NoticeKind.AUTO_RENEWAL_BLOCKED, on),
            cause=cause,
            renewal_date=end,
            reasons=eligibility.reasons,
            tier=state.tier,
            seats=state.seats_paid_for,
        )
        return Applied(state=state, outcomes=(blocked,))
    plan = plan_auto_renewal(state)
    upcoming = AutoRenewalUpcoming(
        key=notice_key(state.id, NoticeKind.AUTO_RENEWAL_UPCOMING, on),
        cause=cause,
        renewal_date=end,
        new_term=plan.term,
        tier=plan.tier,
        seats=plan.seats,
        unit_price=plan.unit_price,
        seats_amount=plan.seats_amount,
        true_up_users=0 if plan.true_up is None else plan.true_up.quantity,
        true_up_amount=None if plan.true_up is None else plan.true_up.amount,
        amount=plan.total,
        card_last4=None if state.card is None else state.card.last4,
    )
    return Applied(state=state, outcomes=(upcoming,))


def _payment_method_expiring(state: Subscription, occasion: Occasion, now: datetime) -> Result:
    """30 days before term_end, the card on file expires before the renewal (CONTRACT §4)."""
    card = state.card
    assert card is not None  # the occasion is only due while a card on file expires too soon
    expiring = PaymentMethodExpiring(
        key=notice_key(state.id, NoticeKind.PAYMENT_METHOD_EXPIRING, occasion.due_on.isoformat()),
        cause=cause_of(occasion),
        renewal_date=state.term.end,
        card=card,
    )
    return Applied(state=state, outcomes=(expiring,))


FAMILY = Family(
    name="reminders",
    occasions={
        OccasionKind.RENEWAL_REMINDER: _renewal_reminder,
        OccasionKind.AUTO_RENEWAL_NOTICE: _auto_renewal_notice,
        OccasionKind.PAYMENT_METHOD_EXPIRING: _payment_method_expiring,
    },
    due=_due,
    calendar=_calendar,
)
