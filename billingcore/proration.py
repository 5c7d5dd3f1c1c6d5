"""Proration: seats added and upgrades in the middle of a term, billed for the days left.

Rules (CONTRACT §3): seats added ``added × unit_price × remaining / term_days``; upgrade a credit
line ``−seats × old_price × remaining / term_days`` and a charge line
``seats × new_price × remaining / term_days``; remaining days at D = ``term_end − D``. Each line
is rounded once, half up (a credit half away from zero), to the currency's minor unit.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal, localcontext
from typing import Any

from billingcore.catalog import Tier
from billingcore.commands import AddSeats, Upgrade, cause_of
from billingcore.dates import Term
from billingcore.explanations import Explanation, Rule, counted, money_text, price_inputs
from billingcore.invoices import InvoiceLine, InvoicePurpose, issue
from billingcore.money import Money, round_line
from billingcore.notices import NoticeKind, SeatsAdded, UpgradeConfirmation, notice_key
from billingcore.outcomes import Applied, InvoiceIssued, Rejected, Result, reject
from billingcore.pricing import unit_price
from billingcore.rules import Family, command_rule
from billingcore.state import Channel, OpenInvoice, Status, Subscription

# The exact quotient is rounded once by ``round_line``. With a divisor of at most a few hundred
# days, a quotient's expansion never holds a run of more than two nines past the minor unit, so
# 60 significant digits carry the exact half-up decision for any amount below 10^50.
_PRECISION = 60


def prorate(full: Decimal, remaining: int, term_days: int) -> Decimal:
    """The exact ``full × remaining / term_days``, not yet rounded (CONTRACT §3)."""
    if not 0 <= remaining <= term_days:
        raise ValueError(f"remaining days {remaining} outside 0..{term_days}")
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return full * remaining / term_days


def _period(term: Term, effective_date: date) -> Term:
    if not term.contains(effective_date):
        raise ValueError(f"{effective_date} is outside the term {term}")
    return Term(start=effective_date, end=term.end)


def _days_inputs(term: Term, period: Term) -> dict[str, Any]:
    return {
        "effective_date": period.start.isoformat(),
        "term_start": term.start.isoformat(),
        "term_end": term.end.isoformat(),
        "remaining_days": period.days,
        "term_days": term.days,
    }


def _days_left(term: Term, period: Term) -> str:
    return f"{period.days}/{term.days} days left"


def seats_added_line(
    tier: Tier, added: int, price: Money, term: Term, effective_date: date
) -> InvoiceLine:
    """``added × unit_price × remaining / term_days``, rounded once (CONTRACT §3, Seats added)."""
    period = _period(term, effective_date)
    exact = prorate(added * price.amount, period.days, term.days)
    return InvoiceLine(
        description=f"{tier.product_name}, {added} additional seats, {period}",
        quantity=added,
        unit_price=price,
        service_period=period,
        amount=round_line(exact, price.currency),
        explanation=Explanation(
            rule=Rule.SEATS_ADDED,
            formula=(
                f"{counted(added, 'seat', 'seats')} added × {money_text(price)} × "
                f"{_days_left(term, period)}"
            ),
            inputs={"seats_added": added, **price_inputs(price), **_days_inputs(term, period)},
        ),
    )


def upgrade_lines(
    *,
    seats: int,
    old_tier: Tier,
    old_price: Money,
    new_tier: Tier,
    new_price: Money,
    term: Term,
    effective_date: date,
) -> tuple[InvoiceLine, InvoiceLine]:
    """A credit for the old tier and a charge for the new one over the rest of the term.

    Rule: CONTRACT §3, Upgrade: credit ``−seats × old_price × remaining / term_days`` and charge
    ``seats × new_price × remaining / term_days``, each rounded once (the credit half away from
    zero: the exact credit is rounded as a positive amount, then negated).
    """
    period = _period(term, effective_date)
    credit = prorate(seats * old_price.amount, period.days, term.days)
    charge = prorate(seats * new_price.amount, period.days, term.days)
    days = _days_inputs(term, period)
    count = counted(seats, "seat", "seats")
    return (
        InvoiceLine(
            description=f"Credit: {old_tier.product_name}, {seats} seats, {period}",
            quantity=seats,
            unit_price=old_price,
            service_period=period,
            amount=-round_line(credit, old_price.currency),
            explanation=Explanation(
                rule=Rule.UPGRADE_CREDIT,
                formula=(
                    f"−{count} × {money_text(old_price)} ({old_tier.product_name}) × "
                    f"{_days_left(term, period)}"
                ),
                inputs={"seats": seats, "tier": old_tier.value, **price_inputs(old_price), **days},
            ),
        ),
        InvoiceLine(
            description=f"{new_tier.product_name}, {seats} seats, {period}",
            quantity=seats,
            unit_price=new_price,
            service_period=period,
            amount=round_line(charge, new_price.currency),
            explanation=Explanation(
                rule=Rule.UPGRADE_CHARGE,
                formula=(
                    f"{count} × {money_text(new_price)} ({new_tier.product_name}) × "
                    f"{_days_left(term, period)}"
                ),
                inputs={"seats": seats, "tier": new_tier.value, **price_inputs(new_price), **days},
            ),
        ),
    )


def add_seats(state: Subscription, cmd: AddSeats, now: datetime) -> Result:
    """subscription.seats_added: ``added × unit_price × remaining / term_days`` (CONTRACT §3).

    Refused for cancelled, expired and partner subscriptions and outside the term.
    """
    if state.status in (Status.CANCELLED, Status.EXPIRED):
        return reject(
            "not_active", f"seats cannot be added: the subscription is {state.status.value}"
        )
    if state.channel is Channel.PARTNER:
        return reject("partner_channel", "a partner adds the seats of partner subscriptions")
    if cmd.seats < 1:
        return reject("invalid_seats", f"seats added must be at least 1, got {cmd.seats}")
    if not state.term.contains(cmd.effective_date):
        return reject("outside_term", f"{cmd.effective_date} is outside the term {state.term}")
    line = seats_added_line(state.tier, cmd.seats, state.unit_price, state.term, cmd.effective_date)
    invoice = issue(state.id, InvoicePurpose.SEATS_ADDED, cmd.key, (line,), cmd.at.date())
    seats = state.seats_paid_for + cmd.seats
    new_state = replace(
        state,
        seats_paid_for=seats,
        open_invoices=(*state.open_invoices, OpenInvoice.of(invoice, cmd.effective_date)),
    )
    cause = cause_of(cmd)
    added = SeatsAdded(
        key=notice_key(state.id, NoticeKind.SEATS_ADDED, cmd.key),
        cause=cause,
        seats_added=cmd.seats,
        new_seats=seats,
        effective_date=cmd.effective_date,
        remaining_days=state.term.remaining_days(cmd.effective_date),
        unit_price=state.unit_price,
        invoice_key=invoice.key,
        invoice_total=invoice.total,
    )
    return Applied(state=new_state, outcomes=(InvoiceIssued(invoice=invoice, cause=cause), added))


def upgrade(state: Subscription, cmd: Upgrade, now: datetime) -> Result:
    """subscription.upgraded: a prorated credit and charge (CONTRACT §3 Upgrade).

    Refused to the same or a lower tier, for expired subscriptions and outside the term.
    """
    if cmd.tier.rank <= state.tier.rank:
        return reject(
            "not_an_upgrade", f"{cmd.tier.value} is not above the current tier {state.tier.value}"
        )
    if state.status is Status.EXPIRED:
        return reject("not_active", "an expired subscription cannot be upgraded")
    if not state.term.contains(cmd.effective_date):
        return reject("outside_term", f"{cmd.effective_date} is outside the term {state.term}")
    price = unit_price(cmd.tier, cmd.unit_price, state.currency)
    if isinstance(price, Rejected):
        return price
    credit, charge = upgrade_lines(
        seats=state.seats_paid_for,
        old_tier=state.tier,
        old_price=state.unit_price,
        new_tier=cmd.tier,
        new_price=price,
        term=state.term,
        effective_date=cmd.effective_date,
    )
    invoice = issue(state.id, InvoicePurpose.UPGRADE, cmd.key, (credit, charge), cmd.at.date())
    # A net credit (an upgrade to a lower effective price) asks for no payment: not open.
    owed = () if invoice.is_credit else (OpenInvoice.of(invoice, cmd.effective_date),)
    new_state = replace(
        state, tier=cmd.tier, unit_price=price, open_invoices=(*state.open_invoices, *owed)
    )
    cause = cause_of(cmd)
    upgraded = UpgradeConfirmation(
        key=notice_key(state.id, NoticeKind.UPGRADE_CONFIRMATION, cmd.key),
        cause=cause,
        tier=cmd.tier,
        previous_tier=state.tier,
        seats=state.seats_paid_for,
        effective_date=cmd.effective_date,
        remaining_days=state.term.remaining_days(cmd.effective_date),
        unit_price=price,
        credit=credit.amount,
        charge=charge.amount,
        invoice_key=invoice.key,
        invoice_total=invoice.total,
    )
    return Applied(
        state=new_state, outcomes=(InvoiceIssued(invoice=invoice, cause=cause), upgraded)
    )


FAMILY = Family(
    name="proration",
    commands=dict([command_rule(AddSeats, add_seats), command_rule(Upgrade, upgrade)]),
)
