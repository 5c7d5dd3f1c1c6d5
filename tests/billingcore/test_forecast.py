"""The forecast and the preview run the real timeline ahead (CONTRACT §3 Forecast, §6)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billingcore.catalog import Tier
from billingcore.commands import AddSeats, CreateSubscription, RecordPaymentSucceeded, Upgrade
from billingcore.dates import midnight
from billingcore.forecast import Announced, forecast, horizon, preview
from billingcore.invoices import InvoicePurpose
from billingcore.notices import Notice, NoticeKind
from billingcore.outcomes import InvoiceIssued
from billingcore.state import Card, Subscription
from billingcore.timeline import advance

from .factories import SUB, at, create, subscription, usage, usd
from .test_timeline import History, histories

FORECAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def qsr_year() -> Subscription:
    """10 Premium seats from 2026-01-01, 14 billable users in February: a quarter-1 overage."""
    return usage(subscription(), "2026-02-15", 14)


def test_a_qsr_year_forecasts_the_reconciliation_then_the_blocked_renewal() -> None:
    """4 users over in quarter 1: 4 × $348.00 × 3/4 = $1,044.00 on 2026-04-08; left unpaid,
    the reconciliation invoice blocks the auto-renewal, so the term ends without a charge."""
    state = qsr_year()
    ahead = forecast(
        state, through_cursor=at("2026-02-16"), as_of=at("2026-02-16"), through=date(2027, 6, 30)
    )
    [reconciliation] = ahead.charges
    assert (reconciliation.purpose, reconciliation.issued_on) == (
        InvoicePurpose.QSR,
        date(2026, 4, 8),
    )
    assert reconciliation.total == usd("1044.00")
    [line] = reconciliation.lines
    assert line.explanation.formula == "4 users over × $348.00 × 3/4 quarters left"
    assert ahead.notifications == (
        Announced(date=date(2026, 4, 1), kind=NoticeKind.QSR_NOTICE),
        Announced(date=date(2026, 4, 8), kind=NoticeKind.QSR_RECONCILED),
        Announced(date=date(2026, 12, 17), kind=NoticeKind.AUTO_RENEWAL_BLOCKED),
        Announced(date=date(2027, 1, 1), kind=NoticeKind.SUBSCRIPTION_EXPIRED),
    )
    assert any("14 billable users (observed 2026-02-15)" in a for a in ahead.assumptions)


def test_an_auto_renewing_year_forecasts_two_renewals_within_24_months() -> None:
    """No usage, auto-renewal on: renewals on 2027-01-01 and 2028-01-01 for 10 × $348.00, with
    the managing-users email and the 15-day notice of each term."""
    state = subscription()
    as_of = at("2026-01-05")
    ahead = forecast(state, through_cursor=as_of, as_of=as_of, through=horizon(as_of))
    assert horizon(as_of) == date(2028, 1, 5)
    assert [(c.purpose, c.issued_on, c.total) for c in ahead.charges] == [
        (InvoicePurpose.RENEWAL, date(2027, 1, 1), usd("3480.00")),
        (InvoicePurpose.RENEWAL, date(2028, 1, 1), usd("3480.00")),
    ]
    assert [(n.date.isoformat(), n.kind.value) for n in ahead.notifications] == [
        ("2026-12-17", "auto_renewal_upcoming"),
        ("2027-01-01", "renewal_confirmation"),
        ("2027-01-02", "managing_users"),
        ("2027-12-17", "auto_renewal_upcoming"),
        ("2028-01-01", "renewal_confirmation"),
        ("2028-01-02", "managing_users"),
    ]
    assert any("Automatic renewal on 2027-01-01" in a for a in ahead.assumptions)
    assert any("No usage has been reported" in a for a in ahead.assumptions)


def test_each_reminder_of_a_series_is_forecast_on_its_date() -> None:
    """Without auto-renewal the 90-, 45- and 30-day reminders all go out, as they do when the
    scheduler runs on time, then the expiry; nothing is charged."""
    state = subscription(auto_renew=False)
    ahead = forecast(
        state, through_cursor=at("2026-06-01"), as_of=at("2026-06-01"), through=date(2027, 2, 1)
    )
    assert ahead.charges == ()
    assert [(n.date.isoformat(), n.kind.value) for n in ahead.notifications] == [
        ("2026-10-03", "renewal_reminder"),
        ("2026-11-17", "renewal_reminder"),
        ("2026-12-02", "renewal_reminder"),
        ("2027-01-01", "subscription_expired"),
    ]
    assert any("No automatic renewal on 2027-01-01" in a for a in ahead.assumptions)


def test_a_scheduler_behind_catches_up_first_and_open_invoices_are_named() -> None:
    """Occasions between the stored cursor and now happen first, as they will; the assumptions
    count the open invoices."""
    state = qsr_year()
    ahead = forecast(
        state, through_cursor=at("2026-02-16"), as_of=at("2026-04-10"), through=date(2026, 5, 1)
    )
    assert [c.issued_on for c in ahead.charges] == [date(2026, 4, 8)]
    assert any("Open invoices stay unpaid (1 now)" in a for a in ahead.assumptions)


def test_a_forecast_through_today_holds_only_what_is_due_today() -> None:
    """``through`` is inclusive: the renewal on its own date is in, the next day's email not."""
    state = subscription()
    ahead = forecast(
        state, through_cursor=at("2026-12-30"), as_of=at("2026-12-30"), through=date(2027, 1, 1)
    )
    assert [c.issued_on for c in ahead.charges] == [date(2027, 1, 1)]
    assert [n.kind for n in ahead.notifications] == [NoticeKind.RENEWAL_CONFIRMATION]


# -- preview -----------------------------------------------------------------------------------


def test_a_preview_shows_the_invoice_and_notices_of_one_event_and_changes_nothing() -> None:
    """Seats added on 2026-07-01: 5 × $348.00 × 184/365 = $877.15 and its confirmation."""
    state = subscription()
    now = at("2026-07-01T09:00")
    command = AddSeats(
        subscription_id=SUB, key="preview", at=now, seats=5, effective_date=now.date()
    )
    seen = preview(state, command, through_cursor=at("2026-07-01"), now=now)
    assert seen.rejected is None
    assert seen.invoice is not None and seen.invoice.total == usd("877.15")
    assert seen.notifications == (NoticeKind.SEATS_ADDED,)
    assert state == subscription()


def test_a_preview_of_a_refused_event_names_the_refusal() -> None:
    """A downgrade is refused with its code, and nothing else is shown."""
    state = subscription(tier=Tier.ULTIMATE, unit_price=usd("1188.00"))
    command = Upgrade(
        subscription_id=SUB,
        key="preview",
        at=at("2026-07-01"),
        tier=Tier.PREMIUM,
        effective_date=date(2026, 7, 1),
        unit_price=Decimal("348.00"),
    )
    seen = preview(state, command, through_cursor=at("2026-07-01"), now=at("2026-07-01"))
    assert seen.rejected is not None and seen.rejected.code == "not_an_upgrade"
    assert (seen.invoice, seen.notifications) == (None, ())


def test_a_preview_without_a_subscription_is_refused_unless_it_creates_one() -> None:
    """A payment for a subscription that does not exist is refused; a creation shows its
    purchase invoice and confirmation."""
    payment = RecordPaymentSucceeded(
        subscription_id=SUB,
        key="preview",
        at=at("2026-01-01"),
        invoice_number="INV-000001",
        amount=usd("1.00"),
    )
    refused = preview(None, payment, through_cursor=None, now=at("2026-01-01"))
    assert refused.rejected is not None and refused.rejected.code == "unknown_subscription"
    created = preview(None, create(), through_cursor=None, now=at("2026-01-01"))
    assert created.invoice is not None and created.invoice.total == usd("3480.00")
    assert created.notifications == (NoticeKind.SUBSCRIPTION_CONFIRMATION,)


# -- the forecast is what then happens -------------------------------------------------------------


@st.composite
def forecast_cases(draw: st.DrawFn) -> tuple[Subscription, datetime, datetime, date]:
    """A generated history run to a moment of its term (or just after): the state, its cursor,
    that moment, and a date up to 24 months later."""
    history: History = draw(histories())
    [created] = [c for c in history.commands if isinstance(c, CreateSubscription)]
    span = (midnight(created.term.end) - created.at).total_seconds() + 10 * 86_400
    as_of = created.at + timedelta(seconds=draw(st.floats(0, span)))
    commands = [c for c in history.commands if c.at <= as_of]
    result = advance(None, commands, through=None, now=as_of)
    if result.state is None or result.through is None:  # the creation came later, or refused
        result = advance(None, [created], through=None, now=created.at)
        as_of = created.at
    assert result.state is not None and result.through is not None
    months = draw(st.sampled_from((24, 24, 18, 12, 6, 2)))
    through = min(horizon(as_of), (as_of + timedelta(days=31 * months)).date())
    return result.state, result.through, as_of, through


def _clock_moving_day_by_day(
    state: Subscription, cursor: datetime, as_of: datetime, through: date
) -> tuple[list[object], list[Announced]]:
    """Invoices and notices as the service makes them while time passes with no input: a pass
    at ``as_of``, then one at every midnight up to ``through``."""
    invoices: list[object] = []
    sent: list[Announced] = []
    moments = [as_of]
    day = as_of.date() + timedelta(days=1)
    while day <= through:
        moments.append(midnight(day))
        day += timedelta(days=1)
    current: Subscription | None = state
    for moment in moments:
        result = advance(current, [], through=cursor, now=moment)
        for outcome in result.outcomes:
            if isinstance(outcome, InvoiceIssued):
                invoices.append(outcome.invoice)
            elif isinstance(outcome, Notice):
                assert outcome.cause.date is not None
                sent.append(Announced(date=outcome.cause.date, kind=outcome.kind))
        current, cursor = result.state, result.through or cursor
    return invoices, sent


@given(case=forecast_cases())
@FORECAST
def test_a_forecast_is_what_moving_the_clock_then_bills_and_sends(
    case: tuple[Subscription, datetime, datetime, date],
) -> None:
    """For any history taken at any moment, the forecast's charges equal, line by line and to
    the cent, the invoices a clock moving day by day issues with no further input, and one jump
    of the clock issues the same; its notifications are the notices that fall due."""
    state, cursor, as_of, through = case
    ahead = forecast(state, through_cursor=cursor, as_of=as_of, through=through)
    invoices, sent = _clock_moving_day_by_day(state, cursor, as_of, through)
    assert list(ahead.charges) == invoices
    assert list(ahead.notifications) == sent
    last = midnight(through + timedelta(days=1)) - timedelta(microseconds=1)
    jump = advance(state, [], through=cursor, now=max(last, as_of))
    assert [o.invoice for o in jump.outcomes if isinstance(o, InvoiceIssued)] == invoices


def test_the_card_on_file_is_part_of_what_is_assumed() -> None:
    """A card that expires before the renewal: the assumptions say the renewal is blocked."""
    state = replace(
        subscription(), card=Card(brand="visa", last4="4242", exp_month=11, exp_year=2026)
    )
    ahead = forecast(
        state, through_cursor=at("2026-06-01"), as_of=at("2026-06-01"), through=date(2027, 1, 5)
    )
    assert any("card on file expires before the renewal date" in a for a in ahead.assumptions)
    assert ahead.charges == ()


def test_a_paid_up_subscription_assumes_no_open_invoices() -> None:
    """With every invoice paid, the assumptions do not mention open invoices."""
    state = replace(subscription(), open_invoices=())
    ahead = forecast(
        state, through_cursor=at("2026-06-01"), as_of=at("2026-06-01"), through=date(2026, 7, 1)
    )
    assert not any("Open invoices" in a for a in ahead.assumptions)
    assert (ahead.charges, ahead.notifications) == ((), ())
