"""Outcomes: what happened, for the service to turn into rows, emails and feed items.

A transition returns ``Applied(state, outcomes)`` or ``Rejected(reason, code)``; it never
raises for a command it refuses. Outcomes are ``InvoiceIssued``, ``InvoicePaid`` and
``NoticeDue``; the facts each notice kind carries are listed in docs/billing.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from types import MappingProxyType

from billingcore.dates import Term
from billingcore.invoices import Invoice
from billingcore.money import Money
from billingcore.state import Subscription


class NoticeKind(StrEnum):
    """The fifteen email kinds of CONTRACT §4."""

    SUBSCRIPTION_CONFIRMATION = "subscription_confirmation"
    SEATS_ADDED = "seats_added"
    UPGRADE_CONFIRMATION = "upgrade_confirmation"
    RENEWAL_CONFIRMATION = "renewal_confirmation"
    RENEWAL_REMINDER = "renewal_reminder"
    AUTO_RENEWAL_UPCOMING = "auto_renewal_upcoming"
    AUTO_RENEWAL_BLOCKED = "auto_renewal_blocked"
    AUTO_RENEWAL_FAILED = "auto_renewal_failed"
    SUBSCRIPTION_EXPIRED = "subscription_expired"
    QSR_NOTICE = "qsr_notice"
    QSR_RECONCILED = "qsr_reconciled"
    QSR_FAILED = "qsr_failed"
    PAYMENT_METHOD_EXPIRING = "payment_method_expiring"
    CANCELLATION_CONFIRMATION = "cancellation_confirmation"
    MANAGING_USERS = "managing_users"

    @property
    def is_reminder(self) -> bool:
        """Reminder kinds may be unsubscribed from (CONTRACT §4, List-Unsubscribe)."""
        return self in _REMINDERS


_REMINDERS = frozenset(
    {
        NoticeKind.RENEWAL_REMINDER,
        NoticeKind.AUTO_RENEWAL_UPCOMING,
        NoticeKind.PAYMENT_METHOD_EXPIRING,
    }
)

Fact = Money | Term | date | datetime | int | str | bool | tuple[str, ...] | None
Facts = Mapping[str, Fact]


def facts(**values: Fact) -> Facts:
    """A read-only mapping of the facts a notice states (CONTRACT §4, "states at least")."""
    return MappingProxyType(values)


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoiceIssued:
    """An invoice was issued; the service numbers and stores it."""

    invoice: Invoice


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoicePaid:
    """An open invoice was paid with ``amount``."""

    invoice_key: str
    amount: Money


@dataclass(frozen=True, slots=True, kw_only=True)
class NoticeDue:
    """An email of ``kind`` is due; ``key`` is ``"{subscription_id}:{kind}:{occasion}"``."""

    kind: NoticeKind
    key: str
    facts: Facts


Outcome = InvoiceIssued | InvoicePaid | NoticeDue


def notice(subscription_id: str, kind: NoticeKind, occasion: str, **values: Fact) -> NoticeDue:
    """A notice whose idempotency key is ``"{subscription_id}:{kind}:{occasion}"`` (CONTRACT §4:
    each (subscription, kind, occasion) is sent once)."""
    return NoticeDue(
        kind=kind, key=f"{subscription_id}:{kind.value}:{occasion}", facts=facts(**values)
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Applied:
    """The command was applied: the new state and what followed from it."""

    state: Subscription
    outcomes: tuple[Outcome, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Rejected:
    """The command was refused and changed nothing; ``code`` is stable, ``reason`` readable."""

    reason: str
    code: str


Result = Applied | Rejected
