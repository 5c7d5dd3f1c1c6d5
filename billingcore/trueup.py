"""Annual true-up, for subscriptions not eligible for QSR.

Rule (CONTRACT §3, after GitLab's documented true-up policy): at renewal, users over
subscription = max(0, max users of the ending term − seats paid for), charged as one line
``users over × unit_price`` (the full annual price) on the renewal invoice. It adds no seats to
the new term.
"""

from __future__ import annotations

from billingcore.eligibility import qsr_eligibility
from billingcore.explanations import Explanation, Rule, counted, money_text, price_inputs
from billingcore.invoices import InvoiceLine
from billingcore.money import round_line
from billingcore.state import Subscription
from billingcore.usage import max_users, max_users_evidence


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
    price = state.unit_price
    return InvoiceLine(
        description=f"Annual true-up: {users} users over subscription, {state.term}",
        quantity=users,
        unit_price=price,
        service_period=state.term,
        amount=round_line(users * price.amount, state.currency),
        explanation=Explanation(
            rule=Rule.TRUE_UP,
            formula=(
                f"{counted(users, 'user', 'users')} over × {money_text(price)} "
                f"(max users {max_users(state, state.term)} − "
                f"{counted(state.seats_paid_for, 'seat', 'seats')} paid for)"
            ),
            inputs={
                "users_over": users,
                **price_inputs(price),
                "seats_paid_for": state.seats_paid_for,
                "term_start": state.term.start.isoformat(),
                "term_end": state.term.end.isoformat(),
                **max_users_evidence(state, state.term),
            },
        ),
    )
