"""Month arithmetic with clamping, half-open terms, UTC midnights."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from billingcore.dates import (
    Term,
    add_months,
    first_midnight_at_or_after,
    midnight,
    month_end,
    require_utc,
)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),  # clamped to February's last day
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # leap year
        (date(2028, 2, 29), 12, date(2029, 2, 28)),  # Feb 29 + 12 months
        (date(2028, 2, 29), 48, date(2032, 2, 29)),
        (date(2026, 8, 31), 3, date(2026, 11, 30)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),  # across a year
        (date(2026, 3, 31), -1, date(2026, 2, 28)),  # backwards
        (date(2026, 5, 10), 0, date(2026, 5, 10)),
    ],
)
def test_add_months_clamps_to_month_end(start: date, months: int, expected: date) -> None:
    """Jan 31 + 1 = Feb 28/29; Feb 29 + 12 = Feb 28."""
    assert add_months(start, months) == expected


def test_month_end() -> None:
    """Last days, leap years included."""
    assert month_end(2028, 2) == date(2028, 2, 29)
    assert month_end(2026, 2) == date(2026, 2, 28)
    assert month_end(2026, 12) == date(2026, 12, 31)


def test_term_days_remaining_and_contains() -> None:
    """[start, end): 365 days in 2026; at 2026-06-15 there remain 200 days."""
    term = Term(start=date(2026, 1, 1), end=date(2027, 1, 1))
    assert term.days == 365
    assert term.remaining_days(date(2026, 6, 15)) == 200  # 2027-01-01 − 2026-06-15
    assert term.contains(date(2026, 1, 1))
    assert term.contains(date(2026, 12, 31))
    assert not term.contains(date(2027, 1, 1))
    assert not term.contains(date(2025, 12, 31))
    assert str(term) == "2026-01-01..2027-01-01"


def test_leap_term_from_feb_29_is_twelve_months() -> None:
    """A term from 2028-02-29 to 2029-02-28 is 12 months and 365 days."""
    term = Term(start=date(2028, 2, 29), end=date(2029, 2, 28))
    assert term.is_twelve_months
    assert term.days == 365
    assert not Term(start=date(2028, 2, 29), end=date(2029, 3, 1)).is_twelve_months


def test_empty_or_reversed_terms_are_refused() -> None:
    """A term ends after it starts."""
    with pytest.raises(ValueError):
        Term(start=date(2026, 1, 1), end=date(2026, 1, 1))


def test_midnight_and_utc() -> None:
    """00:00 UTC of a date; naive and non-UTC datetimes are refused."""
    assert midnight(date(2026, 1, 2)) == datetime(2026, 1, 2, tzinfo=UTC)
    require_utc(datetime(2026, 1, 2, tzinfo=UTC), "x")
    require_utc(datetime(2026, 1, 2, tzinfo=timezone(timedelta(0), "Z")), "x")  # UTC, other name
    with pytest.raises(ValueError):
        require_utc(datetime(2026, 1, 2), "x")
    with pytest.raises(ValueError):
        require_utc(datetime(2026, 1, 2, tzinfo=timezone(timedelta(hours=1))), "x")


def test_first_midnight_at_or_after() -> None:
    """A midnight counts itself; any later moment moves to the next day."""
    assert first_midnight_at_or_after(datetime(2026, 1, 2, tzinfo=UTC)) == date(2026, 1, 2)
    later = datetime(2026, 1, 2, 0, 0, 1, tzinfo=UTC)
    assert first_midnight_at_or_after(later) == date(2026, 1, 3)
