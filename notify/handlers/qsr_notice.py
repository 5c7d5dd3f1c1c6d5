"""qsr_notice: an overage found at a quarterly reconciliation, invoiced 7 days later."""

from __future__ import annotations

from typing import Any

from billingcore.outcomes import NoticeDue
from billingcore.qsr import quarter, reconciliation_dates
from billingcore.state import Subscription
from notify.handlers.common import Branding, EmailSpec, FactReader, spec
from notify.handlers.formatting import format_term


def build(state: Subscription, notice: NoticeDue, brand: Branding) -> EmailSpec:
    """Overage seats, what they will cost, and when the invoice comes (CONTRACT §3 QSR).

    The amount covers the quarters left in the term: ``overage × unit_price × (4 − k) / 4``.
    """
    facts = FactReader(state, notice)
    k = facts.integer("quarter")
    seats = facts.integer("seats")
    overage = facts.integer("overage")
    return spec(
        state,
        notice,
        brand,
        quarter=k,
        quarter_period=_quarter_period(state, facts, k),
        remaining_quarters=4 - k,
        reconciliation_date=facts.day("reconciliation_date"),
        overage=overage,
        seats=seats,
        max_users=seats + overage,
        unit_price=facts.money("unit_price"),
        amount=facts.money("amount"),
        invoice_date=facts.day("invoice_date"),
    )


def _quarter_period(state: Subscription, facts: FactReader, k: int) -> dict[str, Any] | None:
    # The notice names the reconciliation date but not the quarter's start; the state's term
    # gives it, provided the notice belongs to that term.
    if reconciliation_dates(state.term.start)[k - 1] != facts.day_value("reconciliation_date"):
        return None
    return format_term(quarter(state.term, k), facts.locale)
