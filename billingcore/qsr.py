"""Quarterly subscription reconciliation (QSR).

Rules (CONTRACT §3, after GitLab's documented QSR policy): reconciliation dates are
``term_start`` + 3, 6 and 9 months; quarter k runs from ``term_start`` + 3(k−1) months to its
reconciliation date; overage of quarter k = max(0, max users of quarter k − seats paid for);
amount = ``overage × unit_price × (4 − k) / 4``; the fourth quarter is never charged. The notice
goes out on the reconciliation date (saas) or 6 days after it (self_managed); the invoice 7 days
after the notice, with the overage measured again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache

from billingcore.dates import Term, add_months
from billingcore.invoices import InvoiceLine
from billingcore.money import Money, round_line
from billingcore.state import Deployment, Subscription, max_users

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
    return InvoiceLine(
        description=f"Quarterly reconciliation, quarter {k}: {overage} seats, {period}",
        quantity=overage,
        unit_price=state.unit_price,
        service_period=period,
        amount=qsr_amount(overage, state.unit_price, k),
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
