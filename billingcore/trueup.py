"""Annual true-up, for subscriptions not eligible for QSR.

Rule (CONTRACT §3, after GitLab's documented true-up policy): at renewal, users over
subscription = max(0, max users of the ending term − seats paid for), charged as one line
``users over × unit_price`` (the full annual price) on the renewal invoice. It adds no seats to
the new term.
"""

from __future__ import annotations

from billingcore.dates import Term
from billingcore.eligibility import qsr_eligibility
from billingcore.explanations import Explanation, Rule, counted, money_text, price_inputs
from billingcore.invoices import InvoiceLine
from billingcore.money import Money, round_line
from billingcore.state import Subscription
from billingcore.usage import Reports, max_users, peak, peak_evidence


def true_up_users(state: Subscription) -> int:
    """max(0, max users of the current term − seats paid for) (CONTRACT §3, true-up)."""
    return _users_over(max_users(state, state.term), state.seats_paid_for)


def _users_over(most: int, seats_paid_for: int) -> int:
    return max(0, most - seats_paid_for)


def true_up_line(state: Subscription) -> InvoiceLine | None:
    """The true-up line of the renewal ending ``state.term``, or None when nothing is owed.

    Rule: CONTRACT §3: only for subscriptions not eligible for QSR; ``users over × unit_price``
    at the ending term's unit price, rounded once.
    """
    if qsr_eligibility(state).eligible:
        return None
    return true_up_of(state.term, state.seats_paid_for, state.unit_price, state.usage)


def true_up_of(
    term: Term, seats_paid_for: int, price: Money, reports: Reports
) -> InvoiceLine | None:
    """``true_up_line`` of a term not eligible for QSR, from its seats, price and usage reports
    (CONTRACT §3, true-up)."""
    most = peak(reports, term)
    users = _users_over(most, seats_paid_for)
    if users == 0:
        return None
    return InvoiceLine(
        description=f"Annual true-up: {users} users over subscription, {term}",
        quantity=users,
        unit_price=price,
        service_period=term,
        amount=round_line(users * price.amount, price.currency),
        explanation=Explanation(
            rule=Rule.TRUE_UP,
            formula=(
                f"{counted(users, 'user', 'users')} over × {money_text(price)} "
                f"(max users {most} − "
                f"{counted(seats_paid_for, 'seat', 'seats')} paid for)"
            ),
            inputs={
                "users_over": users,
                **price_inputs(price),
                "seats_paid_for": seats_paid_for,
                "term_start": term.start.isoformat(),
                "term_end": term.end.isoformat(),
                **peak_evidence(reports, term),
            },
        ),
    )
