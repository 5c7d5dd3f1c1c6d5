"""The state codec: every core value comes back from its JSON exactly equal."""

from __future__ import annotations

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
