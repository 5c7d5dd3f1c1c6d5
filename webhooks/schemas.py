"""The inbound events of contract section 2: the envelope, its errors, and ``parse_event``.

Errors::

    WebhookBodyError
     ├── MalformedBody        not UTF-8, not JSON (a repeated key counts as not JSON), or a
     │                        malformed envelope (answer 400)
     │    └── BodyTooLarge    more than 256 KiB (answer 413; the route checks first)
     └── InvalidData          a known type whose ``data`` fails validation (answer 422),
                              with every failing field as a dotted path from the body root

The models of each event type are in ``webhooks.events`` (re-exported here, the wire schemas'
one name).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from webhooks import strictjson
from webhooks.events import (
    EVENT_TYPES,
    AutoRenewChanged,
    Cancelled,
    Card,
    Customer,
    CustomerUpdated,
    EventData,
    Partner,
    PaymentFailed,
    PaymentMethodUpdated,
    PaymentSucceeded,
    Renewed,
    SeatsAdded,
    SubscriptionCreated,
    Upgraded,
    UsageReported,
)
from webhooks.fields import parse_id, parse_timestamp

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
