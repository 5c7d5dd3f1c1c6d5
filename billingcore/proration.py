"""Proration: the share of a year's price that the rest of a term is worth.

Rules (CONTRACT §3): purchase ``seats × unit_price``; seats added
``added × unit_price × remaining / term_days``; upgrade a credit line
``−seats × old_price × remaining / term_days`` and a charge line
``seats × new_price × remaining / term_days``; remaining days at D = ``term_end − D``.
Each line is rounded once, half up, to the currency's minor unit.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, localcontext

from billingcore.catalog import Tier
from billingcore.dates import Term
from billingcore.invoices import InvoiceLine
from billingcore.money import Money, round_line

# The exact quotient is rounded once by ``round_line``. With a divisor of at most a few hundred
# days, a quotient's expansion never holds a run of more than two nines past the minor unit, so
# 60 significant digits carry the exact half-up decision for any amount below 10^50.
_PRECISION = 60


def prorate(full: Decimal, remaining: int, term_days: int) -> Decimal:
    """The exact ``full × remaining / term_days``, not yet rounded (CONTRACT §3)."""
    if not 0 <= remaining <= term_days:
        raise ValueError(f"remaining days {remaining} outside 0..{term_days}")
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return full * remaining / term_days


def _period(term: Term, effective_date: date) -> Term:
    if not term.contains(effective_date):
        raise ValueError(f"{effective_date} is outside the term {term}")
    return Term(start=effective_date, end=term.end)


def purchase_line(tier: Tier, seats: int, unit_price: Money, term: Term) -> InvoiceLine:
    """The purchase line ``seats × unit_price`` for the whole term (CONTRACT §3, Purchase)."""
    return InvoiceLine(
        description=f"{tier.product_name}, {seats} seats, {term}",
        quantity=seats,
        unit_price=unit_price,
        service_period=term,
        amount=round_line(seats * unit_price.amount, unit_price.currency),
    )


def seats_added_line(
    tier: Tier, added: int, unit_price: Money, term: Term, effective_date: date
) -> InvoiceLine:
    """``added × unit_price × remaining / term_days``, rounded once (CONTRACT §3, Seats added)."""
    period = _period(term, effective_date)
    exact = prorate(added * unit_price.amount, period.days, term.days)
    return InvoiceLine(
        description=f"{tier.product_name}, {added} additional seats, {period}",
        quantity=added,
        unit_price=unit_price,
        service_period=period,
        amount=round_line(exact, unit_price.currency),
    )


def upgrade_lines(
    *,
    seats: int,
    old_tier: Tier,
    old_price: Money,
    new_tier: Tier,
    new_price: Money,
    term: Term,
    effective_date: date,
) -> tuple[InvoiceLine, InvoiceLine]:
    """A credit for the old tier and a charge for the new one over the rest of the term.

    Rule: CONTRACT §3, Upgrade: credit ``−seats × old_price × remaining / term_days`` and charge
    ``seats × new_price × remaining / term_days``, each rounded once.
    """
    period = _period(term, effective_date)
    credit = prorate(seats * old_price.amount, period.days, term.days)
    charge = prorate(seats * new_price.amount, period.days, term.days)
    return (
        InvoiceLine(
            description=f"Credit: {old_tier.product_name}, {seats} seats, {period}",
            quantity=seats,
            unit_price=old_price,
            service_period=period,
            amount=-round_line(credit, old_price.currency),
        ),
        InvoiceLine(
            description=f"{new_tier.product_name}, {seats} seats, {period}",
            quantity=seats,
            unit_price=new_price,
            service_period=period,
            amount=round_line(charge, new_price.currency),
        ),
    )
