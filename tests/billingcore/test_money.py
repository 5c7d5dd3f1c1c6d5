"""Money: exact decimals with a currency, rounded once per line, half up, to the minor unit."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billingcore.currencies import UnknownCurrency
from billingcore.money import (
    CurrencyMismatch,
    InvalidAmount,
    Money,
    parse_amount,
    round_line,
    sum_money,
)


def test_money_of_a_string_keeps_the_exact_decimal() -> None:
    """Money.of("348.00", "USD") holds Decimal("348.00") in USD."""
    money = Money.of("348.00", "USD")
    assert money.amount == Decimal("348.00")
    assert money.currency == "USD"
    assert str(money) == "348.00 USD"


@pytest.mark.parametrize("value", [348.0, True])
def test_money_from_a_float_or_bool_raises_type_error(value: object) -> None:
    """A float has already lost the exact value, so it is refused."""
    with pytest.raises(TypeError):
        Money.of(value, "USD")  # type: ignore[arg-type]


def test_money_constructor_insists_on_a_decimal() -> None:
    """The dataclass itself refuses a float or a str amount."""
    with pytest.raises(TypeError):
        Money(amount=1.5, currency="USD")  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["NaN", "Infinity"])
def test_money_refuses_non_finite_amounts(value: str) -> None:
    """NaN and infinities are not amounts."""
    with pytest.raises(InvalidAmount):
        Money.of(value, "USD")
    with pytest.raises(InvalidAmount):
        Money(amount=Decimal(value), currency="USD")


def test_money_refuses_unknown_currencies() -> None:
    """A code outside ISO 4217 is refused."""
    with pytest.raises(UnknownCurrency):
        Money.of("1", "XYZ")


def test_arithmetic_within_one_currency() -> None:
    """Add, subtract, negate, multiply by int or Decimal and compare, in one currency."""
    a, b = Money.of("10.50", "EUR"), Money.of(2, "EUR")
    assert a + b == Money.of("12.50", "EUR")
    assert a - b == Money.of("8.50", "EUR")
    assert -a == Money.of("-10.50", "EUR")
    assert a * 3 == Money.of("31.50", "EUR")
    assert 2 * a == Money.of("21.00", "EUR")
    assert a * Decimal("0.5") == Money.of("5.25", "EUR")
    assert b < a and b <= a and a > b and a >= b
    assert Money.zero("EUR") == Money.of(0, "EUR")


def test_multiplying_by_a_float_raises() -> None:
    """A float factor is refused like a float amount."""
    with pytest.raises(TypeError):
        Money.of(1, "USD") * 1.5  # type: ignore[operator]


@pytest.mark.parametrize(
    "operation",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a < b,
        lambda a, b: a <= b,
        lambda a, b: a > b,
        lambda a, b: a >= b,
    ],
)
def test_mixing_currencies_raises(operation: object) -> None:
    """USD and EUR never combine."""
    with pytest.raises(CurrencyMismatch):
        operation(Money.of(1, "USD"), Money.of(1, "EUR"))  # type: ignore[operator]


def test_combining_with_a_non_money_raises_type_error() -> None:
    """Money only combines with Money."""
    with pytest.raises(TypeError):
        Money.of(1, "USD") + Decimal(1)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("exact", "currency", "expected"),
    [
        ("953.424657", "USD", "953.42"),  # below half: down
        ("0.125", "USD", "0.13"),  # exactly half: up (not to even)
        ("0.135", "USD", "0.14"),
        ("-0.125", "USD", "-0.13"),  # half up is away from zero for credits
        ("1234.5", "JPY", "1235"),  # JPY has no minor unit
        ("1234.4999", "JPY", "1234"),
        ("1.2345", "KWD", "1.235"),  # KWD has three decimals
        ("1.2344", "KWD", "1.234"),
    ],
)
def test_round_line_is_half_up_to_the_minor_unit(exact: str, currency: str, expected: str) -> None:
    """round_line rounds once, half up, to the currency's minor unit."""
    rounded = round_line(Decimal(exact), currency)
    assert rounded == Money.of(expected, currency)
    assert rounded.to_wire() == expected
    assert rounded.is_rounded


def test_is_rounded_and_wire_form() -> None:
    """An amount finer than the minor unit is not rounded; to_wire shows minor-unit digits."""
    assert not Money.of("1.005", "USD").is_rounded
    assert Money.of(5, "USD").to_wire() == "5.00"
    assert Money.of(5, "JPY").to_wire() == "5"
    assert Money.of(5, "KWD").to_wire() == "5.000"


def test_sum_money() -> None:
    """An empty sum is zero; otherwise the exact sum."""
    assert sum_money([], "USD") == Money.zero("USD")
    assert sum_money([Money.of("0.10", "USD"), Money.of("0.20", "USD")], "USD") == Money.of(
        "0.30", "USD"
    )


def test_a_sum_refuses_what_adding_refuses() -> None:
    """Another currency, something that is not money, a currency that does not exist."""
    with pytest.raises(CurrencyMismatch, match="cannot combine USD with EUR"):
        sum_money([Money.of("1", "USD"), Money.of("1", "EUR")], "USD")
    with pytest.raises(TypeError, match="cannot combine Money with Decimal"):
        sum_money([Decimal(1)], "USD")  # type: ignore[list-item]
    with pytest.raises(UnknownCurrency):
        sum_money([], "XXY")


@pytest.mark.parametrize(
    ("text", "currency", "expected"),
    [
        ("348.00", "USD", "348.00"),
        ("348", "USD", "348"),
        ("0.5", "USD", "0.5"),
        ("1000", "JPY", "1000"),
        ("1.234", "KWD", "1.234"),
        ("0", "USD", "0"),
    ],
)
def test_parse_amount_accepts_strict_decimals(text: str, currency: str, expected: str) -> None:
    """Digits with at most the minor-unit decimals."""
    assert parse_amount(text, currency) == Money.of(expected, currency)


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        ("348.001", "USD"),  # finer than a cent
        ("1000.5", "JPY"),  # JPY has no decimals
        ("1000.", "JPY"),
        ("1.2345", "KWD"),
        ("-1.00", "USD"),
        ("+1.00", "USD"),
        ("1e3", "USD"),
        (" 1.00", "USD"),
        ("01.00", "USD"),
        (".5", "USD"),
        ("NaN", "USD"),
        ("", "USD"),
        ("1,000.00", "USD"),
    ],
)
def test_parse_amount_refuses_anything_else(text: str, currency: str) -> None:
    """Signs, exponents, spaces, leading zeros and extra decimals are refused."""
    with pytest.raises(InvalidAmount):
        parse_amount(text, currency)


def test_parse_amount_needs_a_string_and_a_known_currency() -> None:
    """A number is not parsed; an unknown currency is refused."""
    with pytest.raises(TypeError):
        parse_amount(1.5, "USD")  # type: ignore[arg-type]
    with pytest.raises(UnknownCurrency):
        parse_amount("1.00", "XYZ")
