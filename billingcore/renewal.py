"""Renewals: automatic at the term end, manual by event; grace after a failed payment.

Rules (CONTRACT §3): auto-renewal at 00:00 UTC on ``term_end``: the new term is
``[term_end, term_end + 12 months)``; seats = max(seats paid for, latest ``billable_users``);
invoice = seats × unit_price plus the true-up line where it applies. A manual renewal is the
only moment seats or tier can go down, never below the latest ``billable_users``. A failed
renewal payment opens a 14-day grace period; unpaid, the subscription expires when it ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from billingcore.catalog import Tier
from billingcore.dates import Term, add_months, midnight
from billingcore.invoices import InvoiceLine
from billingcore.money import Money, round_line, sum_money
from billingcore.state import Subscription, latest_billable_users
from billingcore.trueup import true_up_line

GRACE_PERIOD = timedelta(days=14)


@dataclass(frozen=True, slots=True, kw_only=True)
class RenewalPlan:
    """A renewal decided but not yet carried out: the new term and what it bills."""

    term: Term
    seats: int
    tier: Tier
    unit_price: Money
    lines: tuple[InvoiceLine, ...]
    true_up: InvoiceLine | None

    @property
    def total(self) -> Money:
        """The renewal invoice's total: the sum of its rounded lines."""
        return sum_money([line.amount for line in self.lines], self.unit_price.currency)


def renewal_line(tier: Tier, seats: int, unit_price: Money, term: Term) -> InvoiceLine:
    """``seats × unit_price`` for the new term, rounded once (CONTRACT §3, Auto-renewal)."""
    return InvoiceLine(
        description=f"Renewal: {tier.product_name}, {seats} seats, {term}",
        quantity=seats,
        unit_price=unit_price,
        service_period=term,
        amount=round_line(seats * unit_price.amount, unit_price.currency),
    )


def plan_renewal(
    state: Subscription,
    *,
    term: Term,
    seats: int,
    tier: Tier,
    unit_price: Money,
    with_true_up: bool,
) -> RenewalPlan:
    """The renewal invoice's lines: the new term's seats and, when due, the true-up line.

    Rule: CONTRACT §3 (renewal invoice = seats × unit_price, plus the true-up line of the ending
    term for subscriptions not eligible for QSR).
    """
    true_up = true_up_line(state) if with_true_up else None
    lines: tuple[InvoiceLine, ...] = (renewal_line(tier, seats, unit_price, term),)
    if true_up is not None:
        lines = (*lines, true_up)
    return RenewalPlan(
        term=term, seats=seats, tier=tier, unit_price=unit_price, lines=lines, true_up=true_up
    )


def auto_renewal_seats(state: Subscription) -> int:
    """max(seats paid for, latest ``billable_users`` observed before the term end) (CONTRACT §3).

    Only reports observed before 00:00 UTC of ``term_end`` count, so the answer does not depend
    on when the renewal runs.
    """
    latest = latest_billable_users(state, before=midnight(state.term.end)) or 0
    return max(state.seats_paid_for, latest)


def plan_auto_renewal(state: Subscription) -> RenewalPlan:
    """The automatic renewal of ``state`` at its term end (CONTRACT §3, Auto-renewal)."""
    term = Term(start=state.term.end, end=add_months(state.term.end, 12))
    return plan_renewal(
        state,
        term=term,
        seats=auto_renewal_seats(state),
        tier=state.tier,
        unit_price=state.unit_price,
        with_true_up=True,
    )


def grace_end(failed_on: date, covers_from: date) -> date:
    """The end of the grace period: 14 days after the failure, or after the unpaid term starts.

    Rule: CONTRACT §3 (a failed renewal payment opens a 14-day grace period). A renewal paid in
    advance that fails before its term starts gets its 14 days from that start.
    """
    return max(failed_on, covers_from) + GRACE_PERIOD
