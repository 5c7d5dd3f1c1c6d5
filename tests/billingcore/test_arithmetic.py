"""The arithmetic of CONTRACT §3, each case with its computation written out."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from billingcore.catalog import Tier
from billingcore.dates import Term
from billingcore.expiry import grace_end
from billingcore.money import Money
from billingcore.proration import prorate, seats_added_line, upgrade_lines
from billingcore.purchase import purchase_line
from billingcore.qsr import (
    invoice_date,
    notice_date,
    qsr_amount,
    qsr_line,
    qsr_quote,
    quarter,
    quarter_overage,
    reconciliation_dates,
)
from billingcore.renewal import (
    auto_renewal_seats,
    plan_auto_renewal,
    plan_renewal,
)
from billingcore.state import Channel, Deployment
from billingcore.trueup import true_up_line, true_up_users

from .factories import d, subscription, term, usage, usd

YEAR_2026 = Term(start=date(2026, 1, 1), end=date(2027, 1, 1))  # 365 days
LEAP = Term(start=date(2028, 2, 29), end=date(2029, 2, 28))  # 365 days, from Feb 29


def test_purchase_line() -> None:
    """10 × 348.00 = 3480.00."""
    line = purchase_line(Tier.PREMIUM, 10, usd("348.00"), YEAR_2026)
    assert line.amount == usd("3480.00")
    assert line.service_period == YEAR_2026
    assert line.quantity == 10


@pytest.mark.parametrize(
    ("added", "price", "effective", "expected"),
    [
        # 5 × 348.00 × 200 / 365 = 953.424… → 953.42
        (5, usd("348.00"), date(2026, 6, 15), usd("953.42")),
        # 1 × 348.00 × 365 / 365 = 348.00 (on the first day: the full year)
        (1, usd("348.00"), date(2026, 1, 1), usd("348.00")),
        # 1 × 348.00 × 1 / 365 = 0.9534… → 0.95 (the last day)
        (1, usd("348.00"), date(2026, 12, 31), usd("0.95")),
        # 3 × 1188.00 × 100 / 365 = 976.438… → 976.44
        (3, usd("1188.00"), date(2026, 9, 23), usd("976.44")),
        # 7 × 40000 JPY × 200 / 365 = 153424.65… → 153425 (no minor unit)
        (7, Money.of("40000", "JPY"), date(2026, 6, 15), Money.of("153425", "JPY")),
        # 2 × 105.125 KWD × 200 / 365 = 115.2054… → 115.205 (three decimals)
        (2, Money.of("105.125", "KWD"), date(2026, 6, 15), Money.of("115.205", "KWD")),
        # 1 × 36.50 × 73 / 365 = 7.30 exactly
        (1, usd("36.50"), date(2026, 10, 20), usd("7.30")),
        # 1 × 0.05 × 182 / 365 = 0.02493… → 0.02
        (1, usd("0.05"), date(2026, 7, 3), usd("0.02")),
    ],
)
def test_seats_added_are_prorated(
    added: int, price: Money, effective: date, expected: Money
) -> None:
    """added × unit_price × remaining / term_days, rounded once, half up."""
    line = seats_added_line(Tier.PREMIUM, added, price, YEAR_2026, effective)
    assert line.amount == expected
    assert line.service_period == Term(start=effective, end=YEAR_2026.end)


def test_half_cent_rounds_up() -> None:
    """1 × 0.01 × 73 / 146 = 0.005 → 0.01 (half up, not to even)."""
    short = Term(start=date(2026, 1, 1), end=date(2026, 5, 27))  # 146 days
    assert short.days == 146
    effective = date(2026, 3, 15)  # remaining 73
    assert seats_added_line(Tier.PREMIUM, 1, usd("0.01"), short, effective).amount == usd("0.01")


def test_leap_year_term_from_feb_29() -> None:
    """Term 2028-02-29..2029-02-28 has 365 days; 4 × 348.00 × 100 / 365 = 381.369… → 381.37."""
    line = seats_added_line(Tier.PREMIUM, 4, usd("348.00"), LEAP, date(2028, 11, 20))
    assert LEAP.remaining_days(date(2028, 11, 20)) == 100
    assert line.amount == usd("381.37")


def test_seats_added_outside_the_term_is_an_error() -> None:
    """The effective date lies in the term."""
    with pytest.raises(ValueError):
        seats_added_line(Tier.PREMIUM, 1, usd("348.00"), YEAR_2026, date(2027, 1, 1))


def test_prorate_refuses_remaining_beyond_the_term() -> None:
    """Remaining days are between 0 and the term days."""
    with pytest.raises(ValueError):
        prorate(Decimal(1), 366, 365)
    assert prorate(Decimal(365), 1, 365) == Decimal(1)


def test_upgrade_credit_and_charge() -> None:
    """10 seats, premium 348.00 → ultimate 1188.00 with 200 of 365 days left.

    credit −10 × 348.00 × 200 / 365 = −1906.849… → −1906.85
    charge  10 × 1188.00 × 200 / 365 = 6509.589… → 6509.59; net 4602.74
    """
    credit, charge = upgrade_lines(
        seats=10,
        old_tier=Tier.PREMIUM,
        old_price=usd("348.00"),
        new_tier=Tier.ULTIMATE,
        new_price=usd("1188.00"),
        term=YEAR_2026,
        effective_date=date(2026, 6, 15),
    )
    assert credit.amount == usd("-1906.85")
    assert charge.amount == usd("6509.59")
    assert credit.amount + charge.amount == usd("4602.74")


def test_reconciliation_dates_clamp_month_ends() -> None:
    """From Nov 30: Feb 28, May 30, Aug 30; from Feb 29 2028: May 29, Aug 29, Nov 29."""
    assert reconciliation_dates(date(2026, 11, 30)) == (
        date(2027, 2, 28),
        date(2027, 5, 30),
        date(2027, 8, 30),
    )
    assert reconciliation_dates(date(2028, 2, 29)) == (
        date(2028, 5, 29),
        date(2028, 8, 29),
        date(2028, 11, 29),
    )
    assert reconciliation_dates(date(2026, 8, 31)) == (
        date(2026, 11, 30),
        date(2027, 2, 28),
        date(2027, 5, 31),
    )


def test_quarters() -> None:
    """Quarter k runs from start + 3(k−1) months to start + 3k months."""
    assert quarter(YEAR_2026, 1) == Term(start=date(2026, 1, 1), end=date(2026, 4, 1))
    assert quarter(YEAR_2026, 4) == Term(start=date(2026, 10, 1), end=date(2027, 1, 1))
    with pytest.raises(ValueError):
        quarter(YEAR_2026, 5)


def test_notice_and_invoice_dates() -> None:
    """saas: notice on the date; self-managed: 6 days later; invoice 7 days after notice."""
    assert notice_date(date(2026, 4, 1), Deployment.SAAS) == date(2026, 4, 1)
    assert notice_date(date(2026, 4, 1), Deployment.SELF_MANAGED) == date(2026, 4, 7)
    assert invoice_date(date(2026, 4, 7)) == date(2026, 4, 14)


@pytest.mark.parametrize(
    ("overage", "price", "k", "expected"),
    [
        (5, usd("348.00"), 1, usd("1305.00")),  # 5 × 348.00 × 3 / 4 = 1305.00
        (5, usd("348.00"), 2, usd("870.00")),  # 5 × 348.00 × 2 / 4 = 870.00
        (5, usd("348.00"), 3, usd("435.00")),  # 5 × 348.00 × 1 / 4 = 435.00
        (5, usd("348.00"), 4, usd("0.00")),  # the fourth quarter is never charged
        (1, usd("0.05"), 2, usd("0.03")),  # 1 × 0.05 × 2 / 4 = 0.025 → 0.03 (half up)
        (3, Money.of("333", "JPY"), 3, Money.of("250", "JPY")),  # 3 × 333 / 4 = 249.75 → 250
        (1, Money.of("1.001", "KWD"), 1, Money.of("0.751", "KWD")),  # 0.75075 → 0.751
    ],
)
def test_qsr_amount(overage: int, price: Money, k: int, expected: Money) -> None:
    """overage × unit_price × (4 − k) / 4, rounded once."""
    assert qsr_amount(overage, price, k) == expected


def test_qsr_amount_refuses_quarter_zero() -> None:
    """Quarters are 1..4."""
    with pytest.raises(ValueError):
        qsr_amount(1, usd("1"), 0)


def test_quarter_overage_and_quote() -> None:
    """Max users 14 in quarter 1 with 10 seats: overage 4; 4 × 348 × 3 / 4 = 1044.00."""
    state = usage(subscription(), "2026-02-10", 12)
    state = usage(state, "2026-03-10", 11, max_users=14)
    state = usage(state, "2026-04-01", 30)  # quarter 2: not counted in quarter 1
    assert quarter_overage(state, 1) == 4
    quote = qsr_quote(state, 1)
    assert quote.overage == 4
    assert quote.amount == usd("1044.00")
    assert quote.invoice_date == date(2026, 4, 8)
    line = qsr_line(state, 1, 4)
    assert line.service_period == Term(start=date(2026, 4, 1), end=date(2027, 1, 1))
    with pytest.raises(ValueError):
        qsr_quote(state, 4)


def test_true_up_for_a_subscription_without_qsr() -> None:
    """Max users 16 with 10 seats: 6 × 348.00 = 2088.00; QSR-eligible ones get no true-up."""
    state = usage(subscription(qsr_enabled=False), "2026-05-01", 16)
    assert true_up_users(state) == 6
    line = true_up_line(state)
    assert line is not None and line.amount == usd("2088.00")
    assert true_up_line(replace(state, qsr_enabled=True)) is None
    assert true_up_line(subscription(qsr_enabled=False)) is None  # no usage, nothing owed


def test_auto_renewal_plan() -> None:
    """Seats max(10, latest 13) = 13: 13 × 348.00 = 4524.00; plus true-up 6 × 348.00 = 2088.00.

    Usage: max 16 in the term, latest 13 → true-up 16 − 10 = 6; total 6612.00.
    """
    state = subscription(channel=Channel.PARTNER)  # not QSR-eligible
    state = usage(state, "2026-05-01", 16)
    state = usage(state, "2026-12-01", 13)
    state = usage(state, "2027-01-01", 40)  # observed in the next term: does not count
    plan = plan_auto_renewal(state)
    assert plan.term == term("2027-01-01")
    assert plan.seats == 13
    assert [line.amount for line in plan.lines] == [usd("4524.00"), usd("2088.00")]
    assert plan.total == usd("6612.00")


def test_auto_renewal_seats_never_go_down() -> None:
    """max(seats paid for 10, latest 3) = 10; with no usage, 10."""
    assert auto_renewal_seats(usage(subscription(), "2026-12-01", 3)) == 10
    assert auto_renewal_seats(subscription()) == 10


def test_an_auto_renewal_states_the_unit_price_as_it_was_given() -> None:
    """348 and 348.00 are equal amounts: each renewal line keeps its own, however many plans
    were made before (a plan is made once per set of values)."""
    plain = subscription(unit_price=Money.of("348", "USD"))
    cents = subscription(unit_price=usd("348.00"))
    for state in (plain, cents, plain, cents):
        (line,) = plan_auto_renewal(state).lines
        assert line.unit_price.amount.as_tuple() == state.unit_price.amount.as_tuple()
        assert line.amount == usd("3480.00")


def test_manual_renewal_plan_can_lower_seats_and_tier() -> None:
    """8 ultimate seats → 6 premium: 6 × 348.00 = 2088.00, no true-up when asked for none."""
    state = subscription(tier=Tier.ULTIMATE, seats_paid_for=8, unit_price=usd("1188.00"))
    plan = plan_renewal(
        state,
        term=term("2027-01-01"),
        seats=6,
        tier=Tier.PREMIUM,
        unit_price=usd("348.00"),
        with_true_up=False,
    )
    assert plan.total == usd("2088.00")
    assert plan.true_up is None


@pytest.mark.parametrize(
    ("failed_on", "covers_from", "expected"),
    [
        ("2027-01-01", "2027-01-01", "2027-01-15"),  # 14 days after the failure
        ("2027-01-05", "2027-01-01", "2027-01-19"),
        ("2026-12-10", "2027-01-01", "2027-01-15"),  # paid in advance: from the term start
    ],
)
def test_grace_end(failed_on: str, covers_from: str, expected: str) -> None:
    """14 days after the later of the failure and the start of the unpaid term."""
    assert grace_end(d(failed_on), d(covers_from)) == d(expected)
