"""Explanations: each invoice line says which rule made it, its arithmetic and its inputs.

Rule: CONTRACT §6, every invoice line carries ``explanation``: ``rule`` a stable id of the rule
that produced it, ``formula`` the arithmetic in words with its numbers (``8 users over ×
$1,188.00 × 3/4 quarters left``), ``inputs`` the values it used (quantities, prices, day counts,
the quarter, the usage reports by ``observed_at`` that set a maximum). The billing core writes
the explanation when it makes the line, so nothing is reconstructed later.

``inputs`` hold JSON values only (str, int, bool, None, lists and objects of those): dates and
timestamps as ISO 8601 text, money as decimal strings with the currency beside them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import Any

from billingcore.currencies import minor_units
from billingcore.money import Money


class Rule(StrEnum):
    """The stable ids of the rules that make invoice lines (CONTRACT §3)."""

    PURCHASE = "purchase"
    SEATS_ADDED = "proration.seats"
    UPGRADE_CREDIT = "proration.upgrade_credit"
    UPGRADE_CHARGE = "proration.upgrade_charge"
    QSR_OVERAGE = "qsr.overage"
    TRUE_UP = "trueup"
    RENEWAL = "renewal.seats"


@dataclass(frozen=True, slots=True, kw_only=True)
class Explanation:
    """Why an invoice line has its amount."""

    rule: Rule
    formula: str
    # Not hashed: a mapping is not hashable, and two lines are told apart by their amounts.
    inputs: Mapping[str, Any] = field(hash=False)

    def to_view(self) -> dict[str, Any]:
        """The contract's form: ``{"rule", "formula", "inputs"}``."""
        return {"rule": self.rule.value, "formula": self.formula, "inputs": dict(self.inputs)}


_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


@lru_cache(maxsize=1024)
def money_text(money: Money) -> str:
    """``$1,188.00``, ``€87.50``, ``1,000.00 CHF``: an amount as internal teams read formulas.

    Rule: CONTRACT §6 (``formula`` the arithmetic in words with its numbers), in English.
    Equal amounts read the same (348 and 348.00 both ``$348.00``), so it is worked out once per
    amount: every line and assumption states a unit price, and there are few of those.
    """
    digits = minor_units(money.currency)
    amount = abs(money.amount)
    text = f"{amount:,.{digits}f}"
    sign = "−" if money.amount < Decimal(0) else ""
    symbol = _SYMBOLS.get(money.currency)
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {money.currency}"


def counted(n: int, one: str, many: str) -> str:
    """``1 seat``, ``8 seats``: a count with its noun (CONTRACT §6, formulas in words)."""
    return f"{n} {one if n == 1 else many}"


def price_inputs(unit_price: Money) -> dict[str, Any]:
    """The inputs every line shares: its unit price and currency (CONTRACT §6, inputs)."""
    return {"unit_price": unit_price.to_wire(), "currency": unit_price.currency}


def usage_evidence(reports: Iterable[tuple[str, int]]) -> list[dict[str, Any]]:
    """The usage reports that set a maximum, by ``observed_at`` (CONTRACT §6, inputs)."""
    return [{"observed_at": observed_at, "users": users} for observed_at, users in reports]
