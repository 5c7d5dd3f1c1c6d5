"""How a rule family plugs into the timeline: its commands, its occasions, and when they fall due.

Each family module (``purchase``, ``proration``, ``renewal``, ``expiry``, ``reminders``,
``qsr``, ``onboarding``, ``payments``, ``usage``, ``account``) keeps a rule's "when" and "what"
together and publishes them as one ``Family``; ``billingcore.timeline`` gathers the families
into its dispatch tables and its calendar.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from billingcore.commands import EventCommand
from billingcore.occasion import Occasion, OccasionKind
from billingcore.outcomes import Result
from billingcore.state import Deployment, Subscription

C = TypeVar("C", bound=EventCommand)

CommandRule = Callable[[Subscription, Any, datetime], Result]
OccasionRule = Callable[[Subscription, Occasion, datetime], Result]


@dataclass(frozen=True, slots=True)
class Window:
    """The dates ``lo <= d < hi`` a scheduler asks about (``hi`` None: no upper bound)."""

    lo: date
    hi: date | None

    def holds(self, day: date) -> bool:
        """True when ``day`` is in the window."""
        return self.lo <= day and (self.hi is None or day < self.hi)


Found = list[tuple[date, OccasionKind]]
# Appends to ``found`` the (date, kind) of each of the family's occasions in the window.
Due = Callable[[Subscription, Window, Found], None]
# Every date a term of ``(start, end, deployment)`` can make due for the family.
Calendar = Callable[[date, date, Deployment], Iterable[date]]
# Dates the state itself holds (a grace end, a pending invoice date) that may fall due.
Moving = Callable[[Subscription], Iterable[date | None]]


def command_rule(
    command: type[C], rule: Callable[[Subscription, C, datetime], Result]
) -> tuple[type[C], CommandRule]:
    """One entry of a family's command table; the type checker matches rule and command.

    Rule: CONTRACT §2, every event type has exactly one rule that applies it.
    """
    return command, rule


@dataclass(frozen=True, slots=True, kw_only=True)
class Family:
    """One rule family as the timeline sees it."""

    name: str
    commands: Mapping[type[Any], CommandRule] = field(default_factory=dict)
    occasions: Mapping[OccasionKind, OccasionRule] = field(default_factory=dict)
    due: Due | None = None
    calendar: Calendar | None = None
    moving: Moving | None = None
