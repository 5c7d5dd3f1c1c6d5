"""Outcomes: what a transition did, for the service to turn into rows, emails and feed items.

A transition returns ``Applied(state, outcomes)`` or ``Rejected(reason, code)``; it never raises
for a command it refuses. Outcomes are ``InvoiceIssued``, ``InvoicePaid``,
``InvoicePaymentFailed`` and the notices of ``billingcore.notices``; each carries its cause.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from billingcore.causes import Cause
from billingcore.invoices import Invoice
from billingcore.money import Money
from billingcore.notices import Notice
from billingcore.state import Subscription


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoiceIssued:
    """An invoice was issued; the service numbers and stores it."""

    invoice: Invoice
    cause: Cause


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoicePaid:
    """An open invoice was paid with ``amount``."""

    invoice_key: str
    amount: Money
    cause: Cause


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoicePaymentFailed:
    """Charging an open invoice failed at ``at``; it stays open."""

    invoice_key: str
    at: datetime
    cause: Cause


Outcome = InvoiceIssued | InvoicePaid | InvoicePaymentFailed | Notice


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


def reject(code: str, reason: str) -> Rejected:
    """A refusal with its stable ``code`` (CONTRACT §6: events rejected with their reason)."""
    return Rejected(reason=reason, code=code)
