"""When the feed of an unchanged state may next change: ``next_feed_change``."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billingcore.dates import midnight
from billingcore.feed import feed_items, next_feed_change
from billingcore.state import ScheduledRenewal, Status, Subscription

from .factories import at, d, subscription, term, usage, usd

TICK = timedelta(microseconds=1)


def test_before_the_renewal_window_the_next_change_is_its_opening() -> None:
    """30 days before 2027-01-01 is 2026-12-02 00:00."""
    assert next_feed_change(subscription(), at("2026-06-01")) == at("2026-12-02")


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        ("2026-12-02", "2026-12-03"),  # at a boundary: the next one, strictly later
        ("2026-12-10T13:30", "2026-12-11"),  # days_left changes at every midnight
        ("2026-12-24T23:59", "2026-12-25"),  # the 7-day warning
        ("2026-12-31T12:00", "2027-01-01"),  # the term end
    ],
)
def test_inside_the_renewal_window_every_midnight_is_a_boundary(after: str, expected: str) -> None:
    """Inside the 30 days before the term end, the next boundary is the next midnight."""
    assert next_feed_change(subscription(), at(after)) == at(expected)


def test_after_the_term_end_nothing_is_left_of_the_renewal_window() -> None:
    """From the term end on, the renewal window has no boundary left."""
    assert next_feed_change(subscription(), at("2027-01-01")) is None


def test_a_scheduled_renewal_or_grace_has_no_renewal_boundaries() -> None:
    """A scheduled renewal or a grace period shows no renewal_upcoming, so it has no boundaries."""
    renewal = ScheduledRenewal(
        term=term("2027-01-01"), seats=10, tier=subscription().tier, unit_price=usd("348.00")
    )
    assert next_feed_change(subscription(renewal=renewal), at("2026-06-01")) is None
    grace = subscription(status=Status.GRACE, grace_ends=d("2027-01-16"))
    assert next_feed_change(grace, at("2027-01-02")) is None


def test_a_report_observed_later_counts_from_its_own_instant() -> None:
    """Usage items use reports observed at or before the moment: a later report's boundary is
    its ``observed_at``; once reached, the next boundary is further on."""
    state = usage(subscription(qsr_enabled=False), "2026-02-01T10:00", 9)
    observed = at("2026-02-01T10:00")
    assert next_feed_change(state, at("2026-01-20")) == observed
    assert next_feed_change(state, observed - TICK) == observed
    assert next_feed_change(state, observed) == at("2026-12-02")
    # The feed does change exactly there: seats_remaining (1 left of 10) appears at observed_at.
    assert feed_items(state, observed - TICK) == ()
    assert [item.kind.value for item in feed_items(state, observed)] == ["seats_remaining"]


def test_an_expired_subscription_has_no_usage_boundaries() -> None:
    """An expired subscription shows no usage items, so its reports make no boundaries."""
    state = usage(subscription(), "2027-02-01", 12)
    expired = replace(state, status=Status.EXPIRED, expired_on=d("2027-01-01"))
    assert next_feed_change(expired, at("2027-01-10")) is None


def test_qsr_upcoming_window_opens_and_closes_only_with_an_overage() -> None:
    """2026-04-01 is the first reconciliation of a term from 2026-01-01: its window is
    2026-03-25 00:00 to 2026-04-01 00:00, shown only with an overage so far."""
    over = usage(subscription(), "2026-02-01", 12)
    assert next_feed_change(over, at("2026-03-01")) == at("2026-03-25")
    assert next_feed_change(over, at("2026-03-26")) == at("2026-04-01")
    within = usage(subscription(), "2026-02-01", 9)
    assert next_feed_change(within, at("2026-03-01")) == at("2026-12-02")


def test_no_qsr_boundaries_when_not_eligible() -> None:
    """Without QSR an overage opens no qsr_upcoming window: the next boundary is the renewal's."""
    state = usage(subscription(qsr_enabled=False), "2026-02-01", 12)
    assert next_feed_change(state, at("2026-03-01")) == at("2026-12-02")


def test_naive_time_is_refused() -> None:
    """A naive ``after`` is refused."""
    with pytest.raises(ValueError, match="after"):
        next_feed_change(subscription(), datetime(2026, 3, 1))


moments = st.datetimes(min_value=datetime(2025, 12, 1), max_value=datetime(2027, 2, 1)).map(
    lambda naive: at(naive.strftime("%Y-%m-%dT%H:%M"))
)


@st.composite
def states(draw: st.DrawFn) -> Subscription:
    state = subscription(
        seats_paid_for=draw(st.sampled_from([10, 16, 30])),
        qsr_enabled=draw(st.booleans()),
        status=draw(st.sampled_from([Status.ACTIVE, Status.CANCELLED])),
    )
    for _ in range(draw(st.integers(0, 3))):
        when = draw(moments)
        if midnight(state.term.start) <= when < midnight(state.term.end):
            state = usage(state, when.strftime("%Y-%m-%dT%H:%M"), draw(st.integers(0, 40)))
    return state


@given(state=states(), after=moments, fraction=st.floats(0, 1))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_nothing_changes_before_the_next_boundary(
    state: Subscription, after: datetime, fraction: float
) -> None:
    """For any moment between ``after`` and the answer, the feed is the one at ``after``."""
    boundary = next_feed_change(state, after)
    horizon = boundary if boundary is not None else after + timedelta(days=400)
    assert horizon > after
    probe = after + (horizon - after - TICK) * fraction
    assert feed_items(state, probe) == feed_items(state, after)
