"""Properties that hold for any input Hypothesis can find."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billingcore.catalog import Tier
from billingcore.commands import (
    AddSeats,
    Cancel,
    ChangeAutoRenew,
    Command,
    RecordPaymentFailed,
    RecordPaymentSucceeded,
    Renew,
    ReportUsage,
    Upgrade,
)
from billingcore.currencies import minor_units
from billingcore.dates import Term, add_months, midnight
from billingcore.due import next_due, occasions
from billingcore.explanations import Explanation, Rule
from billingcore.invoices import InvoiceLine, InvoicePurpose, build_invoice
from billingcore.money import Money, round_line, sum_money
from billingcore.outcomes import Applied
from billingcore.proration import seats_added_line, upgrade_lines
from billingcore.state import Card, Channel, Deployment, Partner, Status, Subscription
from billingcore.timeline import apply
from billingcore.trueup import true_up_line

from .factories import SUB, invoices, run_until, subscription

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

currencies = st.sampled_from(["USD", "EUR", "JPY", "KWD"])
days = st.dates(min_value=date(2024, 1, 1), max_value=date(2032, 12, 31))


@st.composite
def prices(draw: st.DrawFn, currency: str) -> Money:
    cents = draw(st.integers(min_value=1, max_value=500_000))
    return Money(amount=Decimal(cents).scaleb(-minor_units(currency)), currency=currency)


@st.composite
def terms(draw: st.DrawFn) -> Term:
    start = draw(days)
    months = draw(st.sampled_from([1, 6, 12, 12, 12, 24]))
    return Term(start=start, end=add_months(start, months))


@given(data=st.data(), currency=currencies)
@PROPERTY
def test_an_invoice_total_is_the_sum_of_its_lines(data: st.DataObject, currency: str) -> None:
    """Whatever the lines, the built invoice's total is their sum, in one currency."""
    amounts = data.draw(st.lists(st.integers(-(10**9), 10**9), min_size=1, max_size=8))
    price = data.draw(prices(currency))
    lines = tuple(
        InvoiceLine(
            description="line",
            quantity=1,
            unit_price=price,
            service_period=None,
            amount=round_line(Decimal(a) / 1000, currency),
            explanation=Explanation(rule=Rule.PURCHASE, formula="1 seat", inputs={}),
        )
        for a in amounts
    )
    invoice = build_invoice(
        key="k",
        subscription_id=SUB,
        purpose=InvoicePurpose.UPGRADE,
        lines=lines,
        issued_on=date(2026, 1, 1),
    )
    assert invoice.total == sum_money([line.amount for line in lines], currency)


@given(data=st.data(), currency=currencies, term=terms(), seats=st.integers(1, 5000))
@PROPERTY
def test_a_prorated_amount_never_exceeds_the_full_term_price(
    data: st.DataObject, currency: str, term: Term, seats: int
) -> None:
    """seats × price × remaining / term_days ≤ seats × price, for seats added and upgrades."""
    price = data.draw(prices(currency))
    effective = term.start + timedelta(days=data.draw(st.integers(0, term.days - 1)))
    full = round_line(seats * price.amount, currency)
    added = seats_added_line(Tier.PREMIUM, seats, price, term, effective)
    assert Money.zero(currency) <= added.amount <= full
    credit, charge = upgrade_lines(
        seats=seats,
        old_tier=Tier.PREMIUM,
        old_price=price,
        new_tier=Tier.ULTIMATE,
        new_price=price,
        term=term,
        effective_date=effective,
    )
    assert charge.amount <= full
    assert credit.amount + charge.amount == Money.zero(currency)


usage_points = st.lists(st.tuples(st.integers(0, 364), st.integers(0, 60)), min_size=1, max_size=10)


def with_reports(state: Subscription, points: list[tuple[int, int]]) -> Subscription:
    for offset, users in points:
        observed = midnight(state.term.start) + timedelta(days=offset, hours=12)
        cmd = ReportUsage(
            subscription_id=SUB,
            key=f"u{offset}-{users}",
            at=observed,
            observed_at=observed,
            billable_users=users,
        )
        result = apply(state, cmd, observed)
        assert isinstance(result, Applied)
        state = result.state
    return state


@given(
    points=usage_points,
    start=days,
    seats=st.integers(1, 40),
    cents=st.integers(1, 200_000),
    deployment=st.sampled_from(list(Deployment)),
)
@PROPERTY
def test_qsr_never_charges_more_than_the_annual_true_up(
    points: list[tuple[int, int]], start: date, seats: int, cents: int, deployment: Deployment
) -> None:
    """For the same usage, the QSR invoices of a term add up to no more than its true-up."""
    term = Term(start=start, end=add_months(start, 12))
    price = Money(amount=Decimal(cents).scaleb(-2), currency="USD")
    base = subscription(
        term=term,
        seats_paid_for=seats,
        unit_price=price,
        deployment=deployment,
        instance_id="i-1",
        open_invoices=(),
        auto_renew=False,
    )
    qsr_state = with_reports(base, points)
    _, outcomes, _ = run_until(qsr_state, midnight(term.start), midnight(term.end))
    qsr_total = sum_money([invoice.total for invoice in invoices(outcomes)], "USD")
    true_up = true_up_line(with_reports(replace(base, qsr_enabled=False), points))
    assert qsr_total <= (Money.zero("USD") if true_up is None else true_up.amount)


@st.composite
def states(draw: st.DrawFn) -> Subscription:
    term = draw(terms())
    deployment = draw(st.sampled_from(list(Deployment)))
    channel = draw(st.sampled_from(list(Channel)))
    status = draw(st.sampled_from(list(Status)))
    card = draw(
        st.none()
        | st.builds(
            Card,
            brand=st.just("visa"),
            last4=st.just("4242"),
            exp_month=st.integers(1, 12),
            exp_year=st.integers(2024, 2034),
        )
    )
    state = subscription(
        term=term,
        deployment=deployment,
        instance_id="i-1",
        channel=channel,
        partner=Partner(name="P", email="p@p.test") if channel is Channel.PARTNER else None,
        status=status,
        grace_ends=term.start + timedelta(days=14) if status is Status.GRACE else None,
        auto_renew=draw(st.booleans()),
        qsr_enabled=draw(st.booleans()),
        cloud_licensing=draw(st.booleans()),
        card=card,
        seats_paid_for=draw(st.integers(1, 30)),
        open_invoices=(),
    )
    points = draw(st.lists(st.tuples(st.integers(0, 300), st.integers(0, 60)), max_size=5))
    return with_reports(state, points)


moments = st.datetimes(
    min_value=datetime(2023, 6, 1), max_value=datetime(2036, 1, 1), timezones=st.just(UTC)
)


@given(state=states(), bounds=st.lists(moments, min_size=3, max_size=3))
@PROPERTY
def test_occasions_of_adjacent_ranges_are_those_of_their_union(
    state: Subscription, bounds: list[datetime]
) -> None:
    """occasions([a, b)) + occasions([b, c)) == occasions([a, c)), and next_due agrees."""
    a, b, c = sorted(bounds)
    assert occasions(state, a, b) + occasions(state, b, c) == occasions(state, a, c)
    upcoming = occasions(state, a + timedelta(microseconds=1), datetime(2040, 1, 1, tzinfo=UTC))
    assert next_due(state, a) == (upcoming[0].due if upcoming else None)


def commands(state: Subscription) -> st.SearchStrategy[Command]:
    when = midnight(state.term.start) + timedelta(days=40)
    inside = state.term.start + timedelta(days=20)
    common = {"subscription_id": st.just(SUB), "key": st.just("evt-x"), "at": st.just(when)}
    key = state.open_invoices[0].key if state.open_invoices else "S-1:none"
    return st.one_of(
        st.builds(AddSeats, seats=st.integers(1, 5), effective_date=st.just(inside), **common),
        st.builds(Upgrade, tier=st.just(Tier.ULTIMATE), effective_date=st.just(inside), **common),
        st.builds(
            Renew,
            term_start=st.just(state.term.start),
            term_end=st.just(state.term.end),
            seats=st.integers(1, 80),
            **common,
        ),
        st.builds(ChangeAutoRenew, auto_renew=st.booleans(), **common),
        st.builds(Cancel, **common),
        st.builds(
            ReportUsage, observed_at=st.just(when), billable_users=st.integers(0, 60), **common
        ),
        st.builds(
            RecordPaymentSucceeded,
            invoice_number=st.just("INV-000001"),
            invoice_key=st.just(key),
            amount=st.just(state.unit_price),
            **common,
        ),
        st.builds(
            RecordPaymentFailed,
            invoice_number=st.just("INV-000001"),
            invoice_key=st.just(key),
            reason=st.just("x"),
            **common,
        ),
        st.sampled_from(occasions(state, midnight(state.term.start), midnight(state.term.end)))
        if occasions(state, midnight(state.term.start), midnight(state.term.end))
        else st.builds(Cancel, **common),
    )


@given(data=st.data(), state=states())
@PROPERTY
def test_applying_the_same_command_twice_changes_nothing(
    data: st.DataObject, state: Subscription
) -> None:
    """The second application returns the same state and no outcomes."""
    state = replace(state, open_invoices=subscription().open_invoices)
    command = data.draw(commands(state))
    now = command.at
    first = apply(state, command, now)
    if not isinstance(first, Applied):
        assert apply(state, command, now) == first  # a refusal is refused again, alike
        return
    second = apply(first.state, command, now)
    assert isinstance(second, Applied)
    assert second.state == first.state
    assert second.outcomes == ()
