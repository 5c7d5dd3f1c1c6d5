"""Tiers, list prices and the effective unit price."""

from __future__ import annotations

import pytest

from billingcore.catalog import (
    InvalidPrice,
    NoListPrice,
    Tier,
    effective_unit_price,
    list_price,
)
from billingcore.money import Money


def test_tiers_rank_and_list_prices() -> None:
    """Premium 348.00 and Ultimate 1188.00 USD per seat per year; Ultimate ranks higher."""
    assert Tier.ULTIMATE.rank > Tier.PREMIUM.rank
    assert list_price(Tier.PREMIUM) == Money.of("348.00", "USD")
    assert list_price(Tier.ULTIMATE) == Money.of("1188.00", "USD")
    assert Tier.PREMIUM.product_name == "Premium"


def test_given_price_wins() -> None:
    """A discounted price in the subscription's currency is the effective price."""
    given = Money.of("300.00", "USD")
    assert effective_unit_price(Tier.PREMIUM, given, "USD") == given
    assert effective_unit_price(Tier.PREMIUM, Money.of(40000, "JPY"), "JPY").currency == "JPY"


def test_usd_without_a_price_takes_the_list_price() -> None:
    """No price given in USD: the list price."""
    assert effective_unit_price(Tier.ULTIMATE, None, "USD") == Money.of("1188.00", "USD")


@pytest.mark.parametrize("currency", ["EUR", "JPY", "KWD"])
def test_other_currencies_must_state_a_price(currency: str) -> None:
    """List prices exist in USD only: no conversion at an unknown rate."""
    with pytest.raises(NoListPrice, match=currency):
        effective_unit_price(Tier.PREMIUM, None, currency)


def test_wrong_currency_or_negative_price_is_invalid() -> None:
    """A price in another currency, or below zero, is refused."""
    with pytest.raises(InvalidPrice):
        effective_unit_price(Tier.PREMIUM, Money.of("300", "EUR"), "USD")
    with pytest.raises(InvalidPrice):
        effective_unit_price(Tier.PREMIUM, Money.of("-1", "USD"), "USD")
