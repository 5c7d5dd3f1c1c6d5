"""Annual true-up, for subscriptions not eligible for QSR.

Rule (CONTRACT §3, after GitLab's documented true-up policy): at renewal, users over
subscription = max(0, max users of the ending term − seats paid for), charged as one line
``users over × unit_price`` (the full annual price) on the renewal invoice. It adds no seats to
the new term.
"""

from __future__ import annotations

from billingcore.invoices import InvoiceLine
from billingcore.money import round_line
from billingcore.state import Subscription, max_users, qsr_eligibility


def true_up_users(state: Subscription) -> int:
    """max(0, max users of the current term − seats paid for) (CONTRACT §3, true-up)."""
    return max(0, max_users(state, state.term) - state.seats_paid_for)


def true_up_line(state: Subscription) -> InvoiceLine | None:
    """The true-up line of the renewal ending ``state.term``, or None when nothing is owed.

    Rule: CONTRACT §3: only for subscriptions not eligible for QSR; ``users over × unit_price``
    at the ending term's unit price, rounded once.
    """
    if qsr_eligibility(state).eligible:
        return None
    users = true_up_users(state)
    if users == 0:
        return None
    return InvoiceLine(
        description=f"Annual true-up: {users} users over subscription, {state.term}",
        quantity=users,
        unit_price=state.unit_price,
        service_period=state.term,
        amount=round_line(users * state.unit_price.amount, state.currency),
    )
