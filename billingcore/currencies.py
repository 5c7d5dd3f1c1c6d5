"""ISO 4217 currencies and their minor units.

Rule: every amount is rounded to its currency's minor unit (ISO 4217 "E" column). Most currencies
have 2; the exceptions below are listed explicitly, and any code not in ``CURRENCIES`` is unknown.
Source: ISO 4217 list one (active codes), as published by the SIX maintenance agency.
"""

from __future__ import annotations

_ZERO = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE = "BHD IQD JOD KWD LYD OMR TND"
_FOUR = "CLF UYW"
_TWO = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN BZD "
    "CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD "
    "GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL "
    "MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK "
    "PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB "
    "TJS TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VES WST XCD YER ZAR ZMW ZWG"
)

CURRENCIES: dict[str, int] = {
    **{code: 2 for code in _TWO.split()},
    **{code: 0 for code in _ZERO.split()},
    **{code: 3 for code in _THREE.split()},
    **{code: 4 for code in _FOUR.split()},
}


class UnknownCurrency(ValueError):
    """A currency code that is not an active ISO 4217 code."""


def minor_units(code: str) -> int:
    """Number of decimal places of ``code``'s minor unit (USD 2, JPY 0, KWD 3)."""
    try:
        return CURRENCIES[code]
    except KeyError:
        raise UnknownCurrency(f"unknown ISO 4217 currency: {code!r}") from None
