"""managing_users: 1 day after purchase or renewal, QSR-eligible saas subscriptions."""

from __future__ import annotations

from datetime import date

from billingcore.outcomes import NoticeDue
from billingcore.state import Subscription
from notify.handlers.common import Branding, EmailSpec, FactReader, spec
from notify.handlers.formatting import format_date, format_money


def build(state: Subscription, notice: NoticeDue, brand: Branding) -> EmailSpec:
    """How seats, billable users and quarterly reconciliation work, with this term's dates."""
    facts = FactReader(state, notice)
    dates = [date.fromisoformat(text) for text in facts.texts("reconciliation_dates")]
    return spec(
        state,
        notice,
        brand,
        seats=facts.integer("seats"),
        term=facts.term("term"),
        tier=facts.tier(),
        reconciliation_dates=[format_date(day, facts.locale) for day in dates],
        unit_price=format_money(state.unit_price, facts.locale),
    )
