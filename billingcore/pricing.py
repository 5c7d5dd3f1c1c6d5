"""Unit prices as a command gives them, checked and resolved to money of the subscription.

Rule: CONTRACT §2 (``unit_price?`` is per seat per year, the effective price, default the list
price) and §3 (money is validated strictly: no fractions of minor units). A price the wire
gives without a currency (upgrade, renewal) is in the subscription's currency.
"""

from __future__ import annotations

from decimal import Decimal

from billingcore.catalog import InvalidPrice, NoListPrice, Tier, effective_unit_price
from billingcore.money import Money
from billingcore.outcomes import Rejected, reject


def unit_price(tier: Tier, given: Money | Decimal | None, currency: str) -> Money | Rejected:
    """The unit price that applies to ``tier`` in ``currency``, or the refusal.

    Rule: CONTRACT §2/§3: the given price (a bare amount is read in ``currency`` and may not
    have more decimals than its minor unit), else the list price.
    """
    if isinstance(given, Decimal):
        given = Money(amount=given, currency=currency)
        if not given.is_rounded:
            return reject(
                "invalid_price",
                f"{given.amount} has more decimal places than the minor unit of {currency}",
            )
    try:
        return effective_unit_price(tier, given, currency)
    except NoListPrice as exc:
        return reject("no_list_price", str(exc))
    except InvalidPrice as exc:
        return reject("invalid_price", str(exc))
