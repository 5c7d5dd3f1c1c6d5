"""The timeline: a subscription advanced through its commands and the occasions that fall due.

``advance(state, commands, through=…, now=…)`` is the one entry point of the service: it
applies the commands in time order and, before each, every occasion that fell due before it
(what fell due before an event is applied first: a usage report after a reconciliation date
must not count in the quarter already reconciled), then the occasions due by ``now``. It
returns the new state, what each step did, the commands it refused or held, and the cursor.
``apply(state, command, now)`` is one step of it; what falls due when is found by
``billingcore.due``. The rules themselves live in their families (``billingcore.rules``).

Decisions are taken at the command's own time (``command.at``, an occasion's ``due``), so the
result does not depend on when it is processed; ``now`` only decides which reminder of a
series is still worth sending (CONTRACT §3: of a series only the latest due is sent).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from billingcore import purchase
from billingcore.commands import Command, CreateSubscription, CustomerCommand, EventCommand
from billingcore.dates import midnight, require_utc
from billingcore.due import COMMAND_RULES, OCCASION_RULES, collect, next_due, window_dates
from billingcore.occasion import Occasion
from billingcore.outcomes import Applied, Outcome, Rejected, Result, reject
from billingcore.rules import Window
from billingcore.state import Subscription, evolve

TICK = timedelta(microseconds=1)
# Before every due moment: a walk on time from it applies each occasion at its own moment.
EARLIEST = datetime.min.replace(tzinfo=UTC)
# A subscription whose occasions keep producing occasions is a bug; stop rather than spin.
MAX_OCCASIONS_PER_RUN = 500


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
    if not any(o.key == occasion.key for o in collect(state, window)):
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
        window = Window(*window_dates(start, until))
        seen: set[str] = set()
        pending = collect(state, window)
        while pending:
            if len(seen) == self.limit:
                raise RuntimeError(f"{state.id}: occasions keep falling due; stopped at {until}")
            occasion = pending[0]
            seen.add(occasion.key)
            if self.carry_out(occasion):
                state = self.state
                assert state is not None
                pending = [o for o in collect(state, window) if o.key not in seen]
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
