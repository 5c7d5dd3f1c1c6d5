"""The timeline: a subscription advanced through its commands and the occasions that fall due.

``advance(state, commands, through=…, now=…)`` is the one entry point of the service: it
applies the commands in time order and, before each, every occasion that fell due before it
(what fell due before an event is applied first: a usage report after a reconciliation date
must not count in the quarter already reconciled), then the occasions due by ``now``. It
returns the new state, what each step did, the commands it refused or held, and the cursor.
``apply(state, command, now)`` is one step of it; ``occasions`` and ``next_due`` say what
falls due when. The rules themselves live in their families (``billingcore.rules``).

Decisions are taken at the command's own time (``command.at``, an occasion's ``due``), so the
result does not depend on when it is processed; ``now`` only decides which reminder of a
series is still worth sending (CONTRACT §3: of a series only the latest due is sent).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
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
from billingcore.commands import Command, CreateSubscription, CustomerCommand, EventCommand
from billingcore.dates import first_midnight_at_or_after, midnight, require_utc
from billingcore.occasion import RUN_ORDER, Occasion, OccasionKind, make_occasion
from billingcore.outcomes import Applied, Outcome, Rejected, Result, reject
from billingcore.rules import CommandRule, Due, Family, OccasionRule, Window
from billingcore.state import Deployment, Status, Subscription, evolve

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

TICK = timedelta(microseconds=1)
# Before every due moment: a walk on time from it applies each occasion at its own moment.
EARLIEST = datetime.min.replace(tzinfo=UTC)
# A subscription whose occasions keep producing occasions is a bug; stop rather than spin.
MAX_OCCASIONS_PER_RUN = 500


# -- what falls due when -------------------------------------------------------------------------


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


def _collect(state: Subscription, window: Window) -> list[Occasion]:
    """Occasions dated in ``window``, not applied yet, in date and run order."""
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
    lo, hi = _window(start, end)
    return _collect(state, Window(lo, hi))


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
    found = _collect(state, Window(lo, None))
    return found[0].due if found else None


# -- one step ------------------------------------------------------------------------------------


def apply(state: Subscription | None, command: Command, now: datetime) -> Result:
    """Apply one command (an event or an occasion) to a subscription's state.

    Rule: CONTRACT §2 (event types), §3 (arithmetic), §4 (notices; each (subscription, kind,
    occasion) once). Rejected: commands for an unknown subscription other than
    CreateSubscription, CreateSubscription for an existing one, and each refusal listed with
    its rule. A key already applied in this term changes nothing; an occasion the state no
    longer makes due on its date changes nothing either.
    """
    if state is None:
        if isinstance(command, CreateSubscription):
            return purchase.create(command)
        return reject("unknown_subscription", f"no subscription for command {command.key}")
    if command.key in state.applied_keys:
        return Applied(state=state)
    if isinstance(command, CustomerCommand):
        if command.customer_id != state.customer.id:
            return reject(
                "wrong_customer",
                f"command for customer {command.customer_id} applied to {state.customer.id}",
            )
    elif command.subscription_id != state.id:
        return reject(
            "wrong_subscription",
            f"command for {command.subscription_id} applied to {state.id}",
        )
    if isinstance(command, Occasion):
        return _recorded(_occasion(state, command, now), command.key)
    return _recorded(COMMAND_RULES[type(command)](state, command, now), command.key)


def _occasion(state: Subscription, occasion: Occasion, now: datetime) -> Result:
    """An occasion is carried out only while the state still makes it due on its date."""
    day = occasion.due_on
    window = Window(day, day + timedelta(days=1))
    if not any(o.key == occasion.key for o in _collect(state, window)):
        return Applied(state=state)
    return OCCASION_RULES[occasion.kind](state, occasion, now)


def _recorded(result: Result, key: str) -> Result:
    """A rule's result with ``key`` among the state's applied keys (CONTRACT §3: once)."""
    if isinstance(result, Rejected):
        return result
    return Applied(
        state=evolve(result.state, applied_keys=result.state.applied_keys | {key}),
        outcomes=result.outcomes,
    )


# -- the whole run -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One applied command or occasion: the state it left and what it did."""

    key: str
    state: Subscription
    outcomes: tuple[Outcome, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Advanced:
    """What ``advance`` did.

    ``state`` is None while the subscription does not exist (its commands are all ``held``).
    ``through``: every occasion due before it is applied.
    """

    state: Subscription | None
    steps: tuple[Step, ...]
    rejected: dict[str, Rejected]
    held: tuple[str, ...]
    through: datetime | None

    @property
    def next_due(self) -> datetime | None:
        """The earliest occasion still to come (worked out when asked: not every caller does)."""
        if self.state is None or self.through is None:
            return None
        return next_due(self.state, self.through - TICK)

    @property
    def outcomes(self) -> tuple[Outcome, ...]:
        """Every outcome, in the order it happened."""
        return tuple(outcome for step in self.steps for outcome in step.outcomes)


def order(command: EventCommand) -> tuple[datetime, str]:
    """Commands apply in ``at`` order, ties broken by key, whatever order they arrived in.

    Rule: CONTRACT §2, events of one subscription are applied in ``timestamp`` order and the
    outcome does not depend on the order of delivery.
    """
    return (command.at, command.key)


class _Run:
    """The mutable walk behind ``advance`` and ``scheduled``: a state, its cursor, and what
    happened.

    ``on_time`` None: every occasion applies at ``now`` (when a scheduler gets to it); else each
    applies at its own due moment, or at ``on_time`` if it fell due before (a scheduler that is
    behind catches up first, then runs on time). ``steps`` False: only the outcomes are kept,
    and the keys carried out are kept by the walk rather than copied into a new state at each
    occasion (nobody reads those states: the forecast's walk).
    """

    def __init__(
        self,
        state: Subscription | None,
        through: datetime | None,
        now: datetime,
        limit: int,
        *,
        on_time: datetime | None = None,
        steps: bool = True,
    ) -> None:
        self.state = state
        self.through = through
        self.now = now
        self.limit = limit
        self.on_time = on_time
        self.keeps_steps = steps
        self.steps: list[Step] = []
        self.outcomes: list[Outcome] = []
        self.rejected: dict[str, Rejected] = {}

    def apply(self, command: EventCommand) -> None:
        self.record(command.key, apply(self.state, command, self.now))

    def carry_out(self, occasion: Occasion) -> bool:
        """Apply an occasion just found due in this very state; True when its rule changed the
        state (beyond recording its key), so that what falls due must be asked again."""
        state = self.state
        assert state is not None
        now = self.now if self.on_time is None else max(occasion.due, self.on_time)
        result = OCCASION_RULES[occasion.kind](state, occasion, now)
        if self.keeps_steps:
            self.record(occasion.key, _recorded(result, occasion.key))
        else:
            self.record(occasion.key, result)
        return isinstance(result, Applied) and result.state is not state

    def record(self, key: str, result: Result) -> None:
        if isinstance(result, Rejected):
            self.rejected[key] = result
            return
        if not self.keeps_steps:
            self.outcomes.extend(result.outcomes)
        elif result.state is not self.state or result.outcomes:
            self.steps.append(Step(key=key, state=result.state, outcomes=result.outcomes))
        self.state = result.state

    def occasions_until(self, until: datetime) -> None:
        """Apply, in date order, every occasion due in ``[through, until)``; move the cursor.

        What falls due is collected once for the whole window and taken in order. It is asked
        again (over the whole window, less what was carried out) only after a rule changed the
        state. A rule that returned its state unchanged only had its key recorded, and no
        family's ``due`` reads the keys: collecting again would give the same list without its
        first occasion (a list names each occasion once), so that is what is taken next.
        """
        state, start = self.state, self.through
        if state is None or start is None or start >= until:
            return
        window = Window(*_window(start, until))
        seen: set[str] = set()
        pending = _collect(state, window)
        while pending:
            if len(seen) == self.limit:
                raise RuntimeError(f"{state.id}: occasions keep falling due; stopped at {until}")
            occasion = pending[0]
            seen.add(occasion.key)
            if self.carry_out(occasion):
                state = self.state
                assert state is not None
                pending = [o for o in _collect(state, window) if o.key not in seen]
            else:
                del pending[0]
        self.through = until


def advance(
    state: Subscription | None,
    commands: Iterable[EventCommand],
    *,
    through: datetime | None,
    now: datetime,
    max_occasions: int = MAX_OCCASIONS_PER_RUN,
    on_time: bool = False,
) -> Advanced:
    """Advance a subscription to ``now``: each command in time order, each after what fell due
    before it, then what fell due by ``now`` (occasions due at ``now`` included).

    Rule: CONTRACT §2 (timestamp order; an event that names a subscription not known yet is
    held and applied when its ``subscription.created`` arrives) and §3 Scheduling (every
    occasion that fell due meanwhile, in order, each once). ``through`` is the cursor of the
    stored state (None for a subscription not created yet); a command that happened before it
    is applied to the state as it stands (what was applied is never undone). More than
    ``max_occasions`` occasions in a row is a bug in a rule: RuntimeError, not a silent skip.
    Each occasion is applied at ``now`` (when a scheduler gets to it), or with ``on_time`` at its
    own due moment, as a scheduler that runs on time applies it (the forecast's walk).
    """
    require_utc(now, "now")
    until = now + TICK
    run = _Run(state, through, now, max_occasions, on_time=EARLIEST if on_time else None)
    work: list[EventCommand] = sorted(commands, key=order)
    held: list[EventCommand] = []
    while work:
        command = work.pop(0)
        if run.state is None:
            if not isinstance(command, CreateSubscription):
                held.append(command)
                continue
            run.apply(command)
            if run.state is not None:
                run.through = midnight(run.state.term.start)
                work = sorted([*work, *held], key=order)
                held = []
            continue
        run.occasions_until(min(command.at, until))
        run.apply(command)
    run.occasions_until(until)
    return Advanced(
        state=run.state,
        steps=tuple(run.steps),
        rejected=run.rejected,
        held=tuple(c.key for c in held),
        through=run.through,
    )


def scheduled(
    state: Subscription,
    *,
    through: datetime | None,
    as_of: datetime,
    until: datetime,
    max_occasions: int = MAX_OCCASIONS_PER_RUN,
) -> tuple[Outcome, ...]:
    """What a scheduler does from the cursor ``through`` to ``until`` with no commands: the
    outcomes of every occasion due in ``[through, until)``, in order, each applied at ``as_of``
    if it fell due by then (the scheduler catches up first) and at its own due moment after.

    Rule: CONTRACT §3 Forecast and Scheduling; the same walk as
    ``advance(state, [], through=through, now=as_of)`` followed by
    ``advance(..., now=until - TICK, on_time=True)`` from where it stopped, and the same
    outcomes (the forecast's property test holds it to a clock moving day by day). Only the
    outcomes come back: the forecast reads nothing else, so no step and no state per
    occasion is kept.
    """
    require_utc(as_of, "as_of")
    require_utc(until, "until")
    run = _Run(state, through, as_of, max_occasions, on_time=as_of, steps=False)
    run.occasions_until(until)
    return tuple(run.outcomes)
