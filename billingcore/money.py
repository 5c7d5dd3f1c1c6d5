"""Money: a ``Decimal`` amount with its ISO 4217 currency.

Rules (CONTRACT §3): money is never a float; amounts of different currencies never mix; each
invoice line is rounded once, half up, to its currency's minor unit.

Errors::

    ValueError
    ├── CurrencyMismatch   arithmetic or comparison across two currencies
    ├── InvalidAmount      a string that is not a strict decimal amount of its currency
    └── UnknownCurrency    (billingcore.currencies) a code outside ISO 4217
    TypeError              an amount built from a float (or anything but str, int, Decimal)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from billingcore.currencies import minor_units


class CurrencyMismatch(ValueError):
    """Two amounts of different currencies were combined."""


class InvalidAmount(ValueError):
    """A text is not a strict decimal amount in its currency."""


@lru_cache(maxsize=64)
def _exponent(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_units(currency))


def _to_decimal(value: object) -> Decimal:
    # bool is an int subclass, and a float has already lost the exact value: refuse both.
    if isinstance(value, bool | float) or not isinstance(value, str | int | Decimal):
        raise TypeError(f"money is built from str, int or Decimal, not {type(value).__name__}")
    amount = Decimal(value)
    if not amount.is_finite():
        raise InvalidAmount(f"amount must be finite, got {value!r}")
    return amount


@dataclass(frozen=True, slots=True, kw_only=True)
class Money:
    """An exact amount in one currency. Only same-currency arithmetic is allowed."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal) or isinstance(self.amount, bool):
            raise TypeError(f"Money.amount must be a Decimal, not {type(self.amount).__name__}")
        if not self.amount.is_finite():
            raise InvalidAmount(f"amount must be finite, got {self.amount!r}")
        minor_units(self.currency)

    @classmethod
    def of(cls, value: str | int | Decimal, currency: str) -> Money:
        """Build money from a decimal string, an int or a Decimal; a float raises TypeError."""
        return cls(amount=_to_decimal(value), currency=currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Zero in ``currency``."""
        return cls(amount=Decimal(0), currency=currency)

    def _same(self, other: Money) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(amount=self.amount + self._same(other).amount, currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(amount=self.amount - self._same(other).amount, currency=self.currency)

    def __neg__(self) -> Money:
        return Money(amount=-self.amount, currency=self.currency)

    def __mul__(self, factor: int | Decimal) -> Money:
        return Money(amount=self.amount * _to_decimal(factor), currency=self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same(other).amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._same(other).amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._same(other).amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._same(other).amount

    @property
    def is_rounded(self) -> bool:
        """True when the amount has no digits beyond its currency's minor unit."""
        return self.amount == self.amount.quantize(_exponent(self.currency))

    def to_wire(self) -> str:
        """The amount as a decimal string with exactly the minor-unit digits (``"348.00"``)."""
        return str(self.amount.quantize(_exponent(self.currency), rounding=ROUND_HALF_UP))

    def __str__(self) -> str:
        return f"{self.to_wire()} {self.currency}"


def round_line(amount: Decimal, currency: str) -> Money:
    """Round an invoice line's exact amount once, half up, to the currency's minor unit.

    Rule: CONTRACT §3, "each invoice line is rounded once, to the currency's minor unit, half up".
    """
    exact = _to_decimal(amount)
    return Money(
        amount=exact.quantize(_exponent(currency), rounding=ROUND_HALF_UP), currency=currency
    )


def sum_money(amounts: tuple[Money, ...] | list[Money], currency: str) -> Money:
    """Sum amounts of one currency; an empty sum is zero in ``currency``.

    Rule: CONTRACT §3, an invoice total is the sum of its rounded lines (no further rounding).
    """
    # Summed as Decimals, in order, then made Money once: the same arithmetic (and the same
    # checks) as adding Money to Money.zero one by one, without an intermediate Money per line.
    zero = Money.zero(currency)
    total = zero.amount
    for amount in amounts:
        total += zero._same(amount).amount
    return Money(amount=total, currency=currency)


_AMOUNT = re.compile(r"(?:0|[1-9][0-9]*)(?:\.([0-9]+))?")


def parse_amount(text: str, currency: str) -> Money:
    """Parse a wire amount strictly: digits, an optional point and at most the minor-unit digits.

    Rule: CONTRACT §2/§3, money travels as decimal strings and is validated strictly, with no
    coercion of fractions of minor units. Signs, exponents, spaces, leading zeros and a
    trailing point are refused; ``"1000"`` is valid JPY, ``"1000.5"`` is not.
    """
    if not isinstance(text, str):
        raise TypeError(f"an amount is parsed from str, not {type(text).__name__}")
    digits = minor_units(currency)
    match = _AMOUNT.fullmatch(text)
    if match is None:
        raise InvalidAmount(f"{text!r} is not a decimal amount")
    fraction = match.group(1)
    if fraction is not None and len(fraction) > digits:
        raise InvalidAmount(
            f"{text!r} has more than {digits} decimal place(s), the minor unit of {currency}"
        )
    return Money(amount=Decimal(text), currency=currency)
