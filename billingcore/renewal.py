"""Renewals: manual by event, automatic at the term end, or the expiry when neither happens.

Rules (CONTRACT §3): auto-renewal at 00:00 UTC on ``term_end``: the new term is
``[term_end, term_end + 12 months)``; seats = max(seats paid for, latest ``billable_users``);
invoice = seats × unit_price plus the true-up line where it applies. A manual renewal is the
only moment seats or tier can go down, never below the latest ``billable_users``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from billingcore.catalog import Tier
from billingcore.causes import Cause
from billingcore.commands import Renew, cause_of
from billingcore.dates import Term, add_months, midnight
from billingcore.eligibility import auto_renew_eligibility, qsr_eligibility
from billingcore.expiry import expire
from billingcore.explanations import Explanation, Rule, counted, money_text, price_inputs
from billingcore.invoices import Invoice, InvoiceLine, InvoicePurpose, issue
from billingcore.money import Money, round_line, sum_money
from billingcore.notices import NoticeKind, RenewalConfirmation, RenewalCost, notice_key
from billingcore.occasion import Occasion, OccasionKind
from billingcore.outcomes import Applied, InvoiceIssued, Rejected, Result, reject
from billingcore.pricing import unit_price
from billingcore.rules import Family, Found, Window, command_rule
from billingcore.state import (
    OpenInvoice,
    ScheduledRenewal,
    Status,
    Subscription,
    UsageReport,
    evolve,
)
from billingcore.trueup import true_up_line, true_up_of
from billingcore.usage import Reports, latest_billable_users, latest_of


@dataclass(frozen=True, slots=True, kw_only=True)
class RenewalPlan:
    """A renewal decided but not yet carried out: the new term and what it bills."""

    term: Term
    seats: int
    tier: Tier
    unit_price: Money
    lines: tuple[InvoiceLine, ...]
    true_up: InvoiceLine | None
    # The renewal invoice's total: the sum of its rounded lines. Summed once, when the plan is
    # made: the notices that state the renewal and the renewal itself each ask for it.
    total: Money = field(init=False)

    def __post_init__(self) -> None:
        total = sum_money([line.amount for line in self.lines], self.unit_price.currency)
        object.__setattr__(self, "total", total)

    @property
    def seats_amount(self) -> Money:
        """The new term's seats line: the first line of the plan."""
        return self.lines[0].amount

    def cost(self) -> RenewalCost:
        """The plan as a notice states it (CONTRACT §3, Forecast)."""
        return RenewalCost(
            seats=self.seats,
            unit_price=self.unit_price,
            seats_amount=self.seats_amount,
            true_up_users=0 if self.true_up is None else self.true_up.quantity,
            true_up_amount=None if self.true_up is None else self.true_up.amount,
            total=self.total,
        )


def renewal_line(
    tier: Tier, seats: int, price: Money, term: Term, basis: Mapping[str, Any] | None = None
) -> InvoiceLine:
    """``seats × unit_price`` for the new term, rounded once (CONTRACT §3, Auto-renewal).

    ``basis`` explains where an automatic renewal's seats come from.
    """
    formula = f"{counted(seats, 'seat', 'seats')} × {money_text(price)}"
    if basis is not None:
        formula += (
            f" (the larger of {counted(basis['seats_paid_for'], 'seat', 'seats')} paid for and "
            f"{counted(basis['latest_billable_users'] or 0, 'billable user', 'billable users')})"
        )
    return InvoiceLine(
        description=f"Renewal: {tier.product_name}, {seats} seats, {term}",
        quantity=seats,
        unit_price=price,
        service_period=term,
        amount=round_line(seats * price.amount, price.currency),
        explanation=Explanation(
            rule=Rule.RENEWAL,
            formula=formula,
            inputs={
                "seats": seats,
                **price_inputs(price),
                "tier": tier.value,
                "term_start": term.start.isoformat(),
                "term_end": term.end.isoformat(),
                **(basis or {}),
            },
        ),
    )


def plan_renewal(
    state: Subscription,
    *,
    term: Term,
    seats: int,
    tier: Tier,
    unit_price: Money,
    with_true_up: bool,
    basis: Mapping[str, Any] | None = None,
) -> RenewalPlan:
    """The renewal invoice's lines: the new term's seats and, when due, the true-up line.

    Rule: CONTRACT §3 (renewal invoice = seats × unit_price, plus the true-up line of the ending
    term for subscriptions not eligible for QSR).
    """
    seats_line = renewal_line(tier, seats, unit_price, term, basis)
    true_up = true_up_line(state) if with_true_up else None
    return _plan(term, seats, tier, unit_price, seats_line, true_up)


def _plan(
    term: Term,
    seats: int,
    tier: Tier,
    unit_price: Money,
    seats_line: InvoiceLine,
    true_up: InvoiceLine | None,
) -> RenewalPlan:
    lines: tuple[InvoiceLine, ...] = (seats_line,)
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
    latest = latest_of(state.usage, before=midnight(state.term.end))
    return _renewal_seats(state.seats_paid_for, latest)


def _renewal_seats(seats_paid_for: int, latest: UsageReport | None) -> int:
    return max(seats_paid_for, 0 if latest is None else latest.billable_users)


def plan_auto_renewal(state: Subscription) -> RenewalPlan:
    """The automatic renewal of ``state`` at its term end (CONTRACT §3, Auto-renewal)."""
    price = state.unit_price
    return _auto_renewal_plan(
        state.term,
        state.seats_paid_for,
        state.tier,
        str(price.amount),
        price.currency,
        state.usage,
        qsr_eligibility(state).eligible,
    )


@lru_cache(maxsize=256)
def _auto_renewal_plan(
    ending: Term,
    seats_paid_for: int,
    tier: Tier,
    price_text: str,
    currency: str,
    reports: Reports,
    qsr_eligible: bool,
) -> RenewalPlan:
    # The plan from the values it is made of, so that a walk makes it once per term although
    # each renewal reminder, the auto-renewal notice and the renewal itself ask for it. The
    # price comes as its exact text: 348 and 348.00 are equal amounts, but a line states its
    # unit price as it was given, so they must not share a plan.
    price = Money(amount=Decimal(price_text), currency=currency)
    report = latest_of(reports, before=midnight(ending.end))
    basis = {
        "seats_paid_for": seats_paid_for,
        "latest_billable_users": None if report is None else report.billable_users,
        "latest_report_observed_at": None if report is None else report.observed_at.isoformat(),
    }
    seats = _renewal_seats(seats_paid_for, report)
    term = Term(start=ending.end, end=add_months(ending.end, 12))
    seats_line = renewal_line(tier, seats, price, term, basis)
    true_up = None if qsr_eligible else true_up_of(ending, seats_paid_for, price, reports)
    return _plan(term, seats, tier, price, seats_line, true_up)


def new_term(
    state: Subscription, plan: RenewalPlan, *, status: Status, **changes: Any
) -> Subscription:
    """The state moved to the plan's term: usage, keys and QSR start again (CONTRACT §3).

    A renewal that replaces the current term (one starting on the same day) keeps the keys
    applied in it: what happened in that term stays done.
    """
    same_term = plan.term.start == state.term.start
    fields: dict[str, Any] = {
        "term": plan.term,
        "seats_paid_for": plan.seats,
        "tier": plan.tier,
        "unit_price": plan.unit_price,
        "status": status,
        "grace_ends": None,
        "expired_on": None,
        "usage": tuple(r for r in state.usage if r.observed_at >= midnight(plan.term.start)),
        "pending_qsr": None,
        "renewal": None,
        "applied_keys": state.applied_keys if same_term else frozenset(),
    }
    fields.update(changes)
    return evolve(state, **fields)


def _confirmation(
    state: Subscription,
    plan: RenewalPlan,
    invoice: Invoice,
    occasion: str,
    cause: Cause,
    *,
    automatic: bool,
) -> RenewalConfirmation:
    return RenewalConfirmation(
        key=notice_key(state.id, NoticeKind.RENEWAL_CONFIRMATION, occasion),
        cause=cause,
        term=plan.term,
        tier=plan.tier,
        seats=plan.seats,
        unit_price=plan.unit_price,
        seats_amount=plan.seats_amount,
        invoice_key=invoice.key,
        invoice_total=invoice.total,
        true_up_users=0 if plan.true_up is None else plan.true_up.quantity,
        true_up_amount=None if plan.true_up is None else plan.true_up.amount,
        automatic=automatic,
    )


def _refusal(state: Subscription, cmd: Renew, term: Term) -> Rejected | None:
    latest = latest_billable_users(state) or 0
    if cmd.seats < max(1, latest):
        return reject(
            "seats_below_usage",
            f"{cmd.seats} seats is fewer than the {latest} billable users (or fewer than 1)",
        )
    if state.renewal is not None:
        return reject("already_renewed", f"a renewal for {state.renewal.term} is scheduled")
    if term.start < state.term.start:
        return reject("before_current_term", f"{term} starts before the term {state.term}")
    if term.start > cmd.at.date() and term.start != state.term.end:
        return reject(
            "renewal_start_mismatch",
            f"a renewal that starts later must start at the term end {state.term.end}",
        )
    return None


def renew(state: Subscription, cmd: Renew, now: datetime) -> Result:
    """subscription.renewed: a manual renewal, the only time seats or tier can go down.

    Rule: CONTRACT §2/§3. Refused with fewer seats than the latest ``billable_users``. A
    renewal starting on or before its event's date takes effect at once (it revives an expired
    subscription and supersedes an unpaid auto-renewal); one starting later must start at the
    current term end and takes effect then. The true-up of the ending term is billed when the
    renewal starts a later term than the current one.
    """
    if cmd.term_end <= cmd.term_start:
        return reject("invalid_term", f"the term {cmd.term_start}..{cmd.term_end} is empty")
    term = Term(start=cmd.term_start, end=cmd.term_end)
    refusal = _refusal(state, cmd, term)
    if refusal is not None:
        return refusal
    tier = cmd.tier or state.tier
    same_price = cmd.unit_price is None and tier is state.tier
    price = state.unit_price if same_price else unit_price(tier, cmd.unit_price, state.currency)
    if isinstance(price, Rejected):
        return price
    plan = plan_renewal(
        state,
        term=term,
        seats=cmd.seats,
        tier=tier,
        unit_price=price,
        with_true_up=term.start > state.term.start,
    )
    occasion = f"{term.start.isoformat()}:{cmd.key}"
    invoice = issue(state.id, InvoicePurpose.RENEWAL, occasion, plan.lines, cmd.at.date())
    opened = OpenInvoice.of(invoice, term.start)
    if term.start <= cmd.at.date():
        kept = tuple(i for i in state.open_invoices if i.purpose is not InvoicePurpose.RENEWAL)
        new_state = new_term(state, plan, status=Status.ACTIVE, open_invoices=(*kept, opened))
    else:
        scheduled = ScheduledRenewal(term=term, seats=cmd.seats, tier=tier, unit_price=price)
        new_state = replace(state, renewal=scheduled, open_invoices=(*state.open_invoices, opened))
    cause = cause_of(cmd)
    confirmation = _confirmation(state, plan, invoice, cmd.key, cause, automatic=False)
    return Applied(
        state=new_state, outcomes=(InvoiceIssued(invoice=invoice, cause=cause), confirmation)
    )


# -- the term end --------------------------------------------------------------------------------


def _calendar(start: date, end: date, deployment: object) -> list[date]:
    return [end]


def _due(state: Subscription, window: Window, found: Found) -> None:
    if window.holds(state.term.end):
        found.append((state.term.end, OccasionKind.TERM_END))


def _term_end(state: Subscription, occasion: Occasion, now: datetime) -> Result:
    """At 00:00 UTC on term_end: a scheduled renewal starts, or the auto-renewal, or expiry.

    Rule: CONTRACT §3 (Auto-renewal) and §4 (renewal_confirmation, subscription_expired).
    """
    scheduled = state.renewal
    if scheduled is not None:
        plan = RenewalPlan(
            term=scheduled.term,
            seats=scheduled.seats,
            tier=scheduled.tier,
            unit_price=scheduled.unit_price,
            lines=(),
            true_up=None,
        )
        status = Status.GRACE if state.status is Status.GRACE else Status.ACTIVE
        return Applied(state=new_term(state, plan, status=status, grace_ends=state.grace_ends))
    cause = cause_of(occasion)
    if state.status is Status.ACTIVE and auto_renew_eligibility(state).eligible:
        plan = plan_auto_renewal(state)
        starts = plan.term.start.isoformat()
        invoice = issue(state.id, InvoicePurpose.RENEWAL, starts, plan.lines, occasion.due_on)
        new_state = new_term(
            state,
            plan,
            status=Status.ACTIVE,
            open_invoices=(*state.open_invoices, OpenInvoice.of(invoice, plan.term.start)),
        )
        confirmation = _confirmation(state, plan, invoice, starts, cause, automatic=True)
        return Applied(
            state=new_state, outcomes=(InvoiceIssued(invoice=invoice, cause=cause), confirmation)
        )
    return expire(state, state.term.end, cause)


FAMILY = Family(
    name="renewal",
    commands=dict([command_rule(Renew, renew)]),
    occasions={OccasionKind.TERM_END: _term_end},
    due=_due,
    calendar=_calendar,
)
