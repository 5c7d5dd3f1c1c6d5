"""Which rule families there are, and what falls due when.

The timeline (``billingcore.timeline``) walks what this module finds: ``FAMILIES`` gathered
into the dispatch tables (command type → rule, occasion kind → rule), and ``collect``, the
occasions a state makes due in a window, in date and run order, from every family's ``due``.
``occasions`` and ``next_due`` ask it of datetimes, as the scheduler does.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from billingcore import (
    account,
    expiry,
    onboarding,
    payments,
    proration,
    purchase,
    qsr,
    reminders,
    renewal,
    usage,
)
from billingcore.dates import first_midnight_at_or_after, require_utc
from billingcore.occasion import RUN_ORDER, Occasion, OccasionKind, make_occasion
from billingcore.rules import CommandRule, Due, Family, OccasionRule, Window
from billingcore.state import Deployment, Status, Subscription

FAMILIES: tuple[Family, ...] = (
    purchase.FAMILY,
    proration.FAMILY,
    renewal.FAMILY,
    expiry.FAMILY,
    reminders.FAMILY,
    qsr.FAMILY,
    onboarding.FAMILY,
    payments.FAMILY,
    usage.FAMILY,
    account.FAMILY,
)


def gather(
    families: Iterable[Family],
) -> tuple[dict[type, CommandRule], dict[OccasionKind, OccasionRule]]:
    """The dispatch tables of ``families``: command type → rule, occasion kind → rule.

    Rule: CONTRACT §2/§3, each event type and each occasion has exactly one rule; a family that
    claims another's is a RuntimeError when the timeline loads.
    """
    commands: dict[type, CommandRule] = {}
    occasions: dict[OccasionKind, OccasionRule] = {}
    for family in families:
        if set(commands) & set(family.commands) or set(occasions) & set(family.occasions):
            raise RuntimeError(f"the {family.name} family redefines rules of another family")
        commands.update(family.commands)
        occasions.update(family.occasions)
    return commands, occasions


COMMAND_RULES, OCCASION_RULES = gather(FAMILIES)
_DUE: tuple[Due, ...] = tuple(f.due for f in FAMILIES if f.due is not None)


@lru_cache(maxsize=16384)
def _calendar(start: date, end: date, deployment: Deployment) -> tuple[date, ...]:
    """Every date a term can make due, sorted; the dates of one term, whatever its state."""
    dates: set[date] = set()
    for family in FAMILIES:
        if family.calendar is not None:
            dates.update(family.calendar(start, end, deployment))
    return tuple(sorted(dates))


def _nothing_due(state: Subscription, window: Window) -> bool:
    # A scheduler pass asks about a short window; most states have no date in it at all.
    assert window.hi is not None
    calendar = _calendar(state.term.start, state.term.end, state.deployment)
    index = bisect.bisect_left(calendar, window.lo)
    if index < len(calendar) and calendar[index] < window.hi:
        return False
    moving = (d for f in FAMILIES if f.moving is not None for d in f.moving(state))
    return not any(d is not None and window.holds(d) for d in moving)


def collect(state: Subscription, window: Window) -> list[Occasion]:
    """Occasions dated in ``window``, not applied yet, in date and run order (the walks'
    question; ``occasions`` asks it of datetimes).

    Rule: CONTRACT §3 Scheduling (each occasion once; several on one day in run order).
    """
    if state.status is Status.EXPIRED or (window.hi is not None and _nothing_due(state, window)):
        return []
    found: list[tuple[date, OccasionKind]] = []
    for due in _DUE:
        due(state, window, found)
    found.sort(key=lambda item: (item[0], RUN_ORDER[item[1]]))
    applied, made = state.applied_keys, []
    for on, kind in found:
        occasion = make_occasion(state.id, kind, on)
        if occasion.key not in applied:
            made.append(occasion)
    return made


def occasions(state: Subscription, start: datetime, end: datetime) -> list[Occasion]:
    """Every occasion due in ``[start, end)`` not yet applied this term, in date order.

    Rule: CONTRACT §3 Scheduling and §4 (when each reminder, reconciliation, renewal and expiry
    falls due); every occasion is due at 00:00 UTC of its date.
    """
    lo, hi = window_dates(start, end)
    return collect(state, Window(lo, hi))


@lru_cache(maxsize=64)
def window_dates(start: datetime, end: datetime) -> tuple[date, date]:
    """The dates ``[lo, hi)`` of the instants ``[start, end)``: every occasion is due at
    00:00 UTC (CONTRACT §3 Scheduling)."""
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
    found = collect(state, Window(lo, None))
    return found[0].due if found else None
