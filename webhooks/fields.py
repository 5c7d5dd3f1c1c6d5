"""The field types of the wire schemas: each one a strict parser of JSON values.

Every parser takes the value exactly as decoded from JSON and either returns the typed value or
raises ``PydanticCustomError`` with a message for the sender. Nothing is coerced: a number is
never read from a string, nor a string from a number. Rules and bounds are listed in
docs/webhooks.md.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Annotated, Any, Final, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, Field, PlainValidator, Strict, WithJsonSchema
from pydantic_core import PydanticCustomError

from billingcore.currencies import CURRENCIES

MAX_ID_LENGTH: Final = 128
MAX_NAME_LENGTH: Final = 200
MAX_TEXT_LENGTH: Final = 1000
MAX_EMAIL_LENGTH: Final = 254
MAX_CONTACTS: Final = 50
MAX_SEATS: Final = 1_000_000
MAX_USERS: Final = 10_000_000
MAX_TERM_YEARS: Final = 5
# Twelve integer digits: far above any seat price or invoice, far below anything that could
# strain Decimal arithmetic.
MAX_MONEY_INTEGER_DIGITS: Final = 12
# The largest minor unit of any ISO 4217 currency (CLF, UYW); used where the currency is not
# in the event itself and is checked against the subscription later.
MAX_MINOR_UNITS: Final = max(CURRENCIES.values())

_CONTROL: Final = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_DATE: Final = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", re.ASCII)
# RFC 3339 section 5.6: "T" and "Z" may be lower case; the offset is mandatory.
_TIMESTAMP: Final = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,9})?"
    r"(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))",
    re.ASCII,
)
_MONEY: Final = re.compile(
    rf"(?:0|[1-9][0-9]{{0,{MAX_MONEY_INTEGER_DIGITS - 1}}})(?:\.([0-9]{{1,{MAX_MINOR_UNITS}}}))?",
    re.ASCII,
)
_LOCALE: Final = re.compile(r"([a-zA-Z]{2,3})(?:[-_]([a-zA-Z]{2}|[0-9]{3}))?", re.ASCII)
_LAST4: Final = re.compile(r"[0-9]{4}", re.ASCII)


def fail(code: str, message: str, context: dict[str, Any] | None = None) -> PydanticCustomError:
    """An error for the sender; ``code`` is stable, ``message`` (a template over ``context``) is
    read by people."""
    return PydanticCustomError(code, message, context)


def _string(value: Any) -> str:
    if type(value) is not str:
        raise fail("string_type", "must be a string")
    return value


def parse_id(value: Any) -> str:
    text = _string(value)
    if not text:
        raise fail("id_empty", "must not be empty")
    if len(text) > MAX_ID_LENGTH:
        raise fail("id_too_long", f"must be at most {MAX_ID_LENGTH} characters")
    if not text.isprintable() or text.strip() != text:
        raise fail(
            "id_characters",
            "may only contain printable characters, without leading or trailing spaces",
        )
    return text


def _text(value: Any, limit: int) -> str:
    text = _string(value)
    if len(text) > limit:
        raise fail("text_too_long", f"must be at most {limit} characters")
    if not text.strip():
        raise fail("text_blank", "must not be empty or blank")
    if _CONTROL.search(text):
        raise fail("text_control", "must not contain control characters or line breaks")
    return text


def parse_name(value: Any) -> str:
    return _text(value, MAX_NAME_LENGTH)


def parse_text(value: Any) -> str:
    return _text(value, MAX_TEXT_LENGTH)


@functools.lru_cache(maxsize=4096)
def _check_email(text: str) -> tuple[str, bool]:
    """(normalized address, True) or (reason, False); cached, since senders repeat addresses."""
    try:
        checked = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        return str(exc), False
    return checked.normalized, True


def parse_email(value: Any) -> str:
    text = _string(value)
    if len(text) > MAX_EMAIL_LENGTH:
        raise fail("email_too_long", f"must be at most {MAX_EMAIL_LENGTH} characters")
    result, ok = _check_email(text)
    if not ok:
        raise fail("email_invalid", "is not a valid email address: {reason}", {"reason": result})
    return result


def parse_locale(value: Any) -> str:
    """``en``, ``de``, ``pt-BR`` or ``pt_BR``; normalized to ``pt_BR``, the form Babel reads."""
    text = _string(value)
    match = _LOCALE.fullmatch(text)
    if match is None:
        raise fail("locale_invalid", "must be a locale like 'en', 'de' or 'pt-BR'")
    language, region = match.groups()
    return f"{language.lower()}_{region.upper()}" if region else language.lower()


def parse_currency(value: Any) -> str:
    text = _string(value)
    if text not in CURRENCIES:
        raise fail("currency_unknown", "must be an ISO 4217 currency code like 'USD'")
    return text


# Each parser also takes its own result type, so models can be built in Python (tests, replays)
# with the same checks; JSON never produces those types, so nothing is coerced from the wire.


def parse_money(value: Any) -> Decimal:
    """A non-negative decimal string with at most four fraction digits ("348.00")."""
    if type(value) is Decimal and value.is_finite():
        value = format(value, "f")
    if type(value) is not str:
        raise fail("money_type", 'must be a decimal string like "348.00", not a number')
    if _MONEY.fullmatch(value) is None:
        raise fail(
            "money_format",
            f'must be a non-negative decimal string like "348.00" with at most '
            f"{MAX_MONEY_INTEGER_DIGITS} digits before the point",
        )
    return Decimal(value)


def check_minor_units(amount: Decimal, currency: str) -> Decimal:
    """Refuse an amount more precise than ``currency``'s minor unit (JPY 0, USD 2, KWD 3)."""
    places = CURRENCIES[currency]
    exponent = amount.as_tuple().exponent
    assert isinstance(exponent, int)  # finite: parse_money only builds finite numbers
    if -exponent > places:
        raise fail(
            "money_precision",
            "has more fraction digits than {currency} allows ({places})",
            {"currency": currency, "places": places},
        )
    return amount


def parse_date(value: Any) -> date:
    if type(value) is date:
        return value
    text = _string(value)
    match = _DATE.fullmatch(text)
    if match is None:
        raise fail("date_format", "must be a date like 2025-01-31 (YYYY-MM-DD)")
    try:
        return date(*map(int, match.groups()))
    except ValueError:
        raise fail("date_invalid", "is not a calendar date") from None


def parse_timestamp(value: Any) -> datetime:
    """An RFC 3339 timestamp with ``Z`` or an offset, returned in UTC."""
    if type(value) is datetime and value.tzinfo is not None:
        return value.astimezone(UTC)
    text = _string(value)
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        raise fail(
            "timestamp_format",
            "must be an RFC 3339 timestamp with Z or an offset, like 2025-01-31T12:00:00Z",
        )
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    micro = int(fraction[1:7].ljust(6, "0")) if fraction else 0
    try:
        if zulu:
            zone: timezone = UTC
        else:
            offset = timedelta(hours=int(off_h), minutes=int(off_m))
            if int(off_h) > 23 or int(off_m) > 59:
                raise ValueError("offset out of range")
            zone = timezone(-offset if sign == "-" else offset)
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micro, zone
        ).astimezone(UTC)
    except (ValueError, OverflowError):
        # OverflowError: a valid local time whose UTC falls outside years 1-9999
        # (0001-01-01T00:30:00+01:00).
        raise fail("timestamp_invalid", "is not a valid date and time") from None
    return moment


def parse_last4(value: Any) -> str:
    if type(value) is not str or _LAST4.fullmatch(value) is None:
        raise fail("last4_format", 'must be the last four digits of the card as a string, "4242"')
    return value


def add_years(day: date, years: int) -> date:
    """``day`` moved by whole years; February 29 becomes February 28 in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _unique(addresses: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(addresses))


def _string_schema(**constraints: Any) -> WithJsonSchema:
    """What the OpenAPI document says of a string field checked by a function of this module
    (a function is opaque to pydantic's schema generation); the function stays the rule."""
    return WithJsonSchema({"type": "string", **constraints})


Id = Annotated[str, PlainValidator(parse_id), _string_schema(minLength=1, maxLength=MAX_ID_LENGTH)]
Name = Annotated[
    str, PlainValidator(parse_name), _string_schema(minLength=1, maxLength=MAX_NAME_LENGTH)
]
Text = Annotated[
    str, PlainValidator(parse_text), _string_schema(minLength=1, maxLength=MAX_TEXT_LENGTH)
]
Email = Annotated[
    str, PlainValidator(parse_email), _string_schema(format="email", maxLength=MAX_EMAIL_LENGTH)
]
# The model is strict, and strict tuples accept only tuples; JSON arrays arrive as lists.
Contacts = Annotated[
    tuple[Email, ...], Field(max_length=MAX_CONTACTS, strict=False), AfterValidator(_unique)
]
Locale = Annotated[
    str, PlainValidator(parse_locale), _string_schema(pattern=f"^{_LOCALE.pattern}$")
]
Currency = Annotated[str, PlainValidator(parse_currency), _string_schema(pattern="^[A-Z]{3}$")]
Money = Annotated[
    Decimal, PlainValidator(parse_money), _string_schema(pattern=f"^{_MONEY.pattern}$")
]
Day = Annotated[date, PlainValidator(parse_date), _string_schema(format="date")]
Timestamp = Annotated[datetime, PlainValidator(parse_timestamp), _string_schema(format="date-time")]
Last4 = Annotated[str, PlainValidator(parse_last4), _string_schema(pattern="^[0-9]{4}$")]
Flag = Annotated[bool, Strict()]
Seats = Annotated[int, Strict(), Field(ge=1, le=MAX_SEATS)]
Users = Annotated[int, Strict(), Field(ge=0, le=MAX_USERS)]
Month = Annotated[int, Strict(), Field(ge=1, le=12)]
Year = Annotated[int, Strict(), Field(ge=2000, le=2100)]
Tier = Literal["premium", "ultimate"]
Deployment = Literal["saas", "self_managed"]
Channel = Literal["direct", "partner"]
