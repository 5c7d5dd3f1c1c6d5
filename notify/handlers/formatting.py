"""Money and dates written for the customer's locale, as JSON values for email templates.

Rule: CONTRACT §4, amounts appear formatted for the customer's locale (``en``: ``$1,234.56``).
A locale Babel does not know falls back to ``en``: an email is never held back by a locale.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as babel_format_date
from babel.dates import format_skeleton
from babel.numbers import format_currency

from billingcore.dates import Term
from billingcore.money import Money

FALLBACK_LOCALE = "en"
# The languages the copy is written in (CONTRACT §4), as gettext names its catalogs.
LANGUAGES = ("en", "de", "fr", "es", "ja", "pt_BR")
# A language with regional catalogs reads this one when its region has none of its own: the
# only Portuguese copy is Brazilian, which a reader in Portugal reads more easily than English.
_LANGUAGE_DEFAULTS = {"pt": "pt_BR"}


@lru_cache(maxsize=256)
def resolve_locale(code: str | None) -> Locale:
    """The Babel locale of ``code`` (``de``, ``de-DE``, ``pt_BR``); a region Babel does not
    know falls back to its language (``de_XX`` → ``de``), anything else to ``en``."""
    if code:
        cleaned = code.strip().replace("-", "_")
        for candidate in (cleaned, cleaned.split("_")[0]):
            try:
                return Locale.parse(candidate)
            except (UnknownLocaleError, ValueError, TypeError):
                continue
    return Locale.parse(FALLBACK_LOCALE)


@lru_cache(maxsize=256)
def copy_language(code: str | None) -> str:
    """The language of the copy for the locale ``code``, one of ``LANGUAGES``.

    Rule: CONTRACT §4, a locale with a region falls back to its language (``de-AT`` → ``de``),
    an unknown one to ``en``. ``pt-BR`` and ``pt_br`` read ``pt_BR``, and so does any other
    Portuguese locale.
    """
    if not code:
        return FALLBACK_LOCALE
    parts = code.strip().replace("-", "_").split("_")
    language = parts[0].lower()
    if len(parts) > 1:
        regional = f"{language}_{parts[1].upper()}"
        if regional in LANGUAGES:
            return regional
    if language in LANGUAGES:
        return language
    return _LANGUAGE_DEFAULTS.get(language, FALLBACK_LOCALE)


def money_text(amount: Money, locale: Locale) -> str:
    """``amount`` as the locale writes it: ``$1,234.56`` (en), ``1.234,56 €`` (de), ``¥1,235``."""
    return _money_text(amount.amount, amount.currency, str(locale))


# Babel takes tens of µs per call and an email formats a dozen values, most of them repeating
# (the same term dates, the same unit price): caching keeps a handler near 100 µs.
@lru_cache(maxsize=4096)
def _money_text(amount: Decimal, currency: str, locale: str) -> str:
    return format_currency(amount, currency, locale=locale)


@lru_cache(maxsize=4096)
def _date_text(day: date, width: str, locale: str) -> str:
    return babel_format_date(day, width, locale=locale)


def format_money(amount: Money, locale: Locale) -> dict[str, Any]:
    """``{"display": "$1,234.56", "amount": "1234.56", "currency": "USD"}``."""
    return {
        "display": money_text(amount, locale),
        "amount": amount.to_wire(),
        "currency": amount.currency,
    }


def format_date(day: date, locale: Locale) -> dict[str, Any]:
    """``{"long": "January 1, 2027", "medium": "Jan 1, 2027", "iso": "2027-01-01"}``."""
    return {
        "long": _date_text(day, "long", str(locale)),
        "medium": _date_text(day, "medium", str(locale)),
        "iso": day.isoformat(),
    }


def format_month(day: date, locale: Locale) -> str:
    """The month and year of ``day`` as the locale writes them (``January 2027``)."""
    return format_skeleton("yMMMM", day, locale=locale)


def format_term(term: Term, locale: Locale) -> dict[str, Any]:
    """A term ``[start, end)``: both dates and its length in days; ``end`` is when it expires."""
    return {
        "start": format_date(term.start, locale),
        "end": format_date(term.end, locale),
        "days": term.days,
    }
