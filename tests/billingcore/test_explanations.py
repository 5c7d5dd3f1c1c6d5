"""Explanations of invoice lines (CONTRACT §6): rule ids, formulas in words, JSON inputs."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from billingcore.catalog import Tier
from billingcore.dates import Term
from billingcore.explanations import (
    Explanation,
    Rule,
    counted,
    money_text,
    price_inputs,
    usage_evidence,
)
from billingcore.money import Money
from billingcore.proration import seats_added_line, upgrade_lines
from billingcore.purchase import purchase_line
from billingcore.qsr import qsr_line
from billingcore.renewal import plan_auto_renewal, renewal_line
from billingcore.trueup import true_up_line
from billingcore.usage import max_users_evidence

from .factories import subscription, term, usage, usd

YEAR_2026 = Term(start=date(2026, 1, 1), end=date(2027, 1, 1))


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        ("1188", "USD", "$1,188.00"),  # a symbol, thousands separated, the minor unit's digits
        ("87.5", "EUR", "€87.50"),
        ("0.5", "GBP", "£0.50"),
        ("40000", "JPY", "¥40,000"),  # no minor unit
        ("1000", "CHF", "1,000.00 CHF"),  # no symbol: the code after the amount
        ("1234567.891", "KWD", "1,234,567.891 KWD"),
        ("-1906.85", "USD", "−$1,906.85"),  # a credit: the minus sign before the symbol
        ("-0.751", "KWD", "−0.751 KWD"),
        ("-0.00", "USD", "$0.00"),  # a negative zero is no credit
    ],
)
def test_money_text(amount: str, currency: str, text: str) -> None:
    """Amounts as internal teams read them: symbol or code, separators, a true minus sign."""
    assert money_text(Money.of(amount, currency)) == text


def test_counted_and_shared_inputs() -> None:
    """One seat, many seats; every line's inputs hold its unit price as wire text and currency."""
    assert (counted(1, "seat", "seats"), counted(0, "seat", "seats")) == ("1 seat", "0 seats")
    assert price_inputs(Money.of("105.1", "KWD")) == {"unit_price": "105.100", "currency": "KWD"}
    assert usage_evidence([("2026-03-10T00:00:00+00:00", 14)]) == [
        {"observed_at": "2026-03-10T00:00:00+00:00", "users": 14}
    ]


def test_to_view_is_the_contract_form() -> None:
    """``{"rule", "formula", "inputs"}`` with the rule's stable id, JSON-serialisable."""
    line = purchase_line(Tier.PREMIUM, 10, usd("348.00"), YEAR_2026)
    view = line.explanation.to_view()
    assert view == {
        "rule": "purchase",
        "formula": "10 seats × $348.00",
        "inputs": {
            "seats": 10,
            "unit_price": "348.00",
            "currency": "USD",
            "tier": "premium",
            "term_start": "2026-01-01",
            "term_end": "2027-01-01",
        },
    }
    assert json.loads(json.dumps(view)) == view
    # A line stays hashable although its inputs are a mapping; equal lines hash alike, and
    # explanations that differ only in their inputs are still told apart by equality.
    same = purchase_line(Tier.PREMIUM, 10, usd("348.00"), YEAR_2026)
    assert hash(same) == hash(line) and same == line
    other = Explanation(rule=Rule.PURCHASE, formula=view["formula"], inputs={})
    assert other != line.explanation


def test_seats_added_explanation() -> None:
    """1 seat added × $348.00 × 200/365 days left, with every day count among the inputs."""
    line = seats_added_line(Tier.PREMIUM, 1, usd("348.00"), YEAR_2026, date(2026, 6, 15))
    assert line.explanation.rule is Rule.SEATS_ADDED
    assert line.explanation.formula == "1 seat added × $348.00 × 200/365 days left"
    assert line.explanation.inputs == {
        "seats_added": 1,
        "unit_price": "348.00",
        "currency": "USD",
        "effective_date": "2026-06-15",
        "term_start": "2026-01-01",
        "term_end": "2027-01-01",
        "remaining_days": 200,
        "term_days": 365,
    }


def test_upgrade_explanations() -> None:
    """The credit names the old tier with a minus sign, the charge the new one."""
    credit, charge = upgrade_lines(
        seats=10,
        old_tier=Tier.PREMIUM,
        old_price=usd("348.00"),
        new_tier=Tier.ULTIMATE,
        new_price=usd("1188.00"),
        term=YEAR_2026,
        effective_date=date(2026, 6, 15),
    )
    assert credit.explanation.rule is Rule.UPGRADE_CREDIT
    assert credit.explanation.formula == "−10 seats × $348.00 (Premium) × 200/365 days left"
    assert credit.explanation.inputs["tier"] == "premium"
    assert charge.explanation.rule is Rule.UPGRADE_CHARGE
    assert charge.explanation.formula == "10 seats × $1,188.00 (Ultimate) × 200/365 days left"
    assert (charge.explanation.inputs["tier"], charge.explanation.inputs["unit_price"]) == (
        "ultimate",
        "1188.00",
    )


def test_qsr_explanation_names_the_reports_that_set_the_maximum() -> None:
    """4 users over × $348.00 × 3/4 quarters left; max users 14 set by two reports."""
    state = usage(subscription(), "2026-02-10", 12)
    state = usage(state, "2026-03-10", 11, max_users=14)
    state = usage(state, "2026-03-20", 14)
    state = usage(state, "2026-04-01", 30)  # quarter 2
    line = qsr_line(state, 1, 4)
    assert line.explanation.rule is Rule.QSR_OVERAGE
    assert line.explanation.formula == "4 users over × $348.00 × 3/4 quarters left"
    assert line.explanation.inputs == {
        "overage": 4,
        "unit_price": "348.00",
        "currency": "USD",
        "quarter": 1,
        "quarters_left": 3,
        "quarters": 4,
        "quarter_start": "2026-01-01",
        "quarter_end": "2026-04-01",
        "seats_paid_for": 10,
        "max_users": 14,
        "max_set_by": [
            {"observed_at": "2026-03-10T00:00:00+00:00", "users": 14},
            {"observed_at": "2026-03-20T00:00:00+00:00", "users": 14},
        ],
    }


def test_max_users_evidence_without_reports_is_empty() -> None:
    """No report in the period: max users 0 and no report sets it, not even reports of 0."""
    state = usage(subscription(), "2026-02-10", 0)
    assert max_users_evidence(state, Term(start=date(2026, 1, 1), end=date(2026, 4, 1))) == {
        "max_users": 0,
        "max_set_by": [],
    }
    assert max_users_evidence(subscription(), YEAR_2026) == {"max_users": 0, "max_set_by": []}


def test_true_up_explanation() -> None:
    """6 users over × $348.00 (max users 16 − 10 seats paid for)."""
    state = usage(subscription(qsr_enabled=False), "2026-05-01", 16)
    line = true_up_line(state)
    assert line is not None
    assert line.explanation.rule is Rule.TRUE_UP
    assert line.explanation.formula == "6 users over × $348.00 (max users 16 − 10 seats paid for)"
    assert line.explanation.inputs["users_over"] == 6
    assert line.explanation.inputs["max_set_by"] == [
        {"observed_at": "2026-05-01T00:00:00+00:00", "users": 16}
    ]


def test_auto_renewal_explanation_says_where_its_seats_come_from() -> None:
    """13 seats × $348.00 (the larger of 10 seats paid for and 13 billable users)."""
    state = usage(subscription(), "2026-12-01T08:30", 13)
    (line,) = plan_auto_renewal(state).lines
    assert line.explanation.rule is Rule.RENEWAL
    assert line.explanation.formula == (
        "13 seats × $348.00 (the larger of 10 seats paid for and 13 billable users)"
    )
    assert line.explanation.inputs["seats_paid_for"] == 10
    assert line.explanation.inputs["latest_billable_users"] == 13
    assert line.explanation.inputs["latest_report_observed_at"] == "2026-12-01T08:30:00+00:00"
    (quiet,) = plan_auto_renewal(subscription()).lines
    assert quiet.explanation.formula == (
        "10 seats × $348.00 (the larger of 10 seats paid for and 0 billable users)"
    )
    assert quiet.explanation.inputs["latest_billable_users"] is None
    assert quiet.explanation.inputs["latest_report_observed_at"] is None


def test_manual_renewal_explanation_has_no_basis() -> None:
    """A renewal by hand states its seats; there is no larger-of to explain."""
    line = renewal_line(Tier.PREMIUM, 1, Money.of("40000", "JPY"), term("2027-01-01"))
    assert line.explanation.formula == "1 seat × ¥40,000"
    assert "seats_paid_for" not in line.explanation.inputs
    assert line.amount == Money.of(Decimal(40000), "JPY")
