"""Subscription state: usage, max users, QSR and auto-renewal eligibility."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from billingcore.dates import Term
from billingcore.eligibility import (
    FIXABLE_BLOCKS,
    REASONS,
    auto_renew_eligibility,
    qsr_eligibility,
)
from billingcore.explanations import Explanation, Rule
from billingcore.invoices import InvoiceLine, InvoicePurpose, issue
from billingcore.payments import find_open_invoice
from billingcore.state import (
    Card,
    Channel,
    Customer,
    Deployment,
    OpenInvoice,
    Status,
    UsageReport,
    evolve,
)
from billingcore.usage import latest_billable_users, latest_report, max_users, with_usage

from .factories import applied, at, create, d, rejected, subscription, usage, usd


def report(when: str, users: int, max_users: int | None = None) -> UsageReport:
    return UsageReport(observed_at=at(when), billable_users=users, max_users=max_users)


def test_customer_recipients_are_unique_and_email_first() -> None:
    """The customer's email, then each other contact once."""
    customer = Customer(
        id="C", name="A", email="a@x.test", contacts=("b@x.test", "a@x.test", "b@x.test")
    )
    assert customer.recipients == ("a@x.test", "b@x.test")


def test_card_is_valid_through_the_last_day_of_its_month() -> None:
    """A 12/2026 card can be charged on 2026-12-31, not on 2027-01-01."""
    card = Card(brand="visa", last4="4242", exp_month=12, exp_year=2026)
    assert card.valid_through == date(2026, 12, 31)
    assert not card.expires_before(date(2026, 12, 31))
    assert card.expires_before(date(2027, 1, 1))


@pytest.mark.parametrize(("month", "last4"), [(0, "4242"), (13, "4242"), (1, "42"), (1, "abcd")])
def test_card_fields_are_checked(month: int, last4: str) -> None:
    """Months 1..12, four digits."""
    with pytest.raises(ValueError):
        Card(brand="visa", last4=last4, exp_month=month, exp_year=2030)


def test_usage_is_independent_of_arrival_order() -> None:
    """Reports arriving in any order, and repeated, give one sorted sequence."""
    reports = [report("2026-03-01", 5), report("2026-02-01", 9), report("2026-02-01", 9, 11)]
    forward = subscription()
    backward = subscription()
    for r in reports:
        forward = with_usage(forward, r)
    for r in reversed(reports * 2):
        backward = with_usage(backward, r)
    assert forward.usage == backward.usage
    assert len(forward.usage) == 3


def test_latest_billable_users() -> None:
    """The latest observation wins, whatever arrived last; None before any report."""
    state = subscription()
    assert latest_billable_users(state) is None
    state = with_usage(state, report("2026-03-01", 5))
    state = with_usage(state, report("2026-02-01", 9))
    assert latest_billable_users(state) == 5
    assert latest_billable_users(state, before=at("2026-03-01")) == 9


def test_latest_report_before_and_through() -> None:
    """``before`` excludes a report observed at that moment, ``through`` includes it."""
    state = subscription()
    for r in (report("2026-02-01", 9), report("2026-03-01", 5), report("2026-04-01", 7)):
        state = with_usage(state, r)
    assert latest_report(state, through=at("2026-03-01")) == report("2026-03-01", 5)
    assert latest_report(state, before=at("2026-03-01")) == report("2026-02-01", 9)
    assert latest_billable_users(state, through=at("2026-02-28T23:59")) == 9
    assert latest_billable_users(state, through=at("2026-01-31")) is None
    both = latest_report(state, before=at("2026-04-01"), through=at("2026-03-15"))
    assert both == report("2026-03-01", 5)
    assert latest_report(state, before=at("2026-03-01"), through=at("2026-04-01")) == report(
        "2026-02-01", 9
    )
    assert latest_report(state) == report("2026-04-01", 7)


def test_max_users_of_a_period_uses_max_users_when_given() -> None:
    """Highest of billable_users, or max_users where reported, among reports in the period."""
    state = subscription()
    for r in (report("2026-01-10", 4), report("2026-02-10", 3, 8), report("2026-04-01", 20)):
        state = with_usage(state, r)
    q1 = Term(start=date(2026, 1, 1), end=date(2026, 4, 1))
    assert max_users(state, q1) == 8
    assert max_users(state, Term(start=date(2025, 1, 1), end=date(2025, 2, 1))) == 0
    assert report("2026-01-01", 3).users == 3


def test_qsr_eligible_by_default() -> None:
    """Direct, saas, 12 months, QSR on: eligible."""
    assert qsr_eligibility(subscription()).eligible


def test_qsr_ineligibility_lists_every_reason() -> None:
    """One reason per failed criterion."""
    state = subscription(
        qsr_enabled=False,
        channel=Channel.PARTNER,
        purchase_order=True,
        term=Term(start=d("2026-01-01"), end=d("2026-07-01")),
        deployment=Deployment.SELF_MANAGED,
        cloud_licensing=False,
    )
    result = qsr_eligibility(state)
    assert not result.eligible
    assert result.reasons == (
        "qsr_disabled",
        "partner_channel",
        "purchase_order",
        "term_not_twelve_months",
        "no_cloud_licensing",
    )
    assert all(reason in REASONS for reason in result.reasons)


def test_saas_does_not_need_cloud_licensing() -> None:
    """cloud_licensing matters for self-managed only."""
    assert qsr_eligibility(subscription(cloud_licensing=False)).eligible
    assert auto_renew_eligibility(subscription(cloud_licensing=False)).eligible


def test_fixable_blocks_are_reasons() -> None:
    """The blocks a customer can lift are auto-renewal reasons with their explanations."""
    assert {"card_expires_before_renewal", "unpaid_qsr_invoice"} == FIXABLE_BLOCKS
    assert set(REASONS) >= FIXABLE_BLOCKS


def test_auto_renew_eligible_without_a_card() -> None:
    """No card on file is not a block."""
    assert auto_renew_eligibility(subscription(card=None)).eligible


def test_auto_renew_ineligibility_lists_every_reason() -> None:
    """Each criterion of CONTRACT §3 has its own reason."""
    qsr_invoice = OpenInvoice(
        key="S-1:qsr:2026-04-01",
        purpose=InvoicePurpose.QSR,
        total=usd("1.00"),
        covers_from=d("2026-04-01"),
    )
    state = subscription(
        auto_renew=False,
        status=Status.CANCELLED,
        channel=Channel.PARTNER,
        purchase_order=True,
        term=Term(start=d("2026-01-01"), end=d("2026-07-01")),
        deployment=Deployment.SELF_MANAGED,
        cloud_licensing=False,
        card=Card(brand="visa", last4="4242", exp_month=5, exp_year=2026),
        open_invoices=(qsr_invoice,),
    )
    assert auto_renew_eligibility(state).reasons == (
        "auto_renew_off",
        "cancelled",
        "partner_channel",
        "purchase_order",
        "term_not_twelve_months",
        "no_cloud_licensing",
        "card_expires_before_renewal",
        "unpaid_qsr_invoice",
    )
    assert "expired" in auto_renew_eligibility(replace(state, status=Status.EXPIRED)).reasons


def test_card_is_checked_against_the_renewal_date() -> None:
    """A 12/2026 card covers a renewal on 2026-12-31 but not the one on 2027-01-01."""
    state = subscription(card=Card(brand="visa", last4="4242", exp_month=12, exp_year=2026))
    assert auto_renew_eligibility(state).reasons == ("card_expires_before_renewal",)
    assert auto_renew_eligibility(state, at=d("2026-12-31")).eligible


def test_unpaid_purchase_invoice_does_not_block_auto_renewal() -> None:
    """Only an unpaid QSR invoice blocks; the state starts with its purchase invoice open."""
    state = subscription()
    assert state.open_invoices[0].purpose is InvoicePurpose.PURCHASE
    assert auto_renew_eligibility(state).eligible
    assert find_open_invoice(state, state.open_invoices[0].key) is not None
    assert find_open_invoice(state, "nope") is None


def test_audience_and_currency() -> None:
    """saas is addressed by its namespace, self-managed by its instance; each needs its own."""
    saas = subscription()
    assert (saas.deployment, saas.namespace_id, saas.instance_id) == (
        Deployment.SAAS,
        "ns-1",
        None,
    )
    sm_create = create(deployment=Deployment.SELF_MANAGED, namespace_id=None, instance_id="i-1")
    sm = applied(None, sm_create).state
    assert (sm.namespace_id, sm.instance_id) == (None, "i-1")
    assert rejected(None, create(instance_id="i-1", namespace_id=None)).code == (
        "audience_required"
    )
    assert rejected(None, create(deployment=Deployment.SELF_MANAGED)).code == "audience_required"
    assert sm.currency == "USD"


def test_open_invoice_of_an_invoice() -> None:
    """An open invoice keeps the invoice's key, purpose and total, and what it pays from."""
    line = InvoiceLine(
        description="x",
        quantity=1,
        unit_price=usd("1.00"),
        service_period=None,
        amount=usd("12.34"),
        explanation=Explanation(rule=Rule.PURCHASE, formula="1 seat × $1.00", inputs={}),
    )
    invoice = issue("S-1", InvoicePurpose.QSR, "2026-04-01", (line,), d("2026-04-08"))
    assert OpenInvoice.of(invoice, d("2026-04-01")) == OpenInvoice(
        key="S-1:qsr:2026-04-01",
        purpose=InvoicePurpose.QSR,
        total=usd("12.34"),
        covers_from=d("2026-04-01"),
    )


def test_usage_helper_from_factories() -> None:
    """The factory's usage() goes through apply."""
    assert latest_billable_users(usage(subscription(), "2026-02-01", 3)) == 3


def test_evolve_is_replace_and_refuses_unknown_fields() -> None:
    """``evolve`` gives what ``dataclasses.replace`` gives, and names a field that is not one."""
    state = subscription()
    assert evolve(state, seats_paid_for=12, auto_renew=False) == replace(
        state, seats_paid_for=12, auto_renew=False
    )
    assert evolve(state) == state and evolve(state) is not state
    with pytest.raises(TypeError, match="no field 'seats'"):
        evolve(state, seats=3)
