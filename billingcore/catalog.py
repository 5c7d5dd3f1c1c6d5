"""Tiers and their list prices.

Rule (CONTRACT §2, ``subscription.created``): ``unit_price`` is per seat per year, the effective
(discounted) price; without one the list price applies: premium ``348.00``, ultimate ``1188.00``.
The list prices are in USD. The contract names no price for any other currency, so a non-USD
subscription must state its unit price: without one it is refused (``NoListPrice``) rather than
converted at a rate this service does not know.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from billingcore.money import Money

LIST_PRICE_CURRENCY = "USD"


class Tier(StrEnum):
    """A product tier; a higher rank is a higher tier."""

    PREMIUM = "premium"
    ULTIMATE = "ultimate"

    @property
    def rank(self) -> int:
        """Order of tiers: an upgrade goes to a strictly higher rank (CONTRACT §2)."""
        return _RANK[self]

    @property
    def product_name(self) -> str:
        """The tier's product name (``Premium``)."""
        return self.value.capitalize()


_RANK = {Tier.PREMIUM: 1, Tier.ULTIMATE: 2}

LIST_PRICES: dict[Tier, Money] = {
    Tier.PREMIUM: Money.of("348.00", LIST_PRICE_CURRENCY),
    Tier.ULTIMATE: Money.of("1188.00", LIST_PRICE_CURRENCY),
}


class NoListPrice(ValueError):
    """No unit price was given and the catalog has no list price in that currency."""


class InvalidPrice(ValueError):
    """A given unit price is negative or in another currency than the subscription's."""


def list_price(tier: Tier) -> Money:
    """The list price of ``tier`` per seat per year, in USD (CONTRACT §2)."""
    return LIST_PRICES[tier]


def effective_unit_price(tier: Tier, given: Money | None, currency: str) -> Money:
    """The price per seat per year that applies: ``given`` if any, else the tier's list price.

    Rule: CONTRACT §2 (``unit_price?`` defaults to the list price). A given price must be in
    ``currency`` and not negative (``InvalidPrice``). List prices exist in USD only: a non-USD
    subscription without a price raises ``NoListPrice`` (decision recorded in docs/billing.md).
    """
    if given is not None:
        if given.currency != currency:
            raise InvalidPrice(
                f"unit price is in {given.currency} but the subscription is in {currency}"
            )
        if given.amount < Decimal(0):
            raise InvalidPrice(f"unit price may not be negative: {given}")
        return given
    if currency != LIST_PRICE_CURRENCY:
        raise NoListPrice(
            f"no list price in {currency}: a {currency} subscription must state its unit_price"
        )
    return list_price(tier)
