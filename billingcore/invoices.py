"""Invoices: lines rounded once, totals that are the sum of their lines.

Rules (CONTRACT §3): each invoice line is rounded once, to the currency's minor unit, half up; an
invoice total is the sum of its rounded lines. The invoice *number* (``INV-000001``) is assigned
by the service when it stores the invoice; the core names each invoice by a stable ``key``, unique
per (subscription, purpose, occasion), e.g. ``"S-1:renewal:2027-01-01"``.

Errors: ``InvalidInvoice`` (a ValueError) for a line or invoice that breaks these rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from billingcore.dates import Term
from billingcore.explanations import Explanation
from billingcore.money import Money, sum_money


class InvalidInvoice(ValueError):
    """A line that is not rounded, mixed currencies, or a total that is not the sum of lines."""


class InvoicePurpose(StrEnum):
    """Why an invoice was issued."""

    PURCHASE = "purchase"
    SEATS_ADDED = "seats_added"
    UPGRADE = "upgrade"
    QSR = "qsr"
    RENEWAL = "renewal"


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoiceLine:
    """One line: ``quantity`` seats at ``unit_price`` per seat per year over ``service_period``.

    ``amount`` is the line's exact amount rounded once (it is not always quantity × unit_price:
    prorated lines cover part of a year, credit lines are negative). ``explanation`` says which
    rule made the line, its arithmetic and its inputs (CONTRACT §6).
    """

    description: str
    quantity: int
    unit_price: Money
    service_period: Term | None
    amount: Money
    explanation: Explanation

    def __post_init__(self) -> None:
        if self.amount.currency != self.unit_price.currency:
            raise InvalidInvoice("a line's amount and unit price must share one currency")
        if not self.amount.is_rounded:
            raise InvalidInvoice(f"line amount {self.amount.amount} is not rounded")


@dataclass(frozen=True, slots=True, kw_only=True)
class Invoice:
    """An invoice of one subscription; ``total`` must equal the sum of the lines' amounts."""

    key: str
    subscription_id: str
    purpose: InvoicePurpose
    currency: str
    lines: tuple[InvoiceLine, ...]
    total: Money
    issued_on: date

    def __post_init__(self) -> None:
        if not self.lines:
            raise InvalidInvoice("an invoice has at least one line")
        if any(line.amount.currency != self.currency for line in self.lines):
            raise InvalidInvoice(f"every line of a {self.currency} invoice is in {self.currency}")
        if self.total.currency != self.currency:
            raise InvalidInvoice(f"the total of a {self.currency} invoice is in {self.currency}")
        if self.total != sum_money([line.amount for line in self.lines], self.currency):
            raise InvalidInvoice(f"total {self.total} is not the sum of the lines")

    @property
    def is_credit(self) -> bool:
        """A negative total is a credit: the customer is owed, no payment is asked for."""
        return self.total.amount < 0


def build_invoice(
    *,
    key: str,
    subscription_id: str,
    purpose: InvoicePurpose,
    lines: tuple[InvoiceLine, ...],
    issued_on: date,
) -> Invoice:
    """Assemble an invoice whose total is the sum of its rounded lines (CONTRACT §3)."""
    if not lines:
        raise InvalidInvoice("an invoice has at least one line")
    currency = lines[0].amount.currency
    return Invoice(
        key=key,
        subscription_id=subscription_id,
        purpose=purpose,
        currency=currency,
        lines=lines,
        total=sum_money([line.amount for line in lines], currency),
        issued_on=issued_on,
    )


def issue(
    subscription_id: str,
    purpose: InvoicePurpose,
    occasion: str,
    lines: tuple[InvoiceLine, ...],
    issued_on: date,
) -> Invoice:
    """The invoice of ``purpose`` for ``occasion``, keyed by ``invoice_key`` (CONTRACT §3)."""
    return build_invoice(
        key=invoice_key(subscription_id, purpose, occasion),
        subscription_id=subscription_id,
        purpose=purpose,
        lines=lines,
        issued_on=issued_on,
    )


def invoice_key(subscription_id: str, purpose: InvoicePurpose, occasion: str) -> str:
    """The stable key ``"{subscription_id}:{purpose}:{occasion}"`` of an invoice.

    Rule: CONTRACT §3/§4, each invoice happens once; the service maps its number to this key.
    """
    return f"{subscription_id}:{purpose.value}:{occasion}"
