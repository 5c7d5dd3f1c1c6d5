"""Calendar arithmetic: months with month-end clamping, half-open terms, UTC midnights.

Rules (CONTRACT §3): a term is ``[term_start, term_end)``; term days = ``term_end - term_start``;
remaining days at D = ``term_end - D``; months are added with clamping to the month's last day.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache


@lru_cache(maxsize=8192)
def add_months(d: date, n: int) -> date:
    """``d`` plus ``n`` months, clamped to the last day of the target month.

    Rule: CONTRACT §3 (Jan 31 + 1 month = Feb 28 or 29; Feb 29 + 12 months = Feb 28).
    """
    index = d.year * 12 + (d.month - 1) + n
    year, month = divmod(index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(d.day, last))


@lru_cache(maxsize=1024)
def month_end(year: int, month: int) -> date:
    """The last day of ``month`` in ``year`` (CONTRACT §3: a card is valid through it)."""
    return date(year, month, calendar.monthrange(year, month)[1])


_MIDNIGHT = time(0)
_NO_OFFSET = timedelta(0)


@lru_cache(maxsize=4096)
def midnight(d: date) -> datetime:
    """00:00 UTC of ``d``: the moment every dated occasion falls due (CONTRACT §3).

    Cached: the walk asks it of the same few calendar dates for every occasion and report."""
    return datetime.combine(d, _MIDNIGHT, tzinfo=UTC)


def require_utc(moment: datetime, what: str) -> None:
    """Refuse naive or non-UTC timestamps: all business time is aware UTC (CONTRACT, intro)."""
    if moment.tzinfo is UTC:  # nearly every timestamp: asking its offset costs more than this
        return
    if moment.tzinfo is None or moment.utcoffset() != _NO_OFFSET:
        raise ValueError(f"{what} must be an aware UTC datetime, got {moment!r}")


def first_midnight_at_or_after(moment: datetime) -> date:
    """The first date whose 00:00 UTC is at or after ``moment`` (CONTRACT §3, Scheduling)."""
    day = moment.astimezone(UTC).date()
    return day if midnight(day) >= moment else day + timedelta(days=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class Term:
    """A subscription term, the half-open date range ``[start, end)`` (CONTRACT §2)."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"a term ends after it starts: {self.start} .. {self.end}")

    @property
    def days(self) -> int:
        """Term days = ``end - start`` (CONTRACT §3)."""
        return (self.end - self.start).days

    def remaining_days(self, d: date) -> int:
        """Remaining days at ``d`` = ``end - d`` (CONTRACT §3)."""
        return (self.end - d).days

    def contains(self, d: date) -> bool:
        """True when ``start <= d < end``."""
        return self.start <= d < self.end

    @property
    def is_twelve_months(self) -> bool:
        """True when ``end == start + 12 months`` with clamping (CONTRACT §3, QSR eligibility)."""
        return self.end == add_months(self.start, 12)

    def __str__(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"
