"""The chart of a subscription's term: billable users against seats paid for, drawn as SVG.

Billable users are the term's usage reports as stored, each holding until the next. Seats
paid for on a day are read off the invoices: the seats of the lines that pay for seats
(purchase, renewal, seats added, reconciliation) whose service period holds the day; the
forecast's invoices add what the term will still bring, drawn dashed. The reconciliation
dates (``billingcore.qsr.reconciliation_dates``) and today are marked. Only geometry is
computed here; the template draws it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from billingcore.explanations import Rule
from billingcore.invoices import Invoice
from billingcore.qsr import reconciliation_dates
from billingcore.state import Subscription

WIDTH, HEIGHT = 720, 280
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 40
# The rules whose lines pay for seats over their service period.
SEAT_RULES = frozenset({Rule.PURCHASE, Rule.RENEWAL, Rule.SEATS_ADDED, Rule.QSR_OVERAGE})

Period = tuple[int, date, date]  # seats, first day, day after the last


@dataclass(frozen=True, slots=True, kw_only=True)
class Mark:
    x: float
    label: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Dot:
    x: float
    y: float
    label: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Chart:
    width: int
    height: int
    seats: str  # SVG path data of the invoiced seats
    forecast: str | None  # the same with the forecast's invoices, when it differs
    users: str | None
    reports: tuple[Dot, ...]
    quarters: tuple[Mark, ...]
    today: Mark | None
    y_ticks: tuple[tuple[float, int], ...]
    x_labels: tuple[Mark, ...]
    description: str


def stored_periods(invoices: Iterable[Mapping[str, Any]]) -> list[Period]:
    """The seat-paying lines of stored invoices (their JSON, as the admin view holds it)."""
    found = []
    for invoice in invoices:
        for line in invoice["lines"]:
            period = line.get("service_period")
            if line["explanation"]["rule"] in SEAT_RULES and period:
                start, end = date.fromisoformat(period["start"]), date.fromisoformat(period["end"])
                found.append((int(line["quantity"]), start, end))
    return found


def forecast_periods(invoices: Iterable[Invoice]) -> list[Period]:
    """The seat-paying lines of the forecast's invoices."""
    return [
        (line.quantity, line.service_period.start, line.service_period.end)
        for invoice in invoices
        for line in invoice.lines
        if line.explanation.rule in SEAT_RULES and line.service_period is not None
    ]


def _seats_on(periods: list[Period], day: date) -> int:
    return sum(seats for seats, start, end in periods if start <= day < end)


def _steps(values: list[tuple[date, int]], end: date, x: Any, y: Any) -> str:
    parts = []
    for i, (day, value) in enumerate(values):
        until = values[i + 1][0] if i + 1 < len(values) else end
        command = "M" if i == 0 else "L"
        parts.append(f"{command}{x(day):.1f},{y(value):.1f} L{x(until):.1f},{y(value):.1f}")
    return " ".join(parts)


def _seat_series(
    periods: list[Period], start: date, end: date, fallback: int
) -> list[tuple[date, int]]:
    days = sorted({start, *(d for _, s, e in periods for d in (s, e) if start < d < end)})
    series = [(day, _seats_on(periods, day)) for day in days]
    if not periods:
        return [(start, fallback)]
    return [item for i, item in enumerate(series) if i == 0 or item[1] != series[i - 1][1]]


def chart(
    state: Subscription,
    stored: list[Period],
    ahead: list[Period],
    today: datetime,
) -> Chart:
    """The geometry of ``state``'s current term on ``today``."""
    start, end = state.term.start, state.term.end
    seats = _seat_series(stored, start, end, state.seats_paid_for)
    planned = _seat_series(stored + ahead, start, end, state.seats_paid_for)
    reports = [r for r in state.usage if start <= r.observed_at.date() < end]
    top = max([1, *(v for _, v in seats + planned), *(r.billable_users for r in reports)])
    top = int(top * 1.2) + 1
    span = max(1, (end - start).days)

    def x(day: date) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * (day - start).days / span

    def y(value: int) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - value / top)

    users = None
    if reports:
        last = min(max(today.date(), reports[-1].observed_at.date()), end)
        values = [(r.observed_at.date(), r.billable_users) for r in reports]
        users = _steps(values, last, x, y)
    step = max(1, round(top / 5))
    quarters = tuple(
        Mark(x=x(day), label=f"Q{k} reconciliation {day.isoformat()}")
        for k, day in enumerate(reconciliation_dates(start), 1)
        if day < end
    )
    now = today.date()
    latest = f"{reports[-1].billable_users} billable users" if reports else "no usage reported"
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        seats=_steps(seats, end, x, y),
        forecast=_steps(planned, end, x, y) if planned != seats else None,
        users=users,
        reports=tuple(
            Dot(
                x=x(r.observed_at.date()),
                y=y(r.billable_users),
                label=f"{r.observed_at.date().isoformat()}: {r.billable_users} billable users",
            )
            for r in reports
        ),
        quarters=quarters,
        today=Mark(x=x(now), label=f"today {now.isoformat()}") if start <= now < end else None,
        y_ticks=tuple((y(v), v) for v in range(0, top + 1, step)),
        x_labels=(Mark(x=x(start), label=start.isoformat()), Mark(x=x(end), label=end.isoformat())),
        description=(
            f"Term {start.isoformat()} to {end.isoformat()}: {state.seats_paid_for} seats paid "
            f"for now, {latest} at the latest report, reconciliation dates "
            + ", ".join(day.isoformat() for day in reconciliation_dates(start))
            + "."
        ),
    )
