"""The state codec: every core value comes back from its JSON exactly equal."""

from __future__ import annotations

import json

import pytest
from hypothesis import given

from billingcore import Subscription
from billingcore.invoices import Invoice
from billingcore.outcomes import InvoiceIssued
from notify import codec
from tests.billingcore.factories import applied, at, create
from tests.billingcore.test_properties import PROPERTY, states


@given(state=states())
@PROPERTY
def test_generated_states_survive_the_round_trip(state: Subscription) -> None:
    text = codec.dumps(state)
    assert codec.loads(Subscription, text) == state
    assert codec.dumps(codec.loads(Subscription, text)) == text


@given(state=states())
@PROPERTY
def test_stored_text_is_the_standard_librarys_json_keys_in_the_same_order(
    state: Subscription,
) -> None:
    # Rows written before the text was orjson's: the standard library's compact, sorted JSON.
    earlier = json.dumps(codec.to_jsonable(state), separators=(",", ":"), sort_keys=True)
    assert codec.loads(Subscription, earlier) == state
    # Re-encoded in its own key order, today's text is the earlier one exactly.
    assert json.dumps(json.loads(codec.dumps(state)), separators=(",", ":")) == earlier


def test_json_text_keeps_the_given_key_order_and_writes_unicode_as_is() -> None:
    tree = {"z": "Zoë Ünal", "a": [1, None, True], 7: "seven"}
    text = codec.json_text(tree)
    assert text == '{"z":"Zoë Ünal","a":[1,null,true],"7":"seven"}'
    assert codec.json_tree(text) == json.loads(json.dumps(tree))


def test_a_created_subscription_and_its_invoice_survive_the_round_trip() -> None:
    result = applied(None, create(), at("2026-01-01T10:00"))
    assert result.state.applied_keys
    assert codec.loads(Subscription, codec.dumps(result.state)) == result.state
    [invoice] = [o.invoice for o in result.outcomes if isinstance(o, InvoiceIssued)]
    assert invoice.lines
    assert codec.loads(Invoice, codec.dumps(invoice)) == invoice


def test_values_the_codec_does_not_know_are_refused() -> None:
    with pytest.raises(TypeError, match="cannot encode"):
        codec.dumps(object())
    with pytest.raises(TypeError, match="cannot decode"):
        codec.loads(complex, "1")
