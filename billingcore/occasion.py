"""Occasions: the time-driven commands, each a kind due at 00:00 UTC of its date.

Rule: CONTRACT §3 Scheduling, every occasion falls due at 00:00 UTC of its date and runs once.
The kinds are listed in the order they run when several fall due on the same day. Which
occasions a state makes due is each rule family's own business (``billingcore.timeline``
gathers them); this module only names them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from functools import lru_cache

from billingcore.dates import midnight, require_utc


class OccasionKind(StrEnum):
    """Kinds of time-driven occasions, in the order they run when due the same day."""

    QSR_INVOICE = "qsr_invoice"
    QSR_NOTICE = "qsr_notice"
    GRACE_END = "grace_end"
    TERM_END = "term_end"
    MANAGING_USERS = "managing_users"
    RENEWAL_REMINDER = "renewal_reminder"
    AUTO_RENEWAL_NOTICE = "auto_renewal_notice"
    PAYMENT_METHOD_EXPIRING = "payment_method_expiring"


RUN_ORDER = {kind: index for index, kind in enumerate(OccasionKind)}


@dataclass(frozen=True, slots=True, kw_only=True)
class Occasion:
    """A time-driven command: ``kind`` due at ``due`` (00:00 UTC); ``key`` is stable."""

    subscription_id: str
    kind: OccasionKind
    due: datetime
    key: str

    def __post_init__(self) -> None:
        require_utc(self.due, "due")

    @property
    def at(self) -> datetime:
        """The moment the occasion stands for: its due time."""
        return self.due

    @property
    def due_on(self) -> date:
        """The date of the occasion."""
        return self.due.date()


def occasion_key(subscription_id: str, kind: OccasionKind, on: date) -> str:
    """The stable key ``"{subscription_id}:{kind}:{date}"`` of an occasion (CONTRACT §3: once)."""
    return f"{subscription_id}:{kind.value}:{on.isoformat()}"


@lru_cache(maxsize=4096)
def make_occasion(subscription_id: str, kind: OccasionKind, on: date) -> Occasion:
    """The occasion ``kind`` of ``on`` for a subscription (CONTRACT §3: due at 00:00 UTC).

    Occasions are values, so a scheduler asking about the same dates again gets the same ones.
    """
    return Occasion(
        subscription_id=subscription_id,
        kind=kind,
        due=midnight(on),
        key=occasion_key(subscription_id, kind, on),
    )
