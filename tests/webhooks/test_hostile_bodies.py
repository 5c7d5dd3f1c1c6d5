"""Hostile and arbitrary bodies: parse_event answers with its two errors and nothing else."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.webhooks.factories import VALID_DATA, body, data
from webhooks.schemas import (
    EVENT_TYPES,
    MAX_BODY_BYTES,
    InvalidData,
    MalformedBody,
    ParsedEvent,
    WebhookBodyError,
    parse_event,
)

SC = "subscription.created"


def outcome(raw: bytes) -> ParsedEvent | WebhookBodyError:
    try:
        return parse_event(raw)
    except (MalformedBody, InvalidData) as exc:
        return exc


def nested(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


HOSTILE_MALFORMED: list[tuple[str, bytes]] = [
    ("deep-top-level", nested(20_000).encode()),
    (
        "deep-in-data",
        f'{{"type": "{SC}", "timestamp": "2025-01-15T10:00:00Z", '
        f'"data": {{"seats": {nested(20_000)}}}}}'.encode(),
    ),
    ("deep-objects", ('{"a":' * 20_000 + "1" + "}" * 20_000).encode()),
    (
        "deep-unknown-type",
        f'{{"type": "x.y", "timestamp": "2025-01-15T10:00:00Z", '
        f'"data": {{"a": {nested(20_000)}}}}}'.encode(),
    ),
    ("nan", body(SC).replace(b'"seats": 25', b'"seats": NaN')),
    ("infinity", body(SC).replace(b'"seats": 25', b'"seats": Infinity')),
    ("minus-infinity", body(SC).replace(b'"seats": 25', b'"seats": -Infinity')),
    ("overflowing-float-unknown-type", body("x.y", {"n": 1}).replace(b'"n": 1', b'"n": 1e400')),
    ("integer-of-5000-digits", body(SC).replace(b'"seats": 25', b'"seats": ' + b"9" * 5000)),
    ("invalid-utf8-in-string", body(SC).replace(b"Acme Corp", b"Acme \xc0\xaf Corp")),
    ("lone-surrogate", body(SC).replace(b"Acme Corp", b"Acme \\udc00 Corp")),
    ("huge-type", body(SC, type="t" * 200_000)),
    ("utf16", body(SC).decode().encode("utf-16")),
    ("nul-bytes", b"\x00" * 1000),
    # Valid local times whose UTC falls outside years 1 to 9999.
    ("timestamp-before-year-1", body(SC, timestamp="0001-01-01T00:30:00+01:00")),
    ("timestamp-after-year-9999", body(SC, timestamp="9999-12-31T23:30:00-01:00")),
]


@pytest.mark.parametrize(("name", "raw"), HOSTILE_MALFORMED, ids=[n for n, _ in HOSTILE_MALFORMED])
def test_hostile_bodies_are_malformed(name: str, raw: bytes) -> None:
    """Deep nesting, NaN, Infinity, bad UTF-8 and overflowing numbers are a clean 400."""
    with pytest.raises(MalformedBody):
        parse_event(raw)


HOSTILE_INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("seats-10e30", {"seats": 10**30}, "data.seats"),
    ("seats-minus-10e30", {"seats": -(10**30)}, "data.seats"),
    ("seats-1e400", {"seats": 1e300}, "data.seats"),
    ("huge-name", {"customer__name": "N" * 200_000}, "data.customer.name"),
    ("huge-id", {"subscription_id": "s" * 200_000}, "data.subscription_id"),
    ("huge-email", {"customer__email": "a" * 200_000 + "@acme.com"}, "data.customer.email"),
    ("huge-price", {"unit_price": "9" * 200_000}, "data.unit_price"),
    ("huge-date", {"term_start": "2" * 200_000}, "data.term_start"),
    ("many-contacts", {"contacts": [f"c{i}@a.io" for i in range(12_000)]}, "data.contacts"),
    ("deep-customer", {"customer": json.loads(nested(150, "{}"))}, "data.customer"),
]


@pytest.mark.parametrize(
    ("name", "overrides", "field"), HOSTILE_INVALID, ids=[n for n, _, _ in HOSTILE_INVALID]
)
def test_hostile_values_are_invalid_data(name: str, overrides: dict[str, Any], field: str) -> None:
    """Huge numbers and strings in known fields are a clean 422 naming the field, and fast."""
    raw = body(SC, data(SC, **overrides))
    assert len(raw) <= MAX_BODY_BYTES
    started = time.perf_counter()
    with pytest.raises(InvalidData) as caught:
        parse_event(raw)
    assert time.perf_counter() - started < 0.5
    assert [error.field for error in caught.value.errors] == [field]


def test_an_observed_at_outside_the_years_in_utc_is_invalid_data() -> None:
    raw = body("usage.reported", data("usage.reported", observed_at="0001-01-01T00:30:00+01:00"))
    with pytest.raises(InvalidData) as caught:
        parse_event(raw)
    assert [error.field for error in caught.value.errors] == ["data.observed_at"]


def test_a_full_size_unknown_event_is_accepted() -> None:
    """A body just under the limit parses; size alone is the route's concern."""
    filler = "x" * (MAX_BODY_BYTES - 200)
    event = parse_event(body("x.y", {"blob": filler}))
    assert not event.known


# -- properties -----------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
PROPERTY_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY_SETTINGS
@given(st.binary(max_size=300))
def test_arbitrary_bytes_only_raise_the_two_errors(raw: bytes) -> None:
    """Whatever the bytes, parse_event returns or raises MalformedBody or InvalidData."""
    outcome(raw)


@PROPERTY_SETTINGS
@given(st.sampled_from(sorted(EVENT_TYPES)), JSON_VALUES)
def test_arbitrary_data_only_raises_the_two_errors(event_type: str, value: Any) -> None:
    """Any JSON value as data of a known type is accepted, malformed or invalid; nothing else."""
    result = outcome(body(event_type, value if value is not None else 0))
    if not isinstance(value, dict):
        assert isinstance(result, MalformedBody)


@PROPERTY_SETTINGS
@given(
    st.sampled_from(sorted(EVENT_TYPES)),
    st.data(),
    JSON_VALUES,
)
def test_one_field_replaced_by_anything(event_type: str, draw: st.DataObject, value: Any) -> None:
    """A valid event with one field replaced by any JSON value parses or names that field."""
    field = draw.draw(st.sampled_from(sorted(VALID_DATA[event_type])))
    result = outcome(body(event_type, data(event_type, **{field: value})))
    if isinstance(result, InvalidData):
        assert result.errors
        assert all(error.field.startswith("data") for error in result.errors)
    else:
        assert isinstance(result, ParsedEvent)


@PROPERTY_SETTINGS
@given(st.text(max_size=40), st.text(max_size=40))
def test_arbitrary_envelope_strings(event_type: str, timestamp: str) -> None:
    """Any strings as type and timestamp are accepted or malformed, never another error."""
    result = outcome(body(event_type, {}, timestamp=timestamp))
    assert isinstance(result, ParsedEvent | MalformedBody | InvalidData)
