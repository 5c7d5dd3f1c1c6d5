"""Quarterly subscription reconciliation (QSR): when it falls due and what it bills.

Rules (CONTRACT §3, after GitLab's documented QSR policy): reconciliation dates are
``term_start`` + 3, 6 and 9 months; quarter k runs from ``term_start`` + 3(k−1) months to its
reconciliation date; overage of quarter k = max(0, max users of quarter k − seats paid for);
amount = ``overage × unit_price × (4 − k) / 4``; the fourth quarter is never charged. With an
overage, the notice goes out on the reconciliation date (saas) or 6 days after it
(self_managed); 7 days after the notice the overage is measured again (seats bought meanwhile
count), invoiced, and added to the seats paid for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from billingcore.commands import cause_of
from billingcore.dates import Term, add_months
from billingcore.eligibility import qsr_eligibility
from billingcore.explanations import Explanation, Rule, counted, money_text, price_inputs
from billingcore.invoices import InvoiceLine, InvoicePurpose, issue
from billingcore.money import Money, round_line
from billingcore.notices import NoticeKind, QsrNotice, QsrReconciled, notice_key
from billingcore.occasion import Occasion, OccasionKind
from billingcore.outcomes import Applied, InvoiceIssued, Result
from billingcore.rules import Family, Found, Window
from billingcore.state import Deployment, OpenInvoice, PendingQsr, Subscription, evolve
from billingcore.usage import max_users, max_users_evidence

QUARTERS = (1, 2, 3)
SELF_MANAGED_NOTICE_DELAY = timedelta(days=6)
INVOICE_DELAY = timedelta(days=7)


@lru_cache(maxsize=8192)
def reconciliation_dates(term_start: date) -> tuple[date, date, date]:
    """``term_start`` + 3, 6 and 9 months, clamped to month ends (CONTRACT §3)."""
    return (add_months(term_start, 3), add_months(term_start, 6), add_months(term_start, 9))


def quarter(term: Term, k: int) -> Term:
    """Quarter ``k`` (1..4): ``term_start`` + 3(k−1) months to + 3k months (CONTRACT §3)."""
    if not 1 <= k <= 4:
        raise ValueError(f"quarter must be 1..4, got {k}")
    return Term(start=add_months(term.start, 3 * (k - 1)), end=add_months(term.start, 3 * k))


def notice_date(reconciliation_date: date, deployment: Deployment) -> date:
    """The QSR notice date: the reconciliation date (saas) or 6 days later (CONTRACT §3)."""
    if deployment is Deployment.SELF_MANAGED:
        return reconciliation_date + SELF_MANAGED_NOTICE_DELAY
    return reconciliation_date


def invoice_date(notice_on: date) -> date:
    """The QSR invoice date: 7 days after the notice (CONTRACT §3)."""
    return notice_on + INVOICE_DELAY


def quarter_overage(state: Subscription, k: int) -> int:
    """max(0, max users of quarter ``k`` − seats paid for now) (CONTRACT §3)."""
    return max(0, max_users(state, quarter(state.term, k)) - state.seats_paid_for)


def qsr_amount(overage: int, unit_price: Money, k: int) -> Money:
    """``overage × unit_price × (4 − k) / 4``, rounded once; never for quarter 4 (CONTRACT §3)."""
    if not 1 <= k <= 4:
        raise ValueError(f"quarter must be 1..4, got {k}")
    exact = overage * unit_price.amount * (4 - k) / Decimal(4)
    return round_line(exact, unit_price.currency)


def qsr_line(state: Subscription, k: int, overage: int) -> InvoiceLine:
    """The line for ``overage`` seats reconciled in quarter ``k``, to the term end (CONTRACT §3)."""
    period = Term(start=reconciliation_dates(state.term.start)[k - 1], end=state.term.end)
    measured = quarter(state.term, k)
    price = state.unit_price
    return InvoiceLine(
        description=f"Quarterly reconciliation, quarter {k}: {overage} seats, {period}",
        quantity=overage,
        unit_price=price,
        service_period=period,
        amount=qsr_amount(overage, price, k),
        explanation=Explanation(
            rule=Rule.QSR_OVERAGE,
            formula=(
                f"{counted(overage, 'user', 'users')} over × {money_text(price)} × "
                f"{4 - k}/4 quarters left"
            ),
            inputs={
                "overage": overage,
                **price_inputs(price),
                "quarter": k,
                "quarters_left": 4 - k,
                "quarters": 4,
                "quarter_start": measured.start.isoformat(),
                "quarter_end": measured.end.isoformat(),
                "seats_paid_for": state.seats_paid_for,
                **max_users_evidence(state, measured),
            },
        ),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class QsrQuote:
    """What quarter ``quarter``'s reconciliation would bill now."""

    quarter: int
    reconciliation_date: date
    notice_date: date
    invoice_date: date
    overage: int
    amount: Money


def qsr_quote(state: Subscription, k: int) -> QsrQuote:
    """The overage and amount of quarter ``k`` as the usage stands (CONTRACT §3, QSR)."""
    if k not in QUARTERS:
        raise ValueError(f"only quarters 1..3 are reconciled, got {k}")
    reconciled_on = reconciliation_dates(state.term.start)[k - 1]
    notice_on = notice_date(reconciled_on, state.deployment)
    overage = quarter_overage(state, k)
    return QsrQuote(
        quarter=k,
        reconciliation_date=reconciled_on,
        notice_date=notice_on,
        invoice_date=invoice_date(notice_on),
        overage=overage,
        amount=qsr_amount(overage, state.unit_price, k),
    )


# -- when it falls due ---------------------------------------------------------------------------


def _calendar(start: date, end: date, deployment: Deployment) -> list[date]:
    return [notice_on for _, notice_on, _ in _quarters(start, deployment)]


@lru_cache(maxsize=2048)
def _quarters(start: date, deployment: Deployment) -> tuple[tuple[int, date, Term], ...]:
    # Each reconciled quarter of a term starting on ``start``: its number, its notice date and
    # the period its max users are measured over. The same for every term that starts that day.
    dates = reconciliation_dates(start)
    starts = (start, *dates[:-1])
    return tuple(
        (k, notice_date(dates[k - 1], deployment), Term(start=starts[k - 1], end=dates[k - 1]))
        for k in QUARTERS
    )


def _moving(state: Subscription) -> tuple[date | None]:
    return (None if state.pending_qsr is None else state.pending_qsr.invoice_date,)


def _due(state: Subscription, window: Window, found: Found) -> None:
    pending = state.pending_qsr
    if pending is not None and window.holds(pending.invoice_date):
        found.append((pending.invoice_date, OccasionKind.QSR_INVOICE))
    quarters = [q for q in _quarters(state.term.start, state.deployment) if window.holds(q[1])]
    if not quarters or not qsr_eligibility(state).eligible:
        return
    for k, on, measured in quarters:
        if pending is not None and pending.quarter == k:
            continue
        if max_users(state, measured) > state.seats_paid_for:
            found.append((on, OccasionKind.QSR_NOTICE))


# -- what it does --------------------------------------------------------------------------------


def _quarter_of(state: Subscription, occasion: Occasion) -> int:
    dates = reconciliation_dates(state.term.start)
    on = occasion.due_on
    return next(k for k in QUARTERS if notice_date(dates[k - 1], state.deployment) == on)


def _qsr_notice(state: Subscription, occasion: Occasion, now: datetime) -> Result:
    """qsr_notice with the overage of the quarter, amount and invoice date (CONTRACT §3 QSR)."""
    k = _quarter_of(state, occasion)
    quote = qsr_quote(state, k)
    pending = PendingQsr(
        quarter=quote.quarter,
        reconciliation_date=quote.reconciliation_date,
        overage_at_notice=quote.overage,
        notice_date=quote.notice_date,
        invoice_date=quote.invoice_date,
    )
    qsr = QsrNotice(
        key=notice_key(state.id, NoticeKind.QSR_NOTICE, quote.reconciliation_date.isoformat()),
        cause=cause_of(occasion),
        quarter=k,
        quarter_period=quarter(state.term, k),
        quarters_left=4 - k,
        reconciliation_date=quote.reconciliation_date,
        overage=quote.overage,
        seats=state.seats_paid_for,
        max_users=state.seats_paid_for + quote.overage,
        unit_price=state.unit_price,
        amount=quote.amount,
        invoice_date=quote.invoice_date,
    )
    return Applied(state=evolve(state, pending_qsr=pending), outcomes=(qsr,))


def _qsr_invoice(state: Subscription, occasion: Occasion, now: datetime) -> Result:
    """7 days after the notice: the overage measured again is invoiced and added to the seats.

    Rule: CONTRACT §3 QSR (seats bought meanwhile count). With no overage left, nothing is
    billed and no email goes out.
    """
    pending = state.pending_qsr
    assert pending is not None  # listed only while a reconciliation is pending
    cleared = evolve(state, pending_qsr=None)
    overage = quarter_overage(state, pending.quarter)
    if overage == 0:
        return Applied(state=cleared)
    line = qsr_line(state, pending.quarter, overage)
    occasion_on = pending.reconciliation_date.isoformat()
    invoice = issue(state.id, InvoicePurpose.QSR, occasion_on, (line,), occasion.due_on)
    seats = state.seats_paid_for + overage
    new_state = evolve(
        cleared,
        seats_paid_for=seats,
        open_invoices=(*state.open_invoices, OpenInvoice.of(invoice, pending.reconciliation_date)),
    )
    cause = cause_of(occasion)
    reconciled = QsrReconciled(
        key=notice_key(state.id, NoticeKind.QSR_RECONCILED, occasion_on),
        cause=cause,
        quarter=pending.quarter,
        quarters_left=4 - pending.quarter,
        reconciliation_date=pending.reconciliation_date,
        overage=overage,
        seats=seats,
        invoice_key=invoice.key,
        invoice_total=invoice.total,
    )
    return Applied(
        state=new_state, outcomes=(InvoiceIssued(invoice=invoice, cause=cause), reconciled)
    )


FAMILY = Family(
    name="qsr",
    occasions={OccasionKind.QSR_NOTICE: _qsr_notice, OccasionKind.QSR_INVOICE: _qsr_invoice},
    due=_due,
    calendar=_calendar,
    moving=_moving,
)
