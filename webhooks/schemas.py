"""The inbound events of contract section 2: envelope, one model per type, and ``parse_event``.

Errors::

    WebhookBodyError
     ├── MalformedBody        not UTF-8, not JSON (a repeated key counts as not JSON), or a
     │                        malformed envelope (answer 400)
     │    └── BodyTooLarge    more than 256 KiB (answer 413; the route checks first)
     └── InvalidData          a known type whose ``data`` fails validation (answer 422),
                              with every failing field as a dotted path from the body root

Each event model is frozen and strict (see webhooks.fields for the field rules). Unknown fields
inside ``data`` are ignored, so senders can add fields before this service reads them. Money is
``Decimal`` built from the wire string, never a float.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Final

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from webhooks import strictjson
from webhooks.fields import (
    MAX_TERM_YEARS,
    Channel,
    Contacts,
    Currency,
    Day,
    Deployment,
    Email,
    Flag,
    Id,
    Last4,
    Locale,
    Money,
    Month,
    Name,
    Seats,
    Text,
    Tier,
    Timestamp,
    Users,
    Year,
    add_years,
    check_minor_units,
    fail,
    parse_id,
    parse_timestamp,
)

__all__ = [
    "EVENT_TYPES",
    "MAX_BODY_BYTES",
    "AutoRenewChanged",
    "BodyTooLarge",
    "Cancelled",
    "Card",
    "Customer",
    "CustomerUpdated",
    "EventData",
    "FieldError",
    "InvalidData",
    "MalformedBody",
    "ParsedEvent",
    "Partner",
    "PaymentFailed",
    "PaymentMethodUpdated",
    "PaymentSucceeded",
    "Renewed",
    "SeatsAdded",
    "SubscriptionCreated",
    "Upgraded",
    "UsageReported",
    "WebhookBodyError",
    "parse_event",
]

MAX_BODY_BYTES: Final = 256 * 1024
MAX_TYPE_LENGTH: Final = 128


# -- errors ---------------------------------------------------------------------------------------


class WebhookBodyError(Exception):
    """The body of a correctly signed webhook cannot be accepted."""


class MalformedBody(WebhookBodyError):
    """Not UTF-8, not JSON, or an envelope without a usable type, timestamp or data object."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BodyTooLarge(MalformedBody):
    """Larger than MAX_BODY_BYTES; never decoded."""


@dataclass(frozen=True, slots=True)
class FieldError:
    """One failing field; ``field`` is a dotted path from the body root: ``data.customer.email``."""

    field: str
    message: str


class InvalidData(WebhookBodyError):
    """The ``data`` of a known event type fails validation; ``errors`` lists every failure."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{error.field}: {error.message}" for error in errors))
        self.errors = errors


# -- models ---------------------------------------------------------------------------------------


class _Wire(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")


def _term_end(term_end: date, info: ValidationInfo) -> date:
    """The term is [term_start, term_end): not empty, not longer than MAX_TERM_YEARS."""
    term_start = info.data.get("term_start")
    if term_start is None:
        return term_end
    if term_end <= term_start:
        raise fail("term_order", "must be later than term_start")
    if term_end > add_years(term_start, MAX_TERM_YEARS):
        raise fail("term_too_long", f"must be at most {MAX_TERM_YEARS} years after term_start")
    return term_end


def _price(price: Decimal | None, info: ValidationInfo) -> Decimal | None:
    if price is None:
        return None
    if price == 0:
        raise fail("price_zero", "must be greater than 0")
    currency = info.data.get("currency")
    return check_minor_units(price, currency) if currency is not None else price


class Customer(_Wire):
    id: Id
    name: Name
    email: Email
    locale: Locale = "en"


class Partner(_Wire):
    name: Name
    email: Email


class Card(_Wire):
    brand: Name
    last4: Last4
    exp_month: Month
    exp_year: Year


class SubscriptionCreated(_Wire):
    # Field order matters: a validator sees only the fields declared above its own.
    subscription_id: Id
    customer: Customer
    contacts: Contacts = ()
    deployment: Deployment
    namespace_id: Id | None = Field(default=None, validate_default=True)
    instance_id: Id | None = Field(default=None, validate_default=True)
    tier: Tier
    seats: Seats
    currency: Currency = "USD"
    unit_price: Money | None = None
    term_start: Day
    term_end: Day
    auto_renew: Flag = True
    qsr_enabled: Flag = True
    channel: Channel = "direct"
    partner: Partner | None = Field(default=None, validate_default=True)
    purchase_order: Flag = False
    cloud_licensing: Flag | None = Field(default=None, validate_default=True)

    _check_term_end = field_validator("term_end")(_term_end)
    _check_unit_price = field_validator("unit_price")(_price)

    @field_validator("namespace_id")
    @classmethod
    def _namespace_for_saas(cls, value: str | None, info: ValidationInfo) -> str | None:
        return _audience(value, info, needed_for="saas")

    @field_validator("instance_id")
    @classmethod
    def _instance_for_self_managed(cls, value: str | None, info: ValidationInfo) -> str | None:
        return _audience(value, info, needed_for="self_managed")

    @field_validator("partner")
    @classmethod
    def _partner_for_partner_channel(
        cls, value: Partner | None, info: ValidationInfo
    ) -> Partner | None:
        channel = info.data.get("channel")
        if channel == "partner" and value is None:
            raise fail("partner_required", "is required when channel is partner")
        if channel == "direct" and value is not None:
            raise fail("partner_forbidden", "is only allowed when channel is partner")
        return value

    @field_validator("cloud_licensing")
    @classmethod
    def _cloud_licensing_for_self_managed(
        cls, value: bool | None, info: ValidationInfo
    ) -> bool | None:
        deployment = info.data.get("deployment")
        if deployment == "saas" and value is not None:
            raise fail("cloud_licensing_saas", "is only allowed when deployment is self_managed")
        if deployment == "self_managed" and value is None:
            return True
        return value


def _audience(value: str | None, info: ValidationInfo, *, needed_for: str) -> str | None:
    """namespace_id belongs to saas, instance_id to self_managed, and each only there."""
    deployment = info.data.get("deployment")
    if deployment is None:
        return value
    if deployment == needed_for and value is None:
        raise fail("audience_required", f"is required when deployment is {needed_for}")
    if deployment != needed_for and value is not None:
        raise fail("audience_forbidden", f"is only allowed when deployment is {needed_for}")
    return value


class SeatsAdded(_Wire):
    subscription_id: Id
    seats: Seats
    effective_date: Day


class Upgraded(_Wire):
    subscription_id: Id
    tier: Tier
    effective_date: Day
    # Checked against the subscription's currency when the event is applied.
    unit_price: Money | None = None

    _check_unit_price = field_validator("unit_price")(_price)


class Renewed(_Wire):
    subscription_id: Id
    term_start: Day
    term_end: Day
    seats: Seats
    tier: Tier | None = None
    # Checked against the subscription's currency when the event is applied.
    unit_price: Money | None = None

    _check_term_end = field_validator("term_end")(_term_end)
    _check_unit_price = field_validator("unit_price")(_price)


class AutoRenewChanged(_Wire):
    subscription_id: Id
    auto_renew: Flag


class Cancelled(_Wire):
    subscription_id: Id
    reason: Text | None = None


class UsageReported(_Wire):
    subscription_id: Id
    observed_at: Timestamp
    billable_users: Users
    max_users: Users | None = None


class PaymentSucceeded(_Wire):
    subscription_id: Id
    invoice_number: Id
    currency: Currency
    amount: Money

    @field_validator("amount")
    @classmethod
    def _amount_in_minor_units(cls, value: Decimal, info: ValidationInfo) -> Decimal:
        currency = info.data.get("currency")
        return check_minor_units(value, currency) if currency is not None else value


class PaymentFailed(_Wire):
    subscription_id: Id
    invoice_number: Id
    reason: Text


class PaymentMethodUpdated(_Wire):
    customer_id: Id
    card: Card


class CustomerUpdated(_Wire):
    customer_id: Id
    name: Name | None = None
    email: Email | None = None
    contacts: Contacts | None = None
    locale: Locale | None = None

    _CHANGES: ClassVar = ("name", "email", "contacts", "locale")

    @model_validator(mode="after")
    def _changes_something(self) -> CustomerUpdated:
        if all(getattr(self, name) is None for name in self._CHANGES):
            raise fail("nothing_to_update", "needs at least one of name, email, contacts, locale")
        return self


EventData = (
    SubscriptionCreated
    | SeatsAdded
    | Upgraded
    | Renewed
    | AutoRenewChanged
    | Cancelled
    | UsageReported
    | PaymentSucceeded
    | PaymentFailed
    | PaymentMethodUpdated
    | CustomerUpdated
)

EVENT_TYPES: Final[dict[str, type[EventData]]] = {
    "subscription.created": SubscriptionCreated,
    "subscription.seats_added": SeatsAdded,
    "subscription.upgraded": Upgraded,
    "subscription.renewed": Renewed,
    "subscription.auto_renew_changed": AutoRenewChanged,
    "subscription.cancelled": Cancelled,
    "usage.reported": UsageReported,
    "payment.succeeded": PaymentSucceeded,
    "payment.failed": PaymentFailed,
    "payment_method.updated": PaymentMethodUpdated,
    "customer.updated": CustomerUpdated,
}


# -- parsing --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ParsedEvent:
    """A validated webhook body; ``data`` is the typed model, or the raw object when not known."""

    type: str
    timestamp: datetime
    data: EventData | dict[str, Any]
    known: bool
    subscription_id: str | None
    customer_id: str | None


def parse_event(body: bytes) -> ParsedEvent:
    """Decode and validate a webhook body; raise MalformedBody (400) or InvalidData (422)."""
    if len(body) > MAX_BODY_BYTES:
        raise BodyTooLarge(f"the body is larger than {MAX_BODY_BYTES} bytes")
    envelope = _decode(body)
    event_type = _envelope_type(envelope.get("type"))
    timestamp = _envelope_timestamp(envelope.get("timestamp"))
    data = envelope.get("data")
    if type(data) is not dict:
        raise MalformedBody("the envelope needs 'data', a JSON object")
    model = EVENT_TYPES.get(event_type)
    if model is None:
        # The JSON parser turns a number too large for a float (1e400) into infinity. In a known
        # type that is refused by the field or dropped with the unknown fields; raw data is kept,
        # so it must not hold a value that JSON cannot represent.
        if _has_non_finite(data):
            raise MalformedBody("the body is not valid JSON: a number is out of range")
        return ParsedEvent(
            type=event_type,
            timestamp=timestamp,
            data=data,
            known=False,
            subscription_id=_id_or_none(data.get("subscription_id")),
            customer_id=_id_or_none(data.get("customer_id")),
        )
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        raise InvalidData([_field_error(error) for error in exc.errors()]) from None
    return ParsedEvent(
        type=event_type,
        timestamp=timestamp,
        data=parsed,
        known=True,
        subscription_id=getattr(parsed, "subscription_id", None),
        customer_id=_customer_id(parsed),
    )


def _decode(body: bytes) -> dict[str, Any]:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedBody(f"the body is not UTF-8 (byte {exc.start})") from None
    try:
        decoded = strictjson.loads(body)
    except strictjson.InvalidJson as exc:
        raise MalformedBody(f"the body is not valid JSON: {exc}") from None
    if type(decoded) is not dict:
        raise MalformedBody("the body must be a JSON object")
    return decoded


def _has_non_finite(tree: object) -> bool:
    pending = [tree]
    while pending:
        node = pending.pop()
        if type(node) is float:
            if not math.isfinite(node):
                return True
        elif type(node) is dict:
            pending.extend(node.values())
        elif type(node) is list:
            pending.extend(node)
    return False


def _envelope_type(value: object) -> str:
    if (
        type(value) is not str
        or not value
        or len(value) > MAX_TYPE_LENGTH
        or not (value.isascii() and value.isprintable())
        or " " in value
    ):
        raise MalformedBody(
            f"the envelope needs 'type', a string of 1 to {MAX_TYPE_LENGTH} printable ASCII "
            "characters without spaces"
        )
    return value


def _envelope_timestamp(value: object) -> datetime:
    try:
        return parse_timestamp(value)
    except ValueError:
        raise MalformedBody(
            "the envelope needs 'timestamp', an RFC 3339 timestamp with Z or an offset"
        ) from None


def _id_or_none(value: object) -> str | None:
    try:
        return parse_id(value)
    except ValueError:
        return None


def _customer_id(data: EventData) -> str | None:
    if isinstance(data, SubscriptionCreated):
        return data.customer.id
    if isinstance(data, PaymentMethodUpdated | CustomerUpdated):
        return data.customer_id
    return None


# Messages for the built-in checks, in the words of a JSON sender; custom checks of
# webhooks.fields carry their own.
_MESSAGES: Final[dict[str, str]] = {
    "missing": "is required",
    "int_type": "must be an integer",
    "bool_type": "must be true or false",
    "model_type": "must be an object",
    "tuple_type": "must be an array",
    "greater_than_equal": "must be at least {ge}",
    "less_than_equal": "must be at most {le}",
    "too_long": "must have at most {max_length} items",
    "literal_error": "must be one of {expected}",
}


def _field_error(error: ErrorDetails) -> FieldError:
    path = ".".join(["data", *(str(part) for part in error["loc"])])
    template = _MESSAGES.get(error["type"])
    message = error["msg"]
    if template is not None:
        with contextlib.suppress(KeyError, IndexError):
            message = template.format(**error.get("ctx", {}))
    return FieldError(path, message)
