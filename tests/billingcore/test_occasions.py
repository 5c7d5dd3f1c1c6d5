"""Occasions: what falls due when, and what applying each one does (CONTRACT §3, §4)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from billingcore.catalog import Tier
from billingcore.causes import Cause
from billingcore.commands import AddSeats, RecordPaymentFailed, Renew
from billingcore.dates import Term, midnight
from billingcore.due import next_due, occasions
from billingcore.invoices import InvoicePurpose
from billingcore.notices import (
    AutoRenewalBlocked,
    AutoRenewalUpcoming,
    ManagingUsers,
    NoticeKind,
    PaymentMethodExpiring,
    QsrFailed,
    QsrNotice,
    QsrReconciled,
    RenewalConfirmation,
    RenewalReminder,
    SubscriptionExpired,
)
from billingcore.occasion import Occasion, OccasionKind, make_occasion, occasion_key
from billingcore.outcomes import Applied
from billingcore.state import (
    Card,
    Channel,
    Deployment,
    OpenInvoice,
    Partner,
    Status,
    Subscription,
)
from billingcore.timeline import apply

from .factories import (
    SUB,
    applied,
    at,
    d,
    invoices,
    notices,
    only,
    run_until,
    subscription,
    usage,
    usd,
)

YEAR = (at("2026-01-01"), at("2027-01-01T00:01"))
EXPIRING = Card(brand="visa", last4="4242", exp_month=11, exp_year=2026)


def listed(state: Subscription, start: str = "2026-01-01", end: str = "2027-01-02") -> list[str]:
    return [f"{o.due_on} {o.kind.value}" for o in occasions(state, at(start), at(end))]


def test_auto_renewing_saas_subscription() -> None:
    """Eligible for QSR and auto-renewal, no overage: onboarding, the 15-day notice, renewal."""
    assert listed(subscription()) == [
        "2026-01-02 managing_users",
        "2026-12-17 auto_renewal_notice",
        "2027-01-01 term_end",
    ]


def test_subscription_that_will_not_auto_renew_gets_the_reminder_series() -> None:
    """auto_renew off: reminders 90/45/30 days before 2027-01-01, no 15-day notice."""
    assert listed(subscription(auto_renew=False)) == [
        "2026-01-02 managing_users",
        "2026-10-03 renewal_reminder",
        "2026-11-17 renewal_reminder",
        "2026-12-02 renewal_reminder",
        "2027-01-01 term_end",
    ]


def test_cancelled_subscription_gets_reminders_and_expires() -> None:
    """Cancelled: it will not renew, so the reminders go out; the term end expires it."""
    assert listed(subscription(status=Status.CANCELLED, auto_renew=False), "2026-06-01") == [
        "2026-10-03 renewal_reminder",
        "2026-11-17 renewal_reminder",
        "2026-12-02 renewal_reminder",
        "2027-01-01 term_end",
    ]


def test_partner_subscription_with_auto_renew_on() -> None:
    """Partner: not eligible, so the reminders and, at 15 days, the blocked notice."""
    partner = Partner(name="Reseller", email="r@p.test")
    state = subscription(channel=Channel.PARTNER, partner=partner)
    assert listed(state, "2026-06-01") == [
        "2026-10-03 renewal_reminder",
        "2026-11-17 renewal_reminder",
        "2026-12-02 renewal_reminder",
        "2026-12-17 auto_renewal_notice",
        "2027-01-01 term_end",
    ]
    after, outcomes, _ = run_until(state, at("2026-10-03"), at("2026-10-04"))
    reminder = only(outcomes, RenewalReminder)
    assert reminder.days_before == 90
    assert (reminder.expires_on, reminder.seats, reminder.tier) == (
        d("2027-01-01"),
        10,
        Tier.PREMIUM,
    )
    assert reminder.cause == Cause.fell_due(OccasionKind.RENEWAL_REMINDER, d("2026-10-03"))
    # The reminder names no partner: its handler reads the partner from the state it leaves.
    assert after.channel is Channel.PARTNER
    assert after.partner is not None and after.partner.email == "r@p.test"


def test_expiring_card_gets_payment_method_expiring_not_reminders() -> None:
    """A card valid through 2026-11-30 cannot pay on 2027-01-01: warned 30 days before."""
    state = subscription(card=EXPIRING)
    assert listed(state, "2026-06-01") == [
        "2026-12-02 payment_method_expiring",
        "2026-12-17 auto_renewal_notice",
        "2027-01-01 term_end",
    ]
    state, outcomes, _ = run_until(state, at("2026-12-01"), at("2026-12-18"))
    expiring, blocked = notices(outcomes)
    assert isinstance(expiring, PaymentMethodExpiring)
    assert expiring.kind is NoticeKind.PAYMENT_METHOD_EXPIRING
    assert expiring.key == "S-1:payment_method_expiring:2026-12-02"
    assert expiring.card == EXPIRING
    assert expiring.card.last4 == "4242"
    assert expiring.card.valid_through == d("2026-11-30")
    assert expiring.renewal_date == d("2027-01-01")
    assert expiring.cause == Cause.fell_due(OccasionKind.PAYMENT_METHOD_EXPIRING, d("2026-12-02"))
    assert isinstance(blocked, AutoRenewalBlocked)
    assert blocked.kind is NoticeKind.AUTO_RENEWAL_BLOCKED
    assert blocked.reasons == ("card_expires_before_renewal",)
    assert (blocked.renewal_date, blocked.seats, blocked.tier) == (
        d("2027-01-01"),
        10,
        Tier.PREMIUM,
    )
    assert blocked.cause == Cause.fell_due(OccasionKind.AUTO_RENEWAL_NOTICE, d("2026-12-17"))


def test_expiring_card_without_auto_renew_is_not_warned() -> None:
    """payment_method_expiring only when the subscription would otherwise auto-renew."""
    assert "payment_method_expiring" not in " ".join(
        listed(subscription(card=EXPIRING, auto_renew=False))
    )
    partner = subscription(card=EXPIRING, channel=Channel.PARTNER)
    assert "payment_method_expiring" not in " ".join(listed(partner))


def test_auto_renewal_upcoming_states_seats_amount_and_card() -> None:
    """Latest billable 12 > 10 seats: renews 12 × 348.00 = 4176.00 on the card ending 1111."""
    card = Card(brand="visa", last4="1111", exp_month=1, exp_year=2027)
    state = usage(subscription(card=card, qsr_enabled=False), "2026-12-01", 12)
    _, outcomes, _ = run_until(state, at("2026-12-17"), at("2026-12-18"))
    upcoming = only(outcomes, AutoRenewalUpcoming)
    assert upcoming.kind is NoticeKind.AUTO_RENEWAL_UPCOMING
    assert upcoming.seats == 12
    # 12 × 348.00 = 4176.00, plus the true-up 2 × 348.00 = 696.00 (no QSR): 4872.00
    assert upcoming.amount == usd("4872.00")
    assert (upcoming.seats_amount, upcoming.true_up_users, upcoming.true_up_amount) == (
        usd("4176.00"),
        2,
        usd("696.00"),
    )
    assert upcoming.card_last4 == "1111"
    assert upcoming.renewal_date == d("2027-01-01")
    assert upcoming.new_term == Term(start=d("2027-01-01"), end=d("2028-01-01"))
    assert upcoming.cause == Cause.fell_due(OccasionKind.AUTO_RENEWAL_NOTICE, d("2026-12-17"))


def test_auto_renewal_at_term_end() -> None:
    """At 00:00 on 2027-01-01: new term to 2028-01-01, 10 × 348.00 = 3480.00 invoiced."""
    state, outcomes, _ = run_until(subscription(), at("2027-01-01"), at("2027-01-01T00:01"))
    assert state.term == Term(start=d("2027-01-01"), end=d("2028-01-01"))
    assert state.status is Status.ACTIVE
    (invoice,) = invoices(outcomes)
    assert invoice.key == "S-1:renewal:2027-01-01"
    assert invoice.total == usd("3480.00")
    assert invoice.issued_on == d("2027-01-01")
    confirmation = only(outcomes, RenewalConfirmation)
    assert confirmation.key == "S-1:renewal_confirmation:2027-01-01"
    assert confirmation.automatic is True
    assert confirmation.seats_amount == usd("3480.00")
    assert {o.cause for o in outcomes} == {Cause.fell_due(OccasionKind.TERM_END, d("2027-01-01"))}
    assert state.applied_keys == frozenset({"S-1:term_end:2027-01-01"})
    # The renewed term's onboarding follows one day later.
    assert listed(state, "2027-01-01", "2027-01-03") == ["2027-01-02 managing_users"]


def test_term_end_without_renewal_expires() -> None:
    """auto_renew off: expired on 2027-01-01 with subscription_expired; nothing after."""
    state, outcomes, _ = run_until(subscription(auto_renew=False), *YEAR)
    assert state.status is Status.EXPIRED
    assert state.expired_on == d("2027-01-01")
    expired = notices(outcomes)[-1]
    assert isinstance(expired, SubscriptionExpired)
    assert expired.kind is NoticeKind.SUBSCRIPTION_EXPIRED
    assert expired.key == "S-1:subscription_expired:2027-01-01"
    assert (expired.expired_on, expired.seats, expired.term) == (
        d("2027-01-01"),
        10,
        Term(start=d("2026-01-01"), end=d("2027-01-01")),
    )
    assert expired.cause == Cause.fell_due(OccasionKind.TERM_END, d("2027-01-01"))
    assert occasions(state, at("2027-01-01"), at("2030-01-01")) == []
    assert next_due(state, at("2027-01-01")) is None


def test_scheduled_renewal_takes_effect_at_term_end() -> None:
    """Renewed by hand on 2026-11-01 with 12 seats: no reminders; the new term starts 2027."""
    renew = Renew(
        subscription_id=SUB,
        key="evt-renew",
        at=at("2026-11-01"),
        term_start=d("2027-01-01"),
        term_end=d("2028-01-01"),
        seats=12,
    )
    state = applied(subscription(auto_renew=False), renew).state
    assert listed(state, "2026-11-01") == ["2027-01-01 term_end"]
    state, outcomes, _ = run_until(state, at("2026-11-01"), at("2027-01-01T00:01"))
    assert outcomes == []  # invoiced and confirmed when renewed
    assert (state.term.start, state.seats_paid_for, state.renewal) == (d("2027-01-01"), 12, None)


def test_scheduled_renewal_keeps_its_grace() -> None:
    """A renewal whose advance payment failed is still in grace when its term starts."""
    renew = Renew(
        subscription_id=SUB,
        key="evt-renew",
        at=at("2026-11-01"),
        term_start=d("2027-01-01"),
        term_end=d("2028-01-01"),
        seats=10,
    )
    state = applied(subscription(), renew).state
    state = replace(state, status=Status.GRACE, grace_ends=d("2027-01-15"))
    assert listed(state, "2026-11-01", "2027-01-20") == [
        "2027-01-01 term_end",
        "2027-01-15 grace_end",
    ]
    state, _, _ = run_until(state, at("2026-11-01"), at("2027-01-01T00:01"))
    assert (state.status, state.grace_ends) == (Status.GRACE, d("2027-01-15"))
    assert listed(state, "2027-01-03", "2027-01-20") == ["2027-01-15 grace_end"]


def test_grace_end_expires_an_unpaid_renewal() -> None:
    """Grace until 2027-01-16, unpaid: expired that day."""
    state = replace(
        subscription(term=Term(start=d("2027-01-01"), end=d("2028-01-01"))),
        status=Status.GRACE,
        grace_ends=d("2027-01-16"),
    )
    state, outcomes, ran = run_until(state, at("2027-01-03"), at("2027-02-01"))
    assert [o.kind for o in ran] == [OccasionKind.GRACE_END]
    assert state.status is Status.EXPIRED
    assert state.expired_on == d("2027-01-16")
    expired = only(outcomes, SubscriptionExpired)
    assert expired.key == "S-1:subscription_expired:2027-01-16"
    assert expired.expired_on == d("2027-01-16")
    assert expired.cause == Cause.fell_due(OccasionKind.GRACE_END, d("2027-01-16"))


@pytest.mark.parametrize(
    ("deployment", "notice_on", "invoice_on"),
    [
        (Deployment.SAAS, "2026-04-01", "2026-04-08"),
        (Deployment.SELF_MANAGED, "2026-04-07", "2026-04-14"),
    ],
)
def test_qsr_notice_then_invoice(deployment: Deployment, notice_on: str, invoice_on: str) -> None:
    """Max 14 users in quarter 1 over 10 seats: 4 × 348.00 × 3 / 4 = 1044.00, seats → 14."""
    state = subscription(deployment=deployment, namespace_id="ns", instance_id="i")
    state = usage(state, "2026-03-01", 14)
    assert [o.due_on for o in occasions(state, at("2026-03-02"), at("2026-06-01"))] == [
        d(notice_on)
    ]
    state, outcomes, ran = run_until(state, at("2026-03-02"), at("2026-06-01"))
    assert [(o.kind, o.due_on) for o in ran] == [
        (OccasionKind.QSR_NOTICE, d(notice_on)),
        (OccasionKind.QSR_INVOICE, d(invoice_on)),
    ]
    notice, reconciled = notices(outcomes)
    assert isinstance(notice, QsrNotice)
    assert notice.kind is NoticeKind.QSR_NOTICE
    assert notice.key == "S-1:qsr_notice:2026-04-01"
    assert (notice.overage, notice.amount) == (4, usd("1044.00"))
    assert notice.invoice_date == d(invoice_on)
    assert (notice.quarter, notice.quarters_left, notice.max_users, notice.seats) == (1, 3, 14, 10)
    assert notice.quarter_period == Term(start=d("2026-01-01"), end=d("2026-04-01"))
    assert notice.cause == Cause.fell_due(OccasionKind.QSR_NOTICE, d(notice_on))
    assert isinstance(reconciled, QsrReconciled)
    assert reconciled.kind is NoticeKind.QSR_RECONCILED
    assert (reconciled.seats, reconciled.invoice_total) == (14, usd("1044.00"))
    assert (reconciled.quarter, reconciled.quarters_left, reconciled.overage) == (1, 3, 4)
    assert reconciled.cause == Cause.fell_due(OccasionKind.QSR_INVOICE, d(invoice_on))
    (invoice,) = invoices(outcomes)
    assert invoice.key == "S-1:qsr:2026-04-01"
    assert reconciled.invoice_key == invoice.key
    assert invoice.issued_on == d(invoice_on)
    assert state.seats_paid_for == 14
    assert state.pending_qsr is None


def test_qsr_invoice_counts_seats_bought_meanwhile() -> None:
    """Notice: overage 4. Then 3 seats bought: invoice 1 × 348.00 × 3 / 4 = 261.00, seats 14."""
    state = usage(subscription(), "2026-03-01", 14)
    state, _, _ = run_until(state, at("2026-04-01"), at("2026-04-02"))
    add = AddSeats(
        subscription_id=SUB,
        key="evt-add",
        at=at("2026-04-03"),
        seats=3,
        effective_date=d("2026-04-03"),
    )
    state = applied(state, add).state
    state, outcomes, _ = run_until(state, at("2026-04-02"), at("2026-04-09"))
    (invoice,) = invoices(outcomes)
    assert invoice.total == usd("261.00")
    assert state.seats_paid_for == 14


def test_qsr_invoice_with_the_overage_bought_away_sends_nothing() -> None:
    """Overage 4 at notice, 4 seats bought: nothing billed, no email, pending cleared."""
    state = usage(subscription(), "2026-03-01", 14)
    state, _, _ = run_until(state, at("2026-04-01"), at("2026-04-02"))
    add = AddSeats(
        subscription_id=SUB,
        key="evt-add",
        at=at("2026-04-03"),
        seats=4,
        effective_date=d("2026-04-03"),
    )
    state = applied(state, add).state
    state, outcomes, ran = run_until(state, at("2026-04-02"), at("2026-04-09"))
    assert [o.kind for o in ran] == [OccasionKind.QSR_INVOICE]
    assert outcomes == []
    assert state.pending_qsr is None
    assert state.seats_paid_for == 14


def test_quarters_two_and_three_and_never_four() -> None:
    """Overage in quarters 2 and 3 is billed at 2/4 and 1/4; quarter 4 never.

    Q2 max 12 over 10: 2 × 348 × 2/4 = 348.00; Q3 max 15 over 12: 3 × 348 × 1/4 = 261.00.
    """
    state = usage(subscription(), "2026-05-01", 12)
    state = usage(state, "2026-08-01", 15)
    state = usage(state, "2026-11-01", 30)
    state, outcomes, _ = run_until(state, at("2026-01-02"), at("2026-12-31"))
    totals = [invoice.total for invoice in invoices(outcomes)]
    assert totals == [usd("348.00"), usd("261.00")]
    assert state.seats_paid_for == 15


def test_unpaid_qsr_invoice_blocks_auto_renewal_without_reminders() -> None:
    """An open QSR invoice: the 15-day notice says blocked; the term end expires it."""
    qsr = OpenInvoice(
        key="S-1:qsr:2026-10-01",
        purpose=InvoicePurpose.QSR,
        total=usd("1"),
        covers_from=d("2026-10-01"),
    )
    state = subscription(open_invoices=(qsr,))
    assert listed(state, "2026-06-01") == ["2026-12-17 auto_renewal_notice", "2027-01-01 term_end"]


def test_managing_users_only_for_qsr_eligible_saas() -> None:
    """Self-managed, or not QSR-eligible: no managing_users."""
    sm = subscription(deployment=Deployment.SELF_MANAGED, instance_id="i-1")
    assert "managing_users" not in " ".join(listed(sm))
    assert "managing_users" not in " ".join(listed(subscription(qsr_enabled=False)))
    _, outcomes, _ = run_until(subscription(), at("2026-01-02"), at("2026-01-03"))
    managing = only(outcomes, ManagingUsers)
    assert managing.key == "S-1:managing_users:2026-01-01"
    assert managing.reconciliation_dates == (d("2026-04-01"), d("2026-07-01"), d("2026-10-01"))
    assert (managing.seats, managing.tier, managing.unit_price) == (10, Tier.PREMIUM, usd("348"))
    assert managing.cause == Cause.fell_due(OccasionKind.MANAGING_USERS, d("2026-01-02"))


def test_catch_up_sends_only_the_latest_reminder() -> None:
    """Down from 2026-10-01 to 2026-11-20: the 90-day reminder is skipped, the 45-day one sent."""
    state = subscription(auto_renew=False)
    _, outcomes, ran = run_until(state, at("2026-10-01"), at("2026-11-20"), now=at("2026-11-20"))
    assert [o.due_on for o in ran] == [d("2026-10-03"), d("2026-11-17")]
    reminder = only(outcomes, RenewalReminder)
    assert reminder.key == "S-1:renewal_reminder:2026-11-17"
    assert reminder.days_before == 45


def test_catch_up_past_the_term_end_still_does_every_notice() -> None:
    """Caught up after 2027-01-01: the card and 15-day notices that fell due are still sent, in
    date order (CONTRACT §3: every occasion that fell due meanwhile is done)."""
    state = subscription(card=EXPIRING)
    late = at("2027-01-05")
    _, outcomes, ran = run_until(state, at("2026-12-01"), at("2026-12-31"), now=late)
    assert [o.kind for o in ran] == [
        OccasionKind.PAYMENT_METHOD_EXPIRING,
        OccasionKind.AUTO_RENEWAL_NOTICE,
    ]
    assert [n.kind.value for n in notices(outcomes)] == [
        "payment_method_expiring",
        "auto_renewal_blocked",
    ]


def test_catch_up_past_the_term_end_sends_the_last_renewal_reminder() -> None:
    """Down from 2026-10-01 to 2027-01-05 (term end 2027-01-01): of the 90/45/30-day series only
    the 30-day reminder goes out."""
    state = subscription(auto_renew=False)
    _, outcomes, _ = run_until(state, at("2026-10-01"), at("2026-12-31"), now=at("2027-01-05"))
    reminder = only(outcomes, RenewalReminder)
    assert reminder.days_before == 30


def test_an_occasion_no_longer_due_changes_nothing() -> None:
    """A QSR notice whose overage disappeared, or a foreign date, is a no-op."""
    state = usage(subscription(), "2026-03-01", 14)
    (notice,) = occasions(state, at("2026-04-01"), at("2026-04-02"))
    fixed = replace(state, seats_paid_for=20)
    result = applied(fixed, notice)
    assert result.outcomes == ()
    assert result.state.pending_qsr is None
    assert notice.key in result.state.applied_keys


def test_window_boundaries_are_half_open() -> None:
    """An occasion at 00:00 belongs to the window starting then, not the one ending then."""
    state = subscription()
    assert occasions(state, at("2026-12-17"), at("2026-12-17T00:00")) == []
    assert len(occasions(state, at("2026-12-17"), at("2026-12-17T00:01"))) == 1
    assert occasions(state, at("2026-12-16T00:01"), at("2026-12-17")) == []
    assert occasions(state, at("2026-12-17T00:01"), at("2026-12-18")) == []


def test_next_due_is_strictly_after() -> None:
    """From 2026-01-02 00:00 the next date is the 15-day notice, not onboarding."""
    state = subscription()
    assert next_due(state, at("2026-01-01")) == at("2026-01-02")
    assert next_due(state, at("2026-01-02")) == at("2026-12-17")
    assert next_due(state, at("2026-12-17T12:00")) == at("2027-01-01")


def test_occasions_need_utc() -> None:
    """Naive datetimes are refused."""
    from datetime import datetime

    with pytest.raises(ValueError):
        occasions(subscription(), datetime(2026, 1, 1), at("2026-02-01"))
    with pytest.raises(ValueError):
        Occasion(subscription_id=SUB, kind=OccasionKind.TERM_END, due=datetime(2026, 1, 1), key="k")


def test_occasion_at_is_its_due_time() -> None:
    """An occasion's ``at`` is when it fell due."""
    (first,) = occasions(subscription(), at("2026-01-01"), at("2026-01-03"))
    assert first.at == first.due == at("2026-01-02")
    assert first.due + timedelta(0) == first.at


def test_failed_qsr_payment_sends_qsr_failed_and_blocks_renewal() -> None:
    """The QSR invoice fails: qsr_failed; the open QSR invoice then blocks the auto-renewal."""
    state = usage(subscription(), "2026-03-01", 14)
    state, _, _ = run_until(state, at("2026-04-01"), at("2026-04-09"))
    failed = RecordPaymentFailed(
        subscription_id=SUB,
        key="evt-fail",
        at=at("2026-04-09"),
        invoice_number="INV-000002",
        invoice_key="S-1:qsr:2026-04-01",
        reason="insufficient_funds",
    )
    result = applied(state, failed)
    notice = only(result.outcomes, QsrFailed)
    assert notice.kind is NoticeKind.QSR_FAILED
    assert notice.key == "S-1:qsr_failed:S-1:qsr:2026-04-01"
    assert notice.invoice_total == usd("1044.00")
    assert (notice.invoice_key, notice.reason, notice.card_last4) == (
        "S-1:qsr:2026-04-01",
        "insufficient_funds",
        None,
    )
    assert {o.cause for o in result.outcomes} == {Cause.event("evt-fail")}
    assert result.state.status is Status.ACTIVE
    _, outcomes, _ = run_until(result.state, at("2026-12-17"), at("2027-01-01T00:01"))
    blocked, expired = notices(outcomes)
    assert isinstance(blocked, AutoRenewalBlocked)
    assert blocked.reasons == ("unpaid_qsr_invoice",)
    assert expired.kind is NoticeKind.SUBSCRIPTION_EXPIRED


def test_card_notice_without_a_card_sends_nothing() -> None:
    """An expiring-card occasion is not due, so not carried out, for a state with no card."""
    state = subscription(card=None)
    on = d("2026-12-02")
    occasion = Occasion(
        subscription_id=state.id,
        kind=OccasionKind.PAYMENT_METHOD_EXPIRING,
        due=midnight(on),
        key=occasion_key(state.id, OccasionKind.PAYMENT_METHOD_EXPIRING, on),
    )
    assert occasion == make_occasion(state.id, OccasionKind.PAYMENT_METHOD_EXPIRING, on)
    assert occasion.key == "S-1:payment_method_expiring:2026-12-02"
    result = apply(state, occasion, at("2026-12-02"))
    assert isinstance(result, Applied)
    assert notices(result.outcomes) == []
