"""The in-app feed: which items a subscription's state makes active at a moment.

Rules (CONTRACT §5): ``renewal_upcoming`` 30 days or less before ``term_end`` and not renewed
(``warning`` from 7 days, else ``info``; with the amount of the automatic renewal when it will
auto-renew, CONTRACT §3 Forecast); ``auto_renewal_failed`` in the grace period
(``danger``); ``subscription_expired`` (``danger``); ``seat_overage`` while the latest
``billable_users`` exceed the seats paid for (``warning``); ``seats_remaining`` when seats are
nearly used up (``info``, GitLab's documented thresholds); ``qsr_upcoming`` the 7 days before a
reconciliation date with an overage so far (``info``).

Items are typed (one class per kind) and carry facts, never display text: the service renders
titles and bodies. Each item's key is stable while its condition lasts; the service withdraws
an item whose key is no longer returned. A ``renewal_upcoming`` key includes its severity, so
the 7-day warning is a new item even where the info item was dismissed.

``next_feed_change`` says when, with no event in between, the answer of ``feed_items`` may next
differ: the service re-computes the feed then.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import ClassVar

from billingcore.catalog import Tier
from billingcore.dates import Term, midnight, require_utc
from billingcore.eligibility import auto_renew_eligibility, qsr_eligibility
from billingcore.money import Money
from billingcore.qsr import QUARTERS, qsr_quote, quarter_overage, reconciliation_dates
from billingcore.renewal import plan_auto_renewal
from billingcore.state import Channel, Status, Subscription
from billingcore.usage import latest_billable_users

RENEWAL_UPCOMING_DAYS = 30
RENEWAL_WARNING_DAYS = 7
QSR_UPCOMING_DAYS = 7


class Severity(StrEnum):
    """How loudly an item is shown (CONTRACT §5)."""

    INFO = "info"
    WARNING = "warning"
    DANGER = "danger"


class FeedKind(StrEnum):
    """The feed item kinds of CONTRACT §5."""

    RENEWAL_UPCOMING = "renewal_upcoming"
    AUTO_RENEWAL_FAILED = "auto_renewal_failed"
    SUBSCRIPTION_EXPIRED = "subscription_expired"
    SEAT_OVERAGE = "seat_overage"
    SEATS_REMAINING = "seats_remaining"
    QSR_UPCOMING = "qsr_upcoming"


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedItem:
    """One active feed item of a subscription, as facts for the service to render."""

    kind: ClassVar[FeedKind]

    key: str
    severity: Severity
    expires_at: datetime | None
    dismissible: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class RenewalUpcoming(FeedItem):
    kind = FeedKind.RENEWAL_UPCOMING
    term_end: date
    days_left: int
    auto_renew: bool
    channel: Channel
    # The automatic renewal's invoice total, when it will auto-renew (CONTRACT §3, Forecast).
    amount: Money | None


@dataclass(frozen=True, slots=True, kw_only=True)
class AutoRenewalFailed(FeedItem):
    kind = FeedKind.AUTO_RENEWAL_FAILED
    grace_ends: date
    term: Term


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriptionExpired(FeedItem):
    kind = FeedKind.SUBSCRIPTION_EXPIRED
    expired_on: date
    tier: Tier


@dataclass(frozen=True, slots=True, kw_only=True)
class SeatOverage(FeedItem):
    kind = FeedKind.SEAT_OVERAGE
    billable_users: int
    seats_paid_for: int
    overage: int
    billed_by_qsr: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class SeatsRemaining(FeedItem):
    kind = FeedKind.SEATS_REMAINING
    billable_users: int
    seats_paid_for: int
    seats_left: int


@dataclass(frozen=True, slots=True, kw_only=True)
class QsrUpcoming(FeedItem):
    kind = FeedKind.QSR_UPCOMING
    quarter: int
    reconciliation_date: date
    overage: int
    amount: Money


FEED_TYPES: dict[FeedKind, type[FeedItem]] = {
    cls.kind: cls
    for cls in (
        RenewalUpcoming,
        AutoRenewalFailed,
        SubscriptionExpired,
        SeatOverage,
        SeatsRemaining,
        QsrUpcoming,
    )
}


def seats_remaining_threshold(seats: int) -> tuple[int, int]:
    """The most seats that may be left, as an exact ratio ``(numerator, denominator)``.

    Rule: GitLab's documented thresholds for the "seats nearly used up" alert: up to 15 seats,
    1 left; 16–25, 2 left; 26–99, 10 % left; 100–999, 8 % left; 1000 or more, 5 % left. Returned
    as an exact ratio so the comparison is exact: ``left × denominator ≤ numerator``.
    """
    if seats <= 15:
        return (1, 1)
    if seats <= 25:
        return (2, 1)
    if seats <= 99:
        return (seats * 10, 100)
    if seats <= 999:
        return (seats * 8, 100)
    return (seats * 5, 100)


def seats_nearly_used_up(seats: int, billable_users: int) -> bool:
    """True when ``billable ≤ seats`` and ``seats − billable`` is within the threshold, exactly.

    Rule: CONTRACT §5 ``seats_remaining`` with GitLab's thresholds (``seats_remaining_threshold``).
    """
    if billable_users > seats:
        return False
    numerator, denominator = seats_remaining_threshold(seats)
    return (seats - billable_users) * denominator <= numerator


def feed_items(state: Subscription, at: datetime) -> tuple[FeedItem, ...]:
    """Every feed item the state makes active at ``at`` (CONTRACT §5)."""
    require_utc(at, "at")
    items: list[FeedItem] = []
    _lifecycle_items(state, at, items)
    if state.status is not Status.EXPIRED:
        _usage_items(state, at, items)
    return tuple(items)


def next_feed_change(state: Subscription, after: datetime) -> datetime | None:
    """The first moment strictly after ``after`` at which ``feed_items(state, ·)`` may answer
    differently with the state unchanged, or None when nothing in it depends on time any more.

    Rule: CONTRACT §5, the "active while" column read as time boundaries: every midnight from 30
    days before ``term_end`` to ``term_end`` for ``renewal_upcoming`` (its ``days_left`` changes
    daily; the 7-day warning and the end fall on midnights); a usage report's ``observed_at``
    for the usage items (a report counts from the moment it was observed); the
    start and the end of each 7-day ``qsr_upcoming`` window with an overage. Between ``after``
    and the answer, ``feed_items`` answers as it does at ``after``.
    """
    require_utc(after, "after")
    candidates: list[datetime] = []
    if state.status in (Status.ACTIVE, Status.CANCELLED) and state.renewal is None:
        candidates.extend(_renewal_boundaries(state, after))
    if state.status is not Status.EXPIRED:
        candidates.extend(r.observed_at for r in state.usage if r.observed_at > after)
        if qsr_eligibility(state).eligible:
            candidates.extend(_qsr_boundaries(state, after))
    return min(candidates, default=None)


def _qsr_windows(state: Subscription) -> Iterator[tuple[int, datetime, datetime]]:
    """Each reconciled quarter with its ``qsr_upcoming`` window ``[opens_at, reconciled_at)``."""
    for k, reconciled_on in zip(QUARTERS, reconciliation_dates(state.term.start), strict=True):
        reconciled_at = midnight(reconciled_on)
        yield k, reconciled_at - timedelta(days=QSR_UPCOMING_DAYS), reconciled_at


def _qsr_boundaries(state: Subscription, after: datetime) -> list[datetime]:
    # Quarters are three months apart and a window is seven days, so the first quarter still
    # ahead that has an overage holds the earliest boundaries: later ones need not be measured.
    for k, opens_at, reconciled_at in _qsr_windows(state):
        if reconciled_at > after and quarter_overage(state, k) > 0:
            return [t for t in (opens_at, reconciled_at) if t > after]
    return []


def _renewal_boundaries(state: Subscription, after: datetime) -> list[datetime]:
    ends_at = midnight(state.term.end)
    opens_at = ends_at - timedelta(days=RENEWAL_UPCOMING_DAYS)
    if after < opens_at:
        return [opens_at]
    if after < ends_at:
        return [midnight(after.date()) + timedelta(days=1)]
    return []


def _key(state: Subscription, kind: FeedKind, occasion: str) -> str:
    return f"{state.id}:{kind.value}:{occasion}"


def _lifecycle_items(state: Subscription, at: datetime, items: list[FeedItem]) -> None:
    end = state.term.end
    ends_at = midnight(end)
    upcoming = state.status in (Status.ACTIVE, Status.CANCELLED) and state.renewal is None
    if upcoming and ends_at - timedelta(days=RENEWAL_UPCOMING_DAYS) <= at < ends_at:
        renews = auto_renew_eligibility(state).eligible
        warning = at >= ends_at - timedelta(days=RENEWAL_WARNING_DAYS)
        severity = Severity.WARNING if warning else Severity.INFO
        items.append(
            RenewalUpcoming(
                key=_key(state, FeedKind.RENEWAL_UPCOMING, f"{end.isoformat()}:{severity.value}"),
                severity=severity,
                term_end=end,
                days_left=(end - at.date()).days,
                auto_renew=renews,
                channel=state.channel,
                amount=plan_auto_renewal(state).total if renews else None,
                expires_at=ends_at,
                dismissible=True,
            )
        )
    if state.status is Status.GRACE and state.grace_ends is not None:
        items.append(
            AutoRenewalFailed(
                key=_key(state, FeedKind.AUTO_RENEWAL_FAILED, state.grace_ends.isoformat()),
                severity=Severity.DANGER,
                grace_ends=state.grace_ends,
                term=state.term,
                expires_at=midnight(state.grace_ends),
                dismissible=False,
            )
        )
    if state.status is Status.EXPIRED and state.expired_on is not None:
        items.append(
            SubscriptionExpired(
                key=_key(state, FeedKind.SUBSCRIPTION_EXPIRED, state.expired_on.isoformat()),
                severity=Severity.DANGER,
                expired_on=state.expired_on,
                tier=state.tier,
                expires_at=None,
                dismissible=True,
            )
        )


def _usage_items(state: Subscription, at: datetime, items: list[FeedItem]) -> None:
    latest = latest_billable_users(state, through=at)
    seats = state.seats_paid_for
    qsr = qsr_eligibility(state).eligible
    term_key = state.term.start.isoformat()
    if latest is not None and latest > seats:
        items.append(
            SeatOverage(
                key=_key(state, FeedKind.SEAT_OVERAGE, term_key),
                severity=Severity.WARNING,
                billable_users=latest,
                seats_paid_for=seats,
                overage=latest - seats,
                billed_by_qsr=qsr,
                expires_at=None,
                dismissible=True,
            )
        )
    if latest is not None and seats_nearly_used_up(seats, latest):
        items.append(
            SeatsRemaining(
                key=_key(state, FeedKind.SEATS_REMAINING, term_key),
                severity=Severity.INFO,
                billable_users=latest,
                seats_paid_for=seats,
                seats_left=seats - latest,
                expires_at=None,
                dismissible=True,
            )
        )
    if qsr:
        _qsr_upcoming(state, at, items)


def _qsr_upcoming(state: Subscription, at: datetime, items: list[FeedItem]) -> None:
    for k, opens_at, reconciled_at in _qsr_windows(state):
        if not opens_at <= at < reconciled_at:
            continue  # outside its window: the quarter's usage need not be measured
        quote = qsr_quote(state, k)
        if quote.overage > 0:
            items.append(
                QsrUpcoming(
                    key=_key(state, FeedKind.QSR_UPCOMING, quote.reconciliation_date.isoformat()),
                    severity=Severity.INFO,
                    quarter=k,
                    reconciliation_date=quote.reconciliation_date,
                    overage=quote.overage,
                    amount=quote.amount,
                    expires_at=reconciled_at,
                    dismissible=True,
                )
            )
