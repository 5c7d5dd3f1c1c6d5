"""Feed items of CONTRACT §5, computed from the state at a moment."""

from __future__ import annotations

from dataclasses import replace

import pytest

from billingcore.catalog import Tier
from billingcore.feed import (
    FEED_TYPES,
    AutoRenewalFailed,
    FeedItem,
    FeedKind,
    QsrUpcoming,
    RenewalUpcoming,
    SeatOverage,
    SeatsRemaining,
    Severity,
    SubscriptionExpired,
    feed_items,
    seats_nearly_used_up,
)
from billingcore.state import Channel, ScheduledRenewal, Status, Subscription

from .factories import at, d, subscription, term, usage, usd


def kinds(state: Subscription, when: str) -> dict[FeedKind, FeedItem]:
    return {item.kind: item for item in feed_items(state, at(when))}


def test_every_feed_kind_has_its_type() -> None:
    """One item class per kind of CONTRACT §5, each naming its own kind."""
    assert set(FEED_TYPES) == set(FeedKind)
    assert all(cls.kind is kind for kind, cls in FEED_TYPES.items())


@pytest.mark.parametrize(
    ("when", "severity"),
    [
        ("2026-12-01T23:59", None),  # 30 days and a minute before 2027-01-01
        ("2026-12-02", Severity.INFO),  # 30 days before
        ("2026-12-24T23:59", Severity.INFO),
        ("2026-12-25", Severity.WARNING),  # 7 days before
        ("2026-12-31T23:59", Severity.WARNING),
        ("2027-01-01", None),  # the term has ended
    ],
)
def test_renewal_upcoming(when: str, severity: Severity | None) -> None:
    """30 days or less before term_end; warning from 7 days, else info."""
    item = kinds(subscription(), when).get(FeedKind.RENEWAL_UPCOMING)
    if severity is None:
        assert item is None
        return
    assert isinstance(item, RenewalUpcoming)
    assert item.severity is severity
    assert item.key == f"S-1:renewal_upcoming:2027-01-01:{severity.value}"
    assert item.expires_at == at("2027-01-01")
    assert item.dismissible
    assert item.term_end == d("2027-01-01")
    assert item.days_left == (d("2027-01-01") - at(when).date()).days
    assert (item.auto_renew, item.channel) == (True, Channel.DIRECT)


def test_renewal_upcoming_is_withdrawn_by_a_renewal() -> None:
    """A scheduled renewal, grace or expiry: no renewal_upcoming."""
    renewal = ScheduledRenewal(
        term=term("2027-01-01"), seats=10, tier=subscription().tier, unit_price=usd("348.00")
    )
    assert FeedKind.RENEWAL_UPCOMING not in kinds(subscription(renewal=renewal), "2026-12-20")
    grace = subscription(status=Status.GRACE, grace_ends=d("2027-01-16"))
    assert FeedKind.RENEWAL_UPCOMING not in kinds(grace, "2026-12-20")


def test_auto_renewal_failed_in_grace() -> None:
    """In grace: a danger item that cannot be dismissed, expiring at the grace end."""
    state = subscription(term=term("2027-01-01"), status=Status.GRACE, grace_ends=d("2027-01-16"))
    item = kinds(state, "2027-01-05")[FeedKind.AUTO_RENEWAL_FAILED]
    assert isinstance(item, AutoRenewalFailed)
    assert (item.grace_ends, item.term) == (d("2027-01-16"), term("2027-01-01"))
    assert item.severity is Severity.DANGER
    assert not item.dismissible
    assert item.expires_at == at("2027-01-16")
    assert item.key == "S-1:auto_renewal_failed:2027-01-16"


def test_subscription_expired() -> None:
    """Expired: one danger item, and no usage items."""
    state = usage(subscription(), "2026-12-01", 30)
    state = replace(state, status=Status.EXPIRED, expired_on=d("2027-01-01"))
    items = kinds(state, "2027-01-05")
    assert list(items) == [FeedKind.SUBSCRIPTION_EXPIRED]
    expired = items[FeedKind.SUBSCRIPTION_EXPIRED]
    assert isinstance(expired, SubscriptionExpired)
    assert expired.severity is Severity.DANGER
    assert (expired.expired_on, expired.tier) == (d("2027-01-01"), Tier.PREMIUM)


def test_seat_overage_says_who_bills_it() -> None:
    """Latest 12 over 10 seats: warning; QSR bills it, or the true-up without QSR."""
    item = kinds(usage(subscription(), "2026-02-01", 12), "2026-02-02")[FeedKind.SEAT_OVERAGE]
    assert isinstance(item, SeatOverage)
    assert item.severity is Severity.WARNING
    assert (item.overage, item.billed_by_qsr) == (2, True)
    assert (item.billable_users, item.seats_paid_for) == (12, 10)
    no_qsr = usage(subscription(qsr_enabled=False), "2026-02-01", 12)
    billed = kinds(no_qsr, "2026-02-02")[FeedKind.SEAT_OVERAGE]
    assert isinstance(billed, SeatOverage) and billed.billed_by_qsr is False  # the true-up


def test_usage_items_use_reports_observed_by_the_moment() -> None:
    """A report counts from the moment it was observed; later ones do not count yet; none at
    all: no usage items."""
    state = usage(subscription(), "2026-02-01T10:00", 12)
    assert FeedKind.SEAT_OVERAGE not in kinds(state, "2026-01-15")
    assert FeedKind.SEAT_OVERAGE not in kinds(state, "2026-02-01T09:59")
    assert FeedKind.SEAT_OVERAGE in kinds(state, "2026-02-01T10:00")
    assert kinds(subscription(), "2026-02-02") == {}


@pytest.mark.parametrize(
    ("seats", "billable", "active"),
    [
        (15, 14, True),  # ≤ 15 seats: 1 left
        (15, 13, False),
        (1, 0, True),
        (16, 14, True),  # 16–25: 2 left
        (16, 13, False),
        (25, 23, True),
        (25, 22, False),
        (26, 24, True),  # 26–99: 10 %: 2 ≤ 2.6
        (26, 23, False),  # 3 > 2.6
        (99, 90, True),  # 9 ≤ 9.9
        (99, 89, False),  # 10 > 9.9
        (50, 45, True),  # exactly 10 %: 5 ≤ 5
        (100, 92, True),  # 100–999: 8 %: 8 ≤ 8
        (100, 91, False),
        (999, 920, True),  # 79 ≤ 79.92
        (999, 919, False),  # 80 > 79.92
        (1000, 950, True),  # ≥ 1000: 5 %: 50 ≤ 50
        (1000, 949, False),
        (10, 10, True),  # none left
        (10, 11, False),  # over: that is seat_overage
    ],
)
def test_seats_remaining_thresholds(seats: int, billable: int, active: bool) -> None:
    """GitLab's thresholds, compared exactly."""
    assert seats_nearly_used_up(seats, billable) is active
    state = usage(subscription(seats_paid_for=seats), "2026-02-01", billable)
    item = kinds(state, "2026-02-02").get(FeedKind.SEATS_REMAINING)
    assert (item is not None) is active
    if item is not None:
        assert isinstance(item, SeatsRemaining)
        assert item.severity is Severity.INFO
        assert item.seats_left == seats - billable
        assert (item.billable_users, item.seats_paid_for) == (billable, seats)


@pytest.mark.parametrize(
    ("when", "shown"),
    [
        ("2026-03-24T23:59", False),
        ("2026-03-25", True),  # 7 days before 2026-04-01
        ("2026-03-31T23:59", True),
        ("2026-04-01", False),
    ],
)
def test_qsr_upcoming(when: str, shown: bool) -> None:
    """The 7 days before a reconciliation date with an overage so far."""
    state = usage(subscription(), "2026-03-01", 14)
    item = kinds(state, when).get(FeedKind.QSR_UPCOMING)
    assert (item is not None) is shown
    if item is not None:
        assert isinstance(item, QsrUpcoming)
        assert item.key == "S-1:qsr_upcoming:2026-04-01"
        # 4 × 348.00 × 3 / 4 = 1044.00
        assert (item.overage, item.amount) == (4, usd("1044.00"))
        assert (item.quarter, item.reconciliation_date) == (1, d("2026-04-01"))
        assert item.expires_at == at("2026-04-01")


def test_no_qsr_upcoming_without_overage_or_without_qsr() -> None:
    """Usage within seats, or a subscription without QSR: nothing."""
    assert FeedKind.QSR_UPCOMING not in kinds(usage(subscription(), "2026-03-01", 9), "2026-03-28")
    no_qsr = usage(subscription(qsr_enabled=False), "2026-03-01", 14)
    assert FeedKind.QSR_UPCOMING not in kinds(no_qsr, "2026-03-28")


def test_feed_needs_utc() -> None:
    """A naive moment is refused."""
    from datetime import datetime

    with pytest.raises(ValueError):
        feed_items(subscription(), datetime(2026, 1, 1))
