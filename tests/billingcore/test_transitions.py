"""apply() for events: state changes, invoices, notices and refusals (CONTRACT §2–§4)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any, TypeVar

import pytest

from billingcore.catalog import Tier
from billingcore.causes import Cause
from billingcore.commands import (
    AddSeats,
    Cancel,
    ChangeAutoRenew,
    RecordPaymentFailed,
    RecordPaymentSucceeded,
    Renew,
    ReportUsage,
    UpdateCustomer,
    UpdatePaymentMethod,
    Upgrade,
)
from billingcore.due import occasions
from billingcore.invoices import InvoicePurpose
from billingcore.money import Money
from billingcore.notices import (
    AutoRenewalFailed,
    CancellationConfirmation,
    NoticeKind,
    PaymentReceipt,
    RenewalConfirmation,
    SeatsAdded,
    SubscriptionConfirmation,
    UpgradeConfirmation,
)
from billingcore.outcomes import InvoicePaid, InvoicePaymentFailed
from billingcore.state import (
    Card,
    Channel,
    Customer,
    Deployment,
    Partner,
    ScheduledRenewal,
    Status,
    Subscription,
)
from billingcore.timeline import apply

from .factories import (
    CUSTOMER,
    SUB,
    applied,
    at,
    create,
    d,
    invoices,
    notices,
    only,
    rejected,
    subscription,
    term,
    usage,
    usd,
)

CARD = Card(brand="visa", last4="4242", exp_month=12, exp_year=2030)

C = TypeVar("C")


def event(cls: type[C], key: str = "evt-1", when: str = "2026-06-15", **fields: Any) -> C:
    build: Any = cls  # each command class takes these three fields and its own
    command: C = build(subscription_id=SUB, key=key, at=at(when), **fields)
    return command


def customer_event(cls: type[C], key: str = "evt-1", when: str = "2026-06-15", **fields: Any) -> C:
    build: Any = cls  # each customer command takes these three fields and its own
    command: C = build(customer_id=CUSTOMER, key=key, at=at(when), **fields)
    return command


def issued_causes(outcomes: tuple[Any, ...]) -> set[Cause]:
    return {o.cause for o in outcomes}


# ---------------------------------------------------------------- create


def test_create_issues_the_purchase_invoice_and_confirmation() -> None:
    """10 × 348.00 = 3480.00 on one line; subscription_confirmation states tier, seats, term."""
    result = applied(None, create())
    (invoice,) = invoices(result.outcomes)
    assert invoice.key == "S-1:purchase:2026-01-01"
    assert invoice.total == usd("3480.00")
    assert invoice.purpose is InvoicePurpose.PURCHASE
    confirmation = only(result.outcomes, SubscriptionConfirmation)
    assert confirmation.kind is NoticeKind.SUBSCRIPTION_CONFIRMATION
    assert confirmation.key == "S-1:subscription_confirmation:2026-01-01"
    assert confirmation.seats == 10
    assert confirmation.tier is Tier.PREMIUM
    assert confirmation.term == term()
    assert confirmation.unit_price == usd("348.00")
    assert confirmation.invoice_total == usd("3480.00")
    assert confirmation.invoice_key == invoice.key
    assert issued_causes(result.outcomes) == {Cause.event("evt-create")}
    assert result.state.status is Status.ACTIVE
    assert result.state.applied_keys == frozenset({"evt-create"})


def test_create_in_jpy_and_kwd_with_a_price() -> None:
    """3 × 40000 JPY = 120000; 3 × 105.125 KWD = 315.375."""
    jpy = applied(None, create(seats=3, currency="JPY", unit_price=Money.of("40000", "JPY")))
    assert invoices(jpy.outcomes)[0].total == Money.of("120000", "JPY")
    kwd = applied(None, create(seats=3, currency="KWD", unit_price=Money.of("105.125", "KWD")))
    assert invoices(kwd.outcomes)[0].total == Money.of("315.375", "KWD")


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"seats": 0}, "invalid_seats"),
        ({"channel": Channel.PARTNER}, "partner_required"),
        ({"namespace_id": None}, "audience_required"),
        ({"deployment": Deployment.SELF_MANAGED}, "audience_required"),
        ({"currency": "XYZ"}, "unknown_currency"),
        ({"currency": "EUR"}, "no_list_price"),
        ({"unit_price": Money.of("300", "EUR")}, "invalid_price"),
        ({"unit_price": usd("-1.00")}, "invalid_price"),
    ],
)
def test_create_refusals(overrides: dict[str, Any], code: str) -> None:
    """Each invalid creation is refused with its code."""
    assert rejected(None, create(**overrides)).code == code


def test_create_for_an_existing_subscription_is_refused() -> None:
    """A second CreateSubscription with another key is refused; the same key changes nothing."""
    state = subscription()
    assert rejected(state, create(key="evt-other")).code == "exists"
    again = applied(state, create())
    assert again.state == state and again.outcomes == ()


def test_unknown_and_mismatched_subscriptions_are_refused() -> None:
    """Commands other than create need the subscription's state."""
    cmd = event(ChangeAutoRenew, auto_renew=False)
    assert rejected(None, cmd).code == "unknown_subscription"
    other = replace(subscription(), id="S-2")
    assert rejected(other, cmd).code == "wrong_subscription"


@pytest.mark.parametrize(
    "cmd",
    [
        UpdatePaymentMethod(customer_id="C-2", key="evt-card", at=at("2026-06-15"), card=CARD),
        UpdateCustomer(customer_id="C-2", key="evt-cust", at=at("2026-06-15"), name="Other"),
    ],
)
def test_customer_commands_for_another_customer_are_refused(
    cmd: UpdatePaymentMethod | UpdateCustomer,
) -> None:
    """A customer command applied to a subscription of another customer: wrong_customer."""
    state = subscription()
    refusal = rejected(state, cmd)
    assert refusal.code == "wrong_customer"
    assert "C-2" in refusal.reason and CUSTOMER in refusal.reason
    # The subscription's own customer is accepted, whatever subscription id it holds.
    assert applied(replace(state, id="S-9"), replace(cmd, customer_id=CUSTOMER))


def test_the_same_command_twice_changes_nothing() -> None:
    """Applying a key already applied returns the state unchanged and no outcomes."""
    state = subscription()
    cmd = event(AddSeats, seats=5, effective_date=d("2026-06-15"))
    first = applied(state, cmd)
    second = applied(first.state, cmd)
    assert second.state is first.state
    assert second.outcomes == ()


# ---------------------------------------------------------------- seats added


def test_seats_added() -> None:
    """5 × 348.00 × 200 / 365 = 953.42; 10 + 5 = 15 seats."""
    result = applied(subscription(), event(AddSeats, seats=5, effective_date=d("2026-06-15")))
    (invoice,) = invoices(result.outcomes)
    assert invoice.key == "S-1:seats_added:evt-1"
    assert invoice.total == usd("953.42")
    assert result.state.seats_paid_for == 15
    added = only(result.outcomes, SeatsAdded)
    assert added.kind is NoticeKind.SEATS_ADDED
    assert added.key == "S-1:seats_added:evt-1"
    assert (added.seats_added, added.new_seats) == (5, 15)
    assert added.invoice_total == usd("953.42")
    assert added.invoice_key == invoice.key
    assert (added.effective_date, added.remaining_days) == (d("2026-06-15"), 200)
    assert added.unit_price == usd("348.00")
    assert issued_causes(result.outcomes) == {Cause.event("evt-1")}


@pytest.mark.parametrize(
    ("overrides", "seats", "effective", "code"),
    [
        ({"status": Status.CANCELLED}, 1, "2026-06-15", "not_active"),
        ({"status": Status.EXPIRED}, 1, "2026-06-15", "not_active"),
        ({"channel": Channel.PARTNER}, 1, "2026-06-15", "partner_channel"),
        ({}, 0, "2026-06-15", "invalid_seats"),
        ({}, 1, "2027-01-01", "outside_term"),
        ({}, 1, "2025-12-31", "outside_term"),
    ],
)
def test_seats_added_refusals(
    overrides: dict[str, Any], seats: int, effective: str, code: str
) -> None:
    """Cancelled, expired, partner subscriptions and dates outside the term are refused."""
    state = subscription(**overrides)
    cmd = event(AddSeats, seats=seats, effective_date=d(effective))
    assert rejected(state, cmd).code == code


def test_seats_added_during_grace_are_accepted() -> None:
    """A subscription in grace still runs; seats can be added."""
    state = subscription(status=Status.GRACE, grace_ends=d("2026-07-01"))
    assert applied(state, event(AddSeats, seats=1, effective_date=d("2026-06-15")))


# ---------------------------------------------------------------- upgrade


def test_upgrade_credit_and_charge() -> None:
    """−10 × 348 × 200/365 = −1906.85 and 10 × 1188 × 200/365 = 6509.59: net 4602.74."""
    cmd = event(Upgrade, tier=Tier.ULTIMATE, effective_date=d("2026-06-15"))
    result = applied(subscription(), cmd)
    (invoice,) = invoices(result.outcomes)
    assert [line.amount for line in invoice.lines] == [usd("-1906.85"), usd("6509.59")]
    assert invoice.total == usd("4602.74")
    assert result.state.tier is Tier.ULTIMATE
    assert result.state.unit_price == usd("1188.00")
    upgraded = only(result.outcomes, UpgradeConfirmation)
    assert upgraded.kind is NoticeKind.UPGRADE_CONFIRMATION
    assert upgraded.tier is Tier.ULTIMATE
    assert upgraded.previous_tier is Tier.PREMIUM
    assert upgraded.invoice_total == usd("4602.74")
    assert (upgraded.credit, upgraded.charge) == (usd("-1906.85"), usd("6509.59"))
    assert (upgraded.seats, upgraded.remaining_days) == (10, 200)
    assert upgraded.unit_price == usd("1188.00")
    assert issued_causes(result.outcomes) == {Cause.event("evt-1")}


def test_upgrade_with_a_given_price() -> None:
    """−10 × 348 × 200/365 = −1906.85; 10 × 1000 × 200/365 = 5479.452… → 5479.45: 3572.60."""
    cmd = event(
        Upgrade, tier=Tier.ULTIMATE, effective_date=d("2026-06-15"), unit_price=Decimal("1000.00")
    )
    result = applied(subscription(), cmd)
    assert invoices(result.outcomes)[0].total == usd("3572.60")
    assert result.state.unit_price == usd("1000.00")


def test_upgrade_price_is_read_in_the_subscription_currency() -> None:
    """A bare 90000 for a JPY subscription is 90000 JPY: 3 × (90000 − 40000) × 200/365."""
    state = applied(None, create(seats=3, currency="JPY", unit_price=Money.of("40000", "JPY")))
    cmd = event(
        Upgrade, tier=Tier.ULTIMATE, effective_date=d("2026-06-15"), unit_price=Decimal("90000")
    )
    result = applied(state.state, cmd)
    (invoice,) = invoices(result.outcomes)
    # credit 3 × 40000 × 200/365 = 65753.42… → 65753; charge 3 × 90000 × 200/365 = 147945.2…
    assert [line.amount for line in invoice.lines] == [
        Money.of("-65753", "JPY"),
        Money.of("147945", "JPY"),
    ]
    assert result.state.unit_price == Money.of("90000", "JPY")


@pytest.mark.parametrize(
    ("overrides", "tier", "effective", "price", "code"),
    [
        ({}, Tier.PREMIUM, "2026-06-15", None, "not_an_upgrade"),
        ({"tier": Tier.ULTIMATE}, Tier.PREMIUM, "2026-06-15", None, "not_an_upgrade"),
        ({"status": Status.EXPIRED}, Tier.ULTIMATE, "2026-06-15", None, "not_active"),
        ({}, Tier.ULTIMATE, "2027-02-01", None, "outside_term"),
        (
            {"unit_price": Money.of("300", "EUR")},
            Tier.ULTIMATE,
            "2026-06-15",
            None,
            "no_list_price",
        ),
        ({}, Tier.ULTIMATE, "2026-06-15", Decimal("1000.001"), "invalid_price"),
        ({}, Tier.ULTIMATE, "2026-06-15", Decimal("-1"), "invalid_price"),
        (
            {"unit_price": Money.of("40000", "JPY")},
            Tier.ULTIMATE,
            "2026-06-15",
            Decimal("90000.5"),
            "invalid_price",
        ),
    ],
)
def test_upgrade_refusals(
    overrides: dict[str, Any], tier: Tier, effective: str, price: Decimal | None, code: str
) -> None:
    """Same or lower tier, expired, outside the term, or no usable price: refused."""
    cmd = event(Upgrade, tier=tier, effective_date=d(effective), unit_price=price)
    assert rejected(subscription(**overrides), cmd).code == code


# ---------------------------------------------------------------- renew


def renew(when: str = "2026-12-01", **fields: Any) -> Renew:
    values: dict[str, Any] = {
        "term_start": d("2027-01-01"),
        "term_end": d("2028-01-01"),
        "seats": 10,
    }
    values.update(fields)
    return event(Renew, key="evt-renew", when=when, **values)


def test_renewal_ahead_of_term_end_is_scheduled() -> None:
    """Renewed on 2026-12-01 for 2027: invoiced now (12 × 348 = 4176.00), effective at term end."""
    state = subscription()
    result = applied(state, renew(seats=12))
    assert result.state.term == state.term
    assert result.state.renewal == ScheduledRenewal(
        term=term("2027-01-01"), seats=12, tier=Tier.PREMIUM, unit_price=usd("348.00")
    )
    (invoice,) = invoices(result.outcomes)
    assert invoice.key == "S-1:renewal:2027-01-01:evt-renew"
    assert invoice.total == usd("4176.00")
    confirmation = only(result.outcomes, RenewalConfirmation)
    assert confirmation.kind is NoticeKind.RENEWAL_CONFIRMATION
    assert confirmation.term == term("2027-01-01")
    assert confirmation.seats == 12
    assert confirmation.seats_amount == usd("4176.00")
    assert confirmation.true_up_amount is None
    assert confirmation.true_up_users == 0
    assert confirmation.automatic is False
    assert issued_causes(result.outcomes) == {Cause.event("evt-renew")}


def test_renewal_bills_the_true_up_without_qsr() -> None:
    """Max users 16 over 10 seats: 12 × 348 = 4176.00 plus true-up 6 × 348 = 2088.00 = 6264.00."""
    state = usage(subscription(qsr_enabled=False), "2026-05-01", 16)
    state = usage(state, "2026-11-01", 12)
    result = applied(state, renew(seats=12))
    (invoice,) = invoices(result.outcomes)
    assert [line.amount for line in invoice.lines] == [usd("4176.00"), usd("2088.00")]
    assert invoice.total == usd("6264.00")  # 12 × 348 = 4176.00; + 2088.00
    confirmation = only(result.outcomes, RenewalConfirmation)
    assert confirmation.true_up_users == 6
    assert confirmation.true_up_amount == usd("2088.00")
    assert confirmation.seats_amount == usd("4176.00")


def test_renewal_can_lower_seats_and_tier_with_list_price() -> None:
    """Ultimate 20 seats renewed as premium 8: 8 × 348.00 = 2784.00."""
    state = subscription(tier=Tier.ULTIMATE, unit_price=usd("1188.00"), seats_paid_for=20)
    state = usage(state, "2026-11-01", 8)
    result = applied(state, renew(seats=8, tier=Tier.PREMIUM))
    assert invoices(result.outcomes)[0].total == usd("2784.00")


def test_renewal_keeps_a_discounted_price_of_the_same_tier() -> None:
    """No tier or price given: the current effective price 300.00 stays: 10 × 300 = 3000.00."""
    state = subscription(unit_price=usd("300.00"))
    assert invoices(applied(state, renew()).outcomes)[0].total == usd("3000.00")
    priced = renew(unit_price=Decimal("250.00"))
    assert invoices(applied(state, priced).outcomes)[0].total == usd("2500.00")


@pytest.mark.parametrize(
    ("overrides", "fields", "code"),
    [
        ({}, {"term_end": d("2027-01-01")}, "invalid_term"),
        ({}, {"seats": 0}, "seats_below_usage"),
        ({}, {"term_start": d("2025-06-01"), "term_end": d("2026-06-01")}, "before_current_term"),
        (
            {},
            {"term_start": d("2027-02-01"), "term_end": d("2028-02-01")},
            "renewal_start_mismatch",
        ),
        ({"unit_price": Money.of("1", "EUR")}, {"tier": Tier.ULTIMATE}, "no_list_price"),
        ({}, {"unit_price": Decimal("250.005")}, "invalid_price"),
        (
            {"unit_price": Money.of("1.000", "KWD")},
            {"unit_price": Decimal("1.0005")},
            "invalid_price",
        ),
    ],
)
def test_renewal_refusals(overrides: dict[str, Any], fields: dict[str, Any], code: str) -> None:
    """Empty terms, too few seats, odd starts, unpriced currencies, too fine prices: refused."""
    assert rejected(subscription(**overrides), renew(**fields)).code == code


def test_renewal_below_the_latest_billable_users_is_refused() -> None:
    """Latest billable users 11: renewing 10 seats is refused, 11 is accepted."""
    state = usage(subscription(), "2026-11-01", 11)
    assert rejected(state, renew(seats=10)).code == "seats_below_usage"
    assert applied(state, renew(seats=11))


def test_a_second_renewal_while_one_is_scheduled_is_refused() -> None:
    """One scheduled renewal at a time."""
    state = applied(subscription(), renew()).state
    assert rejected(state, replace(renew(), key="evt-again")).code == "already_renewed"


def test_renewal_after_expiry_takes_effect_at_once() -> None:
    """Expired on 2027-01-01, renewed on 2027-02-01 for [2027-02-01, 2028-02-01): active again."""
    state = usage(subscription(status=Status.EXPIRED, expired_on=d("2027-01-01")), "2026-03-01", 4)
    cmd = renew(when="2027-02-01", term_start=d("2027-02-01"), term_end=d("2028-02-01"))
    result = applied(state, cmd)
    assert result.state.status is Status.ACTIVE
    assert result.state.term == term("2027-02-01")
    assert result.state.usage == ()  # usage starts again with the new term
    assert result.state.expired_on is None
    assert result.state.applied_keys == frozenset({"evt-renew"})


def test_manual_renewal_supersedes_an_unpaid_auto_renewal() -> None:
    """In grace after a failed auto-renewal of 2027, a manual renewal of 2027 replaces it."""
    state = auto_renewed_in_grace()
    cmd = renew(when="2027-01-05", term_start=d("2027-01-01"), term_end=d("2028-01-01"), seats=10)
    result = applied(state, cmd)
    assert result.state.status is Status.ACTIVE
    assert result.state.grace_ends is None
    keys = [i.key for i in result.state.open_invoices]
    assert keys == ["S-1:purchase:2026-01-01", "S-1:renewal:2027-01-01:evt-renew"]
    # Same term start as the current term: its true-up was already billed by the auto-renewal.
    assert len(invoices(result.outcomes)[0].lines) == 1


def auto_renewed_in_grace() -> Subscription:
    """Auto-renewed on 2027-01-01, payment failed on 2027-01-02: grace until 2027-01-16."""
    state = subscription()
    (term_end,) = occasions(state, at("2027-01-01"), at("2027-01-02"))
    state = applied(state, term_end).state
    failed = event(
        RecordPaymentFailed,
        key="evt-fail",
        when="2027-01-02",
        invoice_number="INV-000002",
        invoice_key="S-1:renewal:2027-01-01",
        reason="card_declined",
    )
    return applied(state, failed).state


# ---------------------------------------------------------------- auto-renew flag, cancel


def test_change_auto_renew() -> None:
    """The flag changes; no notice."""
    result = applied(subscription(), event(ChangeAutoRenew, auto_renew=False))
    assert result.state.auto_renew is False
    assert result.outcomes == ()
    cancelled = subscription(status=Status.CANCELLED)
    assert rejected(cancelled, event(ChangeAutoRenew, auto_renew=True)).code == "not_active"


def test_cancel_runs_to_term_end() -> None:
    """Cancelled: status cancelled, no auto-renewal, confirmation states the end date."""
    result = applied(subscription(), event(Cancel, reason="too expensive"))
    assert result.state.status is Status.CANCELLED
    assert result.state.auto_renew is False
    cancelled = only(result.outcomes, CancellationConfirmation)
    assert cancelled.kind is NoticeKind.CANCELLATION_CONFIRMATION
    assert cancelled.ends_on == d("2027-01-01")
    assert (cancelled.tier, cancelled.reason) == (Tier.PREMIUM, "too expensive")
    assert cancelled.key == "S-1:cancellation_confirmation:2027-01-01"
    assert cancelled.cause == Cause.event("evt-1")


def test_cancel_refusals() -> None:
    """Only an active subscription without a scheduled renewal can be cancelled."""
    assert rejected(subscription(status=Status.EXPIRED), event(Cancel)).code == "not_active"
    renewed = applied(subscription(), renew()).state
    assert rejected(renewed, event(Cancel)).code == "already_renewed"


# ---------------------------------------------------------------- usage


def report(users: int, observed: str = "2026-02-01", max_users: int | None = None) -> ReportUsage:
    return event(
        ReportUsage,
        key=f"u-{users}-{observed}",
        observed_at=at(observed),
        billable_users=users,
        max_users=max_users,
    )


def test_usage_is_recorded() -> None:
    """A report is stored; no outcomes."""
    result = applied(subscription(), report(7))
    assert [r.billable_users for r in result.state.usage] == [7]
    assert result.outcomes == ()


@pytest.mark.parametrize(
    ("cmd", "code"),
    [
        (report(-1), "invalid_usage"),
        (report(5, max_users=4), "invalid_usage"),
        (report(5, observed="2025-12-31T23:59"), "usage_before_term"),
    ],
)
def test_usage_refusals(cmd: ReportUsage, code: str) -> None:
    """Negative counts, max_users below billable_users, and reports of a past term."""
    assert rejected(subscription(), cmd).code == code


# ---------------------------------------------------------------- payments


def pay(invoice_key: str | None, amount: Money, when: str = "2026-01-02") -> RecordPaymentSucceeded:
    return event(
        RecordPaymentSucceeded,
        key="evt-pay",
        when=when,
        invoice_number="INV-000001",
        invoice_key=invoice_key,
        amount=amount,
    )


def test_payment_closes_the_invoice_and_sends_a_receipt() -> None:
    """The purchase invoice is paid: no longer open, InvoicePaid out with its event, and a
    receipt of the amount for the purchase of the term."""
    result = applied(subscription(), pay("S-1:purchase:2026-01-01", usd("3480.00")))
    assert result.state.open_invoices == ()
    assert result.outcomes == (
        InvoicePaid(
            invoice_key="S-1:purchase:2026-01-01",
            amount=usd("3480.00"),
            cause=Cause.event("evt-pay"),
        ),
        PaymentReceipt(
            key="S-1:payment_receipt:S-1:purchase:2026-01-01",
            cause=Cause.event("evt-pay"),
            invoice_key="S-1:purchase:2026-01-01",
            invoice_total=usd("3480.00"),
            amount_paid=usd("3480.00"),
            paid_on=d("2026-01-02"),
            purpose=InvoicePurpose.PURCHASE,
            period=term("2026-01-01"),
        ),
    )


def test_a_receipt_for_a_renewal_paid_ahead_names_the_next_term() -> None:
    """A manual renewal invoiced in December and paid before the term ends pays for 2027."""
    scheduled = applied(subscription(), renew(seats=12)).state
    key = "S-1:renewal:2027-01-01:evt-renew"
    receipt = only(
        applied(scheduled, pay(key, usd("4176.00"), when="2026-12-05")).outcomes, PaymentReceipt
    )
    assert receipt.purpose is InvoicePurpose.RENEWAL
    assert receipt.period == term("2027-01-01")
    assert receipt.paid_on == d("2026-12-05")


def test_a_receipt_names_no_period_when_no_term_holds_the_invoices_first_day() -> None:
    """An invoice for a day outside the current term and with no renewal scheduled (a state
    only a hand-made row could hold) is receipted without a period."""
    state = subscription()
    odd = replace(state.open_invoices[0], key="S-1:odd", covers_from=d("2030-01-01"))
    state = replace(state, open_invoices=(odd,))
    receipt = only(applied(state, pay("S-1:odd", usd("3480.00"))).outcomes, PaymentReceipt)
    assert receipt.period is None


def test_payment_refusals() -> None:
    """Another currency, an invoice that is not open, or a number naming none: refused."""
    state = subscription()
    assert rejected(state, pay("S-1:purchase:2026-01-01", Money.of("1", "EUR"))).code == (
        "currency_mismatch"
    )
    assert rejected(state, pay("S-1:nope", usd("1.00"))).code == "invoice_not_open"
    unresolved = rejected(state, pay(None, usd("1.00")))
    assert unresolved.code == "invoice_not_open"
    assert "INV-000001" in unresolved.reason  # the refusal names the number it was given


def test_renewal_paid_in_grace_reactivates() -> None:
    """A late renewal payment ends the grace period."""
    state = auto_renewed_in_grace()
    assert state.status is Status.GRACE
    result = applied(state, pay("S-1:renewal:2027-01-01", usd("3480.00"), when="2027-01-05"))
    assert result.state.status is Status.ACTIVE
    assert result.state.grace_ends is None


def test_renewal_paid_after_expiry_revives() -> None:
    """Paid after the grace ran out: active again for the term it paid for."""
    state = replace(auto_renewed_in_grace(), status=Status.EXPIRED, expired_on=d("2027-01-16"))
    result = applied(state, pay("S-1:renewal:2027-01-01", usd("3480.00"), when="2027-01-20"))
    assert result.state.status is Status.ACTIVE
    assert result.state.expired_on is None


def fail(
    invoice_key: str | None, when: str = "2027-01-02", key: str = "evt-fail"
) -> RecordPaymentFailed:
    return event(
        RecordPaymentFailed,
        key=key,
        when=when,
        invoice_number="INV-000002",
        invoice_key=invoice_key,
        reason="card_declined",
    )


def payment_failed(invoice_key: str, when: str, key: str) -> InvoicePaymentFailed:
    return InvoicePaymentFailed(invoice_key=invoice_key, at=at(when), cause=Cause.event(key))


def test_failed_renewal_payment_opens_grace() -> None:
    """Failed on 2027-01-02: grace ends 2027-01-16 (14 days); auto_renewal_failed says so."""
    state = replace(auto_renewed_in_grace(), status=Status.ACTIVE, grace_ends=None, card=CARD)
    result = applied(state, fail("S-1:renewal:2027-01-01", key="evt-fail-2"))
    assert result.state.status is Status.GRACE
    assert result.state.grace_ends == d("2027-01-16")
    assert result.outcomes[0] == payment_failed(
        "S-1:renewal:2027-01-01", "2027-01-02", "evt-fail-2"
    )
    failed = only(result.outcomes, AutoRenewalFailed)
    assert failed.kind is NoticeKind.AUTO_RENEWAL_FAILED
    assert failed.key == "S-1:auto_renewal_failed:S-1:renewal:2027-01-01"
    assert failed.grace_ends == d("2027-01-16")
    assert failed.card_last4 == "4242"
    assert (failed.invoice_key, failed.invoice_total) == ("S-1:renewal:2027-01-01", usd("3480.00"))
    assert failed.reason == "card_declined"
    assert issued_causes(result.outcomes) == {Cause.event("evt-fail-2")}


def test_a_second_failure_keeps_the_grace_end() -> None:
    """Another failure during grace does not extend it; the notice key is the same."""
    state = auto_renewed_in_grace()
    result = applied(state, fail("S-1:renewal:2027-01-01", when="2027-01-10", key="evt-fail-2"))
    assert result.state.grace_ends == d("2027-01-16")
    assert notices(result.outcomes)[0].key == "S-1:auto_renewal_failed:S-1:renewal:2027-01-01"


def test_failed_payment_of_an_expired_renewal_changes_nothing() -> None:
    """Once expired, a late failure report changes nothing and sends nothing; the failure of
    the invoice is still recorded."""
    state = replace(auto_renewed_in_grace(), status=Status.EXPIRED, grace_ends=None)
    result = applied(state, fail("S-1:renewal:2027-01-01", key="evt-fail-2"))
    assert result.state.status is Status.EXPIRED
    assert result.state.grace_ends is None
    assert result.outcomes == (
        payment_failed("S-1:renewal:2027-01-01", "2027-01-02", "evt-fail-2"),
    )


def test_failed_purchase_payment_sends_nothing() -> None:
    """The contract has no email for a failed purchase payment; the failure is recorded."""
    result = applied(subscription(), fail("S-1:purchase:2026-01-01"))
    assert result.outcomes == (payment_failed("S-1:purchase:2026-01-01", "2027-01-02", "evt-fail"),)
    assert notices(result.outcomes) == []
    assert result.state.status is Status.ACTIVE


def test_failed_payment_of_an_unknown_invoice_is_refused() -> None:
    """Only open invoices can fail; a number the service could not resolve neither."""
    assert rejected(subscription(), fail("S-1:nope")).code == "invoice_not_open"
    assert rejected(subscription(), fail(None)).code == "invoice_not_open"


# ---------------------------------------------------------------- card and customer


def test_update_payment_method_and_customer() -> None:
    """The card is replaced; given customer fields replace, missing ones stay."""
    state = applied(subscription(), customer_event(UpdatePaymentMethod, card=CARD)).state
    assert state.card == CARD
    state = applied(
        state,
        customer_event(UpdateCustomer, key="evt-2", name="Acme Ltd", contacts=("ap@acme.test",)),
    ).state
    assert state.customer == Customer(
        id="C-1", name="Acme Ltd", email="billing@acme.test", contacts=("ap@acme.test",)
    )
    state = applied(
        state, customer_event(UpdateCustomer, key="evt-3", email="new@acme.test", locale="de")
    ).state
    assert (state.customer.email, state.customer.locale, state.customer.name) == (
        "new@acme.test",
        "de",
        "Acme Ltd",
    )


def test_partner_subscription_is_created() -> None:
    """A partner subscription names its partner."""
    partner = Partner(name="Reseller", email="r@p.test")
    state = applied(None, create(channel=Channel.PARTNER, partner=partner)).state
    assert state.partner == partner


def test_apply_uses_now_only_for_reminders() -> None:
    """An event's outcome does not depend on when it is processed."""
    cmd = event(AddSeats, seats=5, effective_date=d("2026-06-15"))
    early = apply(subscription(), cmd, at("2026-06-15"))
    late = apply(subscription(), cmd, at("2026-09-01"))
    assert early == late
