"""Occasions: the time-driven work a subscription's state makes due.

Rules (CONTRACT §3 Scheduling, §4): every occasion falls due at 00:00 UTC of its date and runs
once, in date order. ``occasions(state, start, end)`` lists those due in ``[start, end)`` that
were not applied yet in the current term; it is a pure function of the state, so the
occasions of two adjacent ranges are exactly those of their union. Applying one (through
``transitions.apply``) changes the state, so a scheduler catching up applies the earliest
occasion, then asks again.

Which occasions a state makes due:

- ``renewal_reminder`` 90, 45 and 30 days before ``term_end`` when the subscription will not
  auto-renew for a reason other than a fixable block (an expiring card, an unpaid QSR
  invoice), and was not renewed by hand;
- ``auto_renewal_notice`` 15 days before ``term_end`` when ``auto_renew`` is on: it sends
  ``auto_renewal_upcoming`` when eligible, ``auto_renewal_blocked`` with the reasons when not;
- ``payment_method_expiring`` 30 days before ``term_end`` when the card on file expires before
  it and the card is the only thing that would stop the auto-renewal;
- ``qsr_notice`` and ``qsr_invoice`` on the dates of billingcore.qsr, while there is an overage;
- ``term_end`` on ``term_end``: the scheduled renewal, the auto-renewal or the expiry;
- ``grace_end`` on ``grace_ends``: expiry of an unpaid renewal;
- ``managing_users`` 1 day after ``term_start`` for QSR-eligible saas subscriptions.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache

from billingcore.dates import Term, first_midnight_at_or_after, midnight, require_utc
from billingcore.qsr import QUARTERS, notice_date, reconciliation_dates
from billingcore.state import (
    Deployment,
    Status,
    Subscription,
    auto_renew_eligibility,
    max_users,
    qsr_eligibility,
)


class OccasionKind(StrEnum):
    """Kinds of time-driven occasions, in the order they run when due the same day."""

    QSR_INVOICE = "qsr_invoice"
    QSR_NOTICE = "qsr_notice"
    GRACE_END = "grace_end"
    TERM_END = "term_end"
    MANAGING_USERS = "managing_users"
    RENEWAL_REMINDER = "renewal_reminder"
    AUTO_RENEWAL_NOTICE = "auto_renewal_notice"
    PAYMENT_METHOD_EXPIRING = "payment_method_expiring"


_Due = Callable[[date], bool]

_RUN_ORDER = {kind: index for index, kind in enumerate(OccasionKind)}

REMINDER_DAYS = (90, 45, 30)
AUTO_RENEWAL_NOTICE_DAYS = 15
PAYMENT_METHOD_EXPIRING_DAYS = 30
MANAGING_USERS_DELAY = timedelta(days=1)

# Blocks the customer can lift before the renewal date. While they are the only ones, the
# subscription is still set to renew: it gets payment_method_expiring and auto_renewal_blocked,
# not the renewal reminders meant for subscriptions that will not renew.
FIXABLE_BLOCKS = frozenset({"card_expires_before_renewal", "unpaid_qsr_invoice"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Occasion:
    """A time-driven command: ``kind`` due at ``due`` (00:00 UTC); ``key`` is stable."""

    subscription_id: str
    kind: OccasionKind
    due: datetime
    key: str

    def __post_init__(self) -> None:
        require_utc(self.due, "due")

    @property
    def at(self) -> datetime:
        """The moment the occasion stands for: its due time."""
        return self.due

    @property
    def due_on(self) -> date:
        """The date of the occasion."""
        return self.due.date()


def occasion_key(subscription_id: str, kind: OccasionKind, on: date) -> str:
    """The stable key ``"{subscription_id}:{kind}:{date}"`` of an occasion (CONTRACT §3: once)."""
    return f"{subscription_id}:{kind.value}:{on.isoformat()}"


def _make(state: Subscription, kind: OccasionKind, on: date) -> Occasion:
    return Occasion(
        subscription_id=state.id,
        kind=kind,
        due=midnight(on),
        key=occasion_key(state.id, kind, on),
    )


@lru_cache(maxsize=16384)
def _calendar(start: date, end: date, deployment: Deployment) -> tuple[date, ...]:
    """Every date a term can make due, sorted; the dates of one term, whatever its state."""
    dates = {start + MANAGING_USERS_DELAY, end}
    dates.update(end - timedelta(days=days) for days in REMINDER_DAYS)
    dates.add(end - timedelta(days=AUTO_RENEWAL_NOTICE_DAYS))
    dates.add(end - timedelta(days=PAYMENT_METHOD_EXPIRING_DAYS))
    dates.update(notice_date(on, deployment) for on in reconciliation_dates(start))
    return tuple(sorted(dates))


def _nothing_due(state: Subscription, lo: date, hi: date) -> bool:
    # A scheduler pass asks about a short window; most states have no date in it at all.
    calendar = _calendar(state.term.start, state.term.end, state.deployment)
    index = bisect.bisect_left(calendar, lo)
    if index < len(calendar) and calendar[index] < hi:
        return False
    extra = (
        state.grace_ends,
        None if state.pending_qsr is None else state.pending_qsr.invoice_date,
    )
    return not any(d is not None and lo <= d < hi for d in extra)


def _collect(state: Subscription, lo: date, hi: date | None) -> list[Occasion]:
    """Occasions dated ``lo <= d < hi`` (``hi`` None: no upper bound), not applied yet."""
    status = state.status
    if status is Status.EXPIRED or (hi is not None and _nothing_due(state, lo, hi)):
        return []

    def due(d: date) -> bool:
        return lo <= d and (hi is None or d < hi)

    found: list[tuple[date, OccasionKind]] = []
    end = state.term.end
    if state.renewal is None and status in (Status.ACTIVE, Status.CANCELLED):
        _renewal_notices(state, due, found)
    if due(end):
        found.append((end, OccasionKind.TERM_END))
    if status is Status.GRACE and state.grace_ends is not None and due(state.grace_ends):
        found.append((state.grace_ends, OccasionKind.GRACE_END))
    pending = state.pending_qsr
    if pending is not None and due(pending.invoice_date):
        found.append((pending.invoice_date, OccasionKind.QSR_INVOICE))
    _qsr_and_onboarding(state, due, found)
    found.sort(key=lambda item: (item[0], _RUN_ORDER[item[1]]))
    made = (_make(state, kind, on) for on, kind in found)
    return [occasion for occasion in made if occasion.key not in state.applied_keys]


def _renewal_notices(
    state: Subscription,
    due: _Due,
    found: list[tuple[date, OccasionKind]],
) -> None:
    end = state.term.end
    reminders = [end - timedelta(days=days) for days in REMINDER_DAYS]
    notice_on = end - timedelta(days=AUTO_RENEWAL_NOTICE_DAYS)
    expiring_on = end - timedelta(days=PAYMENT_METHOD_EXPIRING_DAYS)
    wanted = [d for d in reminders if due(d)]
    active_auto = state.status is Status.ACTIVE and state.auto_renew
    if not wanted and not (active_auto and (due(notice_on) or due(expiring_on))):
        return
    reasons = auto_renew_eligibility(state).reasons
    if any(reason not in FIXABLE_BLOCKS for reason in reasons):
        found.extend((d, OccasionKind.RENEWAL_REMINDER) for d in wanted)
    if active_auto and due(notice_on):
        found.append((notice_on, OccasionKind.AUTO_RENEWAL_NOTICE))
    if active_auto and due(expiring_on) and reasons == ("card_expires_before_renewal",):
        found.append((expiring_on, OccasionKind.PAYMENT_METHOD_EXPIRING))


def _qsr_and_onboarding(
    state: Subscription,
    due: _Due,
    found: list[tuple[date, OccasionKind]],
) -> None:
    onboarding_on = state.term.start + MANAGING_USERS_DELAY
    onboarding = due(onboarding_on) and state.deployment is Deployment.SAAS
    dates = reconciliation_dates(state.term.start)
    notices = [(k, notice_date(dates[k - 1], state.deployment)) for k in QUARTERS]
    notices = [(k, on) for k, on in notices if due(on)]
    if not (onboarding or notices) or not qsr_eligibility(state).eligible:
        return
    if onboarding:
        found.append((onboarding_on, OccasionKind.MANAGING_USERS))
    pending = state.pending_qsr
    for k, on in notices:
        if pending is not None and pending.quarter == k:
            continue
        quarter_start = state.term.start if k == 1 else dates[k - 2]
        if _overage_between(state, quarter_start, dates[k - 1]) > 0:
            found.append((on, OccasionKind.QSR_NOTICE))


def _overage_between(state: Subscription, start: date, end: date) -> int:
    # The same measure as qsr.quarter_overage, from dates already at hand.
    return max(0, max_users(state, Term(start=start, end=end)) - state.seats_paid_for)


def occasions(state: Subscription, start: datetime, end: datetime) -> list[Occasion]:
    """Every occasion due in ``[start, end)`` not yet applied this term, in date order.

    Rule: CONTRACT §3 Scheduling and §4 (when each reminder, reconciliation, renewal and expiry
    falls due); every occasion is due at 00:00 UTC of its date.
    """
    lo, hi = _window(start, end)
    return _collect(state, lo, hi)


@lru_cache(maxsize=64)
def _window(start: datetime, end: datetime) -> tuple[date, date]:
    # One pass asks the same window of every subscription: validate and convert it once.
    require_utc(start, "start")
    require_utc(end, "end")
    return first_midnight_at_or_after(start), first_midnight_at_or_after(end)


def next_due(state: Subscription, after: datetime) -> datetime | None:
    """When the earliest occasion strictly after ``after`` falls due, or None if there is none.

    Rule: CONTRACT §3 Scheduling; lets the service index subscriptions by their next date.
    """
    require_utc(after, "after")
    lo = after.astimezone(UTC).date() + timedelta(days=1)
    found = _collect(state, lo, None)
    return found[0].due if found else None
