"""Invoices: rounded lines, one currency, total = sum of lines."""

from __future__ import annotations

from datetime import date

import pytest

from billingcore.explanations import Explanation, Rule
from billingcore.invoices import (
    InvalidInvoice,
    Invoice,
    InvoiceLine,
    InvoicePurpose,
    build_invoice,
    invoice_key,
    issue,
)
from billingcore.money import Money

EXPLANATION = Explanation(rule=Rule.PURCHASE, formula="1 seat × $1.00", inputs={"seats": 1})


def line(amount: str, currency: str = "USD") -> InvoiceLine:
    return InvoiceLine(
        description="x",
        quantity=1,
        unit_price=Money.of("1", currency),
        service_period=None,
        amount=Money.of(amount, currency),
        explanation=EXPLANATION,
    )


def test_build_invoice_totals_the_lines() -> None:
    """Total 953.42 + (−100.00) = 853.42."""
    invoice = build_invoice(
        key="S-1:upgrade:e",
        subscription_id="S-1",
        purpose=InvoicePurpose.UPGRADE,
        lines=(line("953.42"), line("-100.00")),
        issued_on=date(2026, 6, 15),
    )
    assert invoice.total == Money.of("853.42", "USD")
    assert invoice.currency == "USD"


def test_invoice_key() -> None:
    """Keys are "{subscription}:{purpose}:{occasion}"."""
    assert invoice_key("S-1", InvoicePurpose.RENEWAL, "2027-01-01") == "S-1:renewal:2027-01-01"


def test_issue_keys_and_totals_the_invoice() -> None:
    """issue() names the invoice by its key and totals its lines: 953.42 + (−100.00)."""
    lines = (line("953.42"), line("-100.00"))
    invoice = issue("S-1", InvoicePurpose.SEATS_ADDED, "evt-1", lines, date(2026, 6, 15))
    assert invoice == build_invoice(
        key="S-1:seats_added:evt-1",
        subscription_id="S-1",
        purpose=InvoicePurpose.SEATS_ADDED,
        lines=lines,
        issued_on=date(2026, 6, 15),
    )
    assert invoice.total == Money.of("853.42", "USD")
    assert invoice.lines[0].explanation is EXPLANATION


def test_an_unrounded_line_is_refused() -> None:
    """A line amount finer than the minor unit cannot exist."""
    with pytest.raises(InvalidInvoice):
        line("1.005")


def test_a_line_mixing_currencies_is_refused() -> None:
    """Amount and unit price share one currency."""
    with pytest.raises(InvalidInvoice):
        InvoiceLine(
            description="x",
            quantity=1,
            unit_price=Money.of("1", "USD"),
            service_period=None,
            amount=Money.of("1", "EUR"),
            explanation=EXPLANATION,
        )


@pytest.mark.parametrize(
    ("lines", "total", "currency"),
    [
        ((), "0", "USD"),  # no lines
        ((line("1.00"), line("1", "JPY")), "2.00", "USD"),  # mixed line currencies
        ((line("1.00"),), "1", "JPY"),  # total in another currency
        ((line("1.00"),), "1.01", "USD"),  # total is not the sum
    ],
)
def test_inconsistent_invoices_are_refused(
    lines: tuple[InvoiceLine, ...], total: str, currency: str
) -> None:
    """Construction checks lines, currencies and the total."""
    with pytest.raises(InvalidInvoice):
        Invoice(
            key="k",
            subscription_id="S-1",
            purpose=InvoicePurpose.PURCHASE,
            currency="USD",
            lines=lines,
            total=Money.of(total, currency),
            issued_on=date(2026, 1, 1),
        )


def test_build_invoice_needs_a_line() -> None:
    """No lines, no invoice."""
    with pytest.raises(InvalidInvoice):
        build_invoice(
            key="k",
            subscription_id="S-1",
            purpose=InvoicePurpose.PURCHASE,
            lines=(),
            issued_on=date(2026, 1, 1),
        )
