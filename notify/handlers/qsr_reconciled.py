"""qsr_reconciled: the reconciliation invoice was issued and the seats paid for rose."""

from __future__ import annotations

from billingcore.outcomes import NoticeDue
from billingcore.state import Subscription
from notify.handlers.common import Branding, EmailSpec, FactReader, spec


def build(state: Subscription, notice: NoticeDue, brand: Branding) -> EmailSpec:
    """Seats now paid for and the invoice total."""
    facts = FactReader(state, notice)
    k = facts.integer("quarter")
    return spec(
        state,
        notice,
        brand,
        quarter=k,
        remaining_quarters=4 - k,
        reconciliation_date=facts.day("reconciliation_date"),
        overage=facts.integer("overage"),
        seats=facts.integer("seats"),
        invoice_total=facts.money("invoice_total"),
    )
