"""Causes: why an outcome happened, an event or an occasion that fell due.

Rule: CONTRACT §6, every invoice and every notification carries ``cause``: ``{"event_id": …}``
for what an event did, ``{"occasion": "<kind>", "date": "YYYY-MM-DD"}`` for what fell due.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from billingcore.occasion import OccasionKind


@dataclass(frozen=True, slots=True, kw_only=True)
class Cause:
    """What made an outcome happen: exactly one of ``event_id`` or (``occasion``, ``date``)."""

    event_id: str | None = None
    occasion: OccasionKind | None = None
    date: dt.date | None = None

    def __post_init__(self) -> None:
        by_event = self.event_id is not None
        by_occasion = self.occasion is not None and self.date is not None
        if by_event == by_occasion or (self.occasion is None) != (self.date is None):
            raise ValueError("a cause is an event id, or an occasion kind with its date")

    @classmethod
    def event(cls, event_id: str) -> Cause:
        """The cause of what event ``event_id`` did."""
        return cls(event_id=event_id)

    @classmethod
    def fell_due(cls, occasion: OccasionKind, on: dt.date) -> Cause:
        """The cause of what the occasion ``occasion`` of ``on`` did."""
        return _fell_due(occasion, on)

    def to_view(self) -> dict[str, Any]:
        """The contract's form: ``{"event_id": …}`` or ``{"occasion": …, "date": …}``."""
        if self.event_id is not None:
            return {"event_id": self.event_id}
        assert self.occasion is not None and self.date is not None
        return {"occasion": self.occasion.value, "date": self.date.isoformat()}


@lru_cache(maxsize=4096)
def _fell_due(occasion: OccasionKind, on: dt.date) -> Cause:
    # Every subscription whose occasion of a kind falls due on the same day has the same cause:
    # a value, made once per (kind, date) rather than once per outcome.
    return Cause(occasion=occasion, date=on)
