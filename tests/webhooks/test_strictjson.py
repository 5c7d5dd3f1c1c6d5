"""Repeated keys: a body that any two JSON parsers could read differently is not JSON here."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.webhooks.factories import body
from webhooks import strictjson
from webhooks.schemas import MalformedBody, parse_event

SC = "subscription.created"

REPEATED = [
    ("top-level-type", b'{"type": "x.y", "type": "subscription.created"}'),
    ("nested", b'{"a": {"b": 1, "b": 2}}'),
    ("in-an-array", b'[{"a": 1}, {"b": 1, "b": 1}]'),
    ("same-value", b'{"a": 1, "a": 1}'),
    ("escaped-spelling", b'{"a": 1, "\\u0061": 2}'),
    ("deep", b'{"x": [[{"y": {"z": 0, "z": 0}}]]}'),
]


@pytest.mark.parametrize(("name", "raw"), REPEATED, ids=[n for n, _ in REPEATED])
def test_a_repeated_key_at_any_depth_is_not_json(name: str, raw: bytes) -> None:
    """Top level, nested, inside arrays, with the same value or another spelling: refused,
    with the key in the message."""
    with pytest.raises(strictjson.InvalidJson, match="duplicate key"):
        strictjson.loads(raw)


def test_equal_keys_in_sibling_objects_are_fine() -> None:
    assert strictjson.loads(b'[{"a": 1}, {"a": 2}]') == [{"a": 1}, {"a": 2}]


@pytest.mark.parametrize("raw", [b"NaN", b'{"a": Infinity}', b"{", b"", b'"\xff"', b"[" * 300])
def test_what_is_not_json_stays_refused(raw: bytes) -> None:
    with pytest.raises(strictjson.InvalidJson):
        strictjson.loads(raw)


def test_a_second_seats_in_a_webhook_is_malformed() -> None:
    """The body the issue was found with: seats given twice is 400, not the last value."""
    raw = body(SC).replace(b'"seats": 25', b'"seats": 10, "seats": 100000')
    with pytest.raises(MalformedBody, match='duplicate key "seats"'):
        parse_event(raw)


def test_a_second_type_in_the_envelope_is_malformed() -> None:
    raw = body(SC).replace(b'"type": ', b'"type": "x.ignored", "type": ', 1)
    with pytest.raises(MalformedBody, match='duplicate key "type"'):
        parse_event(raw)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=16,
)


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_json_without_repeats_reads_as_the_standard_library_reads_it(value: object) -> None:
    """On any JSON without repeated keys the strict parser and json.loads agree."""
    raw = json.dumps(value).encode()
    assert strictjson.loads(raw) == json.loads(raw)
