"""The wire schemas of contract section 2: valid events, defaults, and every refusal."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from tests.webhooks.factories import DROP, VALID_DATA, body, data
from webhooks.schemas import (
    EVENT_TYPES,
    MAX_BODY_BYTES,
    AutoRenewChanged,
    BodyTooLarge,
    Cancelled,
    Card,
    CustomerUpdated,
    FieldError,
    InvalidData,
    MalformedBody,
    Partner,
    PaymentFailed,
    PaymentMethodUpdated,
    PaymentSucceeded,
    Renewed,
    SeatsAdded,
    SubscriptionCreated,
    Upgraded,
    UsageReported,
    parse_event,
)

CONTRACT_TYPES = {
    "subscription.created",
    "subscription.seats_added",
    "subscription.upgraded",
    "subscription.renewed",
    "subscription.auto_renew_changed",
    "subscription.cancelled",
    "usage.reported",
    "payment.succeeded",
    "payment.failed",
    "payment_method.updated",
    "customer.updated",
}


def fields_of(exc: InvalidData) -> list[str]:
    return [error.field for error in exc.errors]


def invalid(event_type: str, data_object: dict[str, Any]) -> InvalidData:
    with pytest.raises(InvalidData) as caught:
        parse_event(body(event_type, data_object))
    return caught.value


def created(**overrides: Any) -> SubscriptionCreated:
    event = parse_event(body("subscription.created", data("subscription.created", **overrides)))
    assert isinstance(event.data, SubscriptionCreated)
    return event.data


# -- the table of types ---------------------------------------------------------------------------


def test_every_contract_type_has_a_model() -> None:
    """EVENT_TYPES holds exactly the eleven event types of the contract."""
    assert set(EVENT_TYPES) == CONTRACT_TYPES


def test_every_type_has_a_valid_example() -> None:
    """The test factories cover every type of the table."""
    assert set(VALID_DATA) == set(EVENT_TYPES)


@pytest.mark.parametrize("event_type", sorted(CONTRACT_TYPES))
def test_valid_example_parses(event_type: str) -> None:
    """A valid example of each type parses into its model, with the envelope in UTC."""
    event = parse_event(body(event_type))
    assert event.known
    assert event.type == event_type
    assert type(event.data) is EVENT_TYPES[event_type]
    assert event.timestamp == datetime(2025, 1, 15, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("model", list(EVENT_TYPES.values()))
def test_models_are_frozen(model: type[Any]) -> None:
    """Parsed events cannot be changed after validation."""
    assert model.model_config.get("frozen") is True
    assert model.model_config.get("strict") is True


# -- what each type yields ------------------------------------------------------------------------


def test_subscription_created_defaults() -> None:
    """Omitted optional fields take the contract's defaults; unit_price stays None."""
    event = parse_event(body("subscription.created"))
    assert event.subscription_id == "sub_8c1f2a"
    assert event.customer_id == "cus_42"
    sub = event.data
    assert isinstance(sub, SubscriptionCreated)
    assert sub.customer.locale == "en"
    assert sub.contacts == ()
    assert sub.currency == "USD"
    assert sub.unit_price is None
    assert sub.auto_renew is True
    assert sub.qsr_enabled is True
    assert sub.channel == "direct"
    assert sub.partner is None
    assert sub.purchase_order is False
    assert sub.cloud_licensing is None
    assert sub.namespace_id == "ns_9"
    assert sub.instance_id is None
    assert sub.seats == 25
    assert (sub.term_start, sub.term_end) == (date(2025, 1, 15), date(2026, 1, 15))


def test_self_managed_defaults_to_cloud_licensing() -> None:
    """A self-managed subscription has cloud licensing unless it says otherwise."""
    sub = created(deployment="self_managed", namespace_id=DROP, instance_id="inst_7")
    assert (sub.instance_id, sub.namespace_id, sub.cloud_licensing) == ("inst_7", None, True)
    assert (
        created(
            deployment="self_managed", namespace_id=DROP, instance_id="i", cloud_licensing=False
        ).cloud_licensing
        is False
    )


def test_subscription_created_with_every_field() -> None:
    """Every optional field given explicitly is kept as given."""
    sub = created(
        customer__locale="pt-BR",
        contacts=["ops@acme.com", "cfo@acme.com", "ops@acme.com"],
        tier="ultimate",
        unit_price="1100.50",
        currency="EUR",
        auto_renew=False,
        qsr_enabled=False,
        channel="partner",
        partner={"name": "Reseller GmbH", "email": "sales@reseller.de"},
        purchase_order=True,
    )
    assert sub.customer.locale == "pt_BR"
    assert sub.contacts == ("ops@acme.com", "cfo@acme.com")
    assert sub.unit_price == Decimal("1100.50")
    assert sub.currency == "EUR"
    assert (sub.auto_renew, sub.qsr_enabled, sub.purchase_order) == (False, False, True)
    assert sub.partner == Partner(name="Reseller GmbH", email="sales@reseller.de")


@pytest.mark.parametrize(
    ("currency", "price"),
    [("JPY", "5000"), ("KWD", "1.250"), ("USD", "348"), ("USD", "348.5"), ("CLF", "0.0001")],
)
def test_prices_within_the_minor_unit(currency: str, price: str) -> None:
    """A price may have as many fraction digits as its currency's minor unit, or fewer."""
    assert created(currency=currency, unit_price=price).unit_price == Decimal(price)


@pytest.mark.parametrize(
    ("given", "normalized"),
    [("en", "en"), ("de", "de"), ("pt-BR", "pt_BR"), ("pt_BR", "pt_BR"), ("es-419", "es_419")],
)
def test_locales(given: str, normalized: str) -> None:
    """Locales are language or language-region, normalized to the underscore form."""
    assert created(customer__locale=given).customer.locale == normalized


def test_emails_are_normalized() -> None:
    """Domains are lower-cased the way email-validator normalizes them."""
    assert created(customer__email="Ann.Lee@ACME.com").customer.email == "Ann.Lee@acme.com"


def test_unknown_fields_inside_data_are_ignored() -> None:
    """Senders may add fields before this service reads them (forward compatibility)."""
    sub = created(sales_rep="Jo", customer__vat_id="DE123")
    assert not hasattr(sub, "sales_rep")


def test_a_five_year_term_is_allowed() -> None:
    """The term may last up to five calendar years, from Feb 29 to Feb 28 as well."""
    sub = created(term_start="2024-02-29", term_end="2029-02-28")
    assert sub.term_end == date(2029, 2, 28)


def test_each_type_yields_its_fields() -> None:
    """The remaining types parse into their fields with their own defaults."""

    def of(event_type: str, **overrides: Any) -> Any:
        return parse_event(body(event_type, data(event_type, **overrides))).data

    assert of("subscription.seats_added") == SeatsAdded(
        subscription_id="sub_8c1f2a", seats=5, effective_date=date(2025, 3, 1)
    )
    upgraded = of("subscription.upgraded", unit_price="1188.00")
    assert upgraded == Upgraded(
        subscription_id="sub_8c1f2a",
        tier="ultimate",
        effective_date=date(2025, 3, 1),
        unit_price=Decimal("1188.00"),
    )
    renewed = of("subscription.renewed")
    assert isinstance(renewed, Renewed)
    assert (renewed.seats, renewed.tier, renewed.unit_price) == (30, None, None)
    assert of("subscription.auto_renew_changed") == AutoRenewChanged(
        subscription_id="sub_8c1f2a", auto_renew=False
    )
    assert of("subscription.cancelled") == Cancelled(subscription_id="sub_8c1f2a", reason=None)
    usage = of("usage.reported", observed_at="2025-02-01T07:30:00.25+01:30")
    assert usage == UsageReported(
        subscription_id="sub_8c1f2a",
        observed_at=datetime(2025, 2, 1, 6, 0, 0, 250000, tzinfo=UTC),
        billable_users=27,
        max_users=None,
    )
    assert of("payment.succeeded") == PaymentSucceeded(
        subscription_id="sub_8c1f2a",
        invoice_number="INV-000001",
        currency="USD",
        amount=Decimal("8700.00"),
    )
    assert of("payment.failed") == PaymentFailed(
        subscription_id="sub_8c1f2a", invoice_number="INV-000002", reason="card_declined"
    )
    assert of("payment_method.updated") == PaymentMethodUpdated(
        customer_id="cus_42", card=Card(brand="visa", last4="4242", exp_month=8, exp_year=2028)
    )
    assert of("customer.updated", locale="de_DE") == CustomerUpdated(
        customer_id="cus_42", email="ap@acme.com", locale="de_DE"
    )


def test_amount_zero_is_allowed() -> None:
    """A payment of 0.00 (a fully credited invoice) is valid; prices must be positive."""
    event = parse_event(body("payment.succeeded", data("payment.succeeded", amount="0.00")))
    assert isinstance(event.data, PaymentSucceeded)
    assert event.data.amount == Decimal("0")


@pytest.mark.parametrize(
    ("event_type", "subscription_id", "customer_id"),
    [
        ("subscription.renewed", "sub_8c1f2a", None),
        ("payment_method.updated", None, "cus_42"),
        ("customer.updated", None, "cus_42"),
    ],
)
def test_ids_are_lifted_to_the_event(
    event_type: str, subscription_id: str | None, customer_id: str | None
) -> None:
    """The route stores the subscription and customer ids beside the event."""
    event = parse_event(body(event_type))
    assert (event.subscription_id, event.customer_id) == (subscription_id, customer_id)


def test_unknown_types_are_kept_raw() -> None:
    """An unknown type is valid: not known, data kept as it came, ids lifted when usable."""
    raw = {"subscription_id": "sub_1", "customer_id": 7, "anything": [1, {"x": None}]}
    event = parse_event(body("subscription.paused", raw))
    assert not event.known
    assert event.data == raw
    assert (event.subscription_id, event.customer_id) == ("sub_1", None)


def test_envelope_timestamp_with_offset_is_converted_to_utc() -> None:
    """The envelope timestamp is aware and in UTC."""
    event = parse_event(body("subscription.cancelled", timestamp="2025-01-15T12:00:00+02:00"))
    assert event.timestamp == datetime(2025, 1, 15, 10, 0, tzinfo=UTC)
    assert event.timestamp.tzinfo is UTC


# -- refusals: one field at a time ----------------------------------------------------------------

SC = "subscription.created"
SELF_MANAGED = {"deployment": "self_managed", "namespace_id": DROP, "instance_id": "inst_1"}

INVALID: list[tuple[str, dict[str, Any], str]] = [
    (SC, {"subscription_id": ""}, "data.subscription_id"),
    (SC, {"subscription_id": 123}, "data.subscription_id"),
    (SC, {"subscription_id": "s" * 129}, "data.subscription_id"),
    (SC, {"subscription_id": "sub\n1"}, "data.subscription_id"),
    (SC, {"subscription_id": " sub_1"}, "data.subscription_id"),
    (SC, {"subscription_id": DROP}, "data.subscription_id"),
    (SC, {"customer": DROP}, "data.customer"),
    (SC, {"customer": "Acme"}, "data.customer"),
    (SC, {"customer__id": DROP}, "data.customer.id"),
    (SC, {"customer__name": ""}, "data.customer.name"),
    (SC, {"customer__name": "   "}, "data.customer.name"),
    (SC, {"customer__name": "N" * 201}, "data.customer.name"),
    (SC, {"customer__name": "Acme\x07"}, "data.customer.name"),
    (SC, {"customer__name": "Acme\nCorp"}, "data.customer.name"),
    (SC, {"customer__email": "Ann <ann@acme.com>"}, "data.customer.email"),
    (SC, {"customer__email": "<ann@acme.com>"}, "data.customer.email"),
    (SC, {"customer__email": "ann@acme.com\r\nBcc: x@evil.com"}, "data.customer.email"),
    (SC, {"customer__email": "ann@acme.com\n"}, "data.customer.email"),
    (SC, {"customer__email": "ann"}, "data.customer.email"),
    (SC, {"customer__email": "a" * 250 + "@acme.com"}, "data.customer.email"),
    (SC, {"customer__email": ["ann@acme.com"]}, "data.customer.email"),
    (SC, {"customer__locale": "english"}, "data.customer.locale"),
    (SC, {"customer__locale": "pt-BRA"}, "data.customer.locale"),
    (SC, {"customer__locale": None}, "data.customer.locale"),
    (SC, {"contacts": ["ok@acme.com", "nope"]}, "data.contacts.1"),
    (SC, {"contacts": "ok@acme.com"}, "data.contacts"),
    (SC, {"contacts": {"0": "ok@acme.com"}}, "data.contacts"),
    (SC, {"contacts": [f"c{i}@acme.com" for i in range(51)]}, "data.contacts"),
    (SC, {"deployment": "cloud"}, "data.deployment"),
    (SC, {"deployment": DROP}, "data.deployment"),
    (SC, {"namespace_id": DROP}, "data.namespace_id"),
    (SC, {"namespace_id": ""}, "data.namespace_id"),
    (SC, {"instance_id": "inst_1"}, "data.instance_id"),
    (SC, {**SELF_MANAGED, "instance_id": DROP}, "data.instance_id"),
    (SC, {**SELF_MANAGED, "namespace_id": "ns_1"}, "data.namespace_id"),
    (SC, {"tier": "gold"}, "data.tier"),
    (SC, {"tier": "Premium"}, "data.tier"),
    (SC, {"seats": 0}, "data.seats"),
    (SC, {"seats": -3}, "data.seats"),
    (SC, {"seats": 1_000_001}, "data.seats"),
    (SC, {"seats": 10**30}, "data.seats"),
    (SC, {"seats": 3.0}, "data.seats"),
    (SC, {"seats": 2.5}, "data.seats"),
    (SC, {"seats": True}, "data.seats"),
    (SC, {"seats": "25"}, "data.seats"),
    (SC, {"seats": None}, "data.seats"),
    (SC, {"seats": DROP}, "data.seats"),
    (SC, {"unit_price": 348.0}, "data.unit_price"),
    (SC, {"unit_price": 348}, "data.unit_price"),
    (SC, {"unit_price": "348.001"}, "data.unit_price"),
    (SC, {"unit_price": "0"}, "data.unit_price"),
    (SC, {"unit_price": "0.00"}, "data.unit_price"),
    (SC, {"unit_price": "-1.00"}, "data.unit_price"),
    (SC, {"unit_price": "1e3"}, "data.unit_price"),
    (SC, {"unit_price": "01.00"}, "data.unit_price"),
    (SC, {"unit_price": " 348.00"}, "data.unit_price"),
    (SC, {"unit_price": "348."}, "data.unit_price"),
    (SC, {"unit_price": ".50"}, "data.unit_price"),
    (SC, {"unit_price": "NaN"}, "data.unit_price"),
    (SC, {"unit_price": "1,188.00"}, "data.unit_price"),
    (SC, {"unit_price": "1000000000000.00"}, "data.unit_price"),
    (SC, {"unit_price": "٣٤٨"}, "data.unit_price"),
    (SC, {"currency": "XXX"}, "data.currency"),
    (SC, {"currency": "usd"}, "data.currency"),
    (SC, {"currency": 840}, "data.currency"),
    (SC, {"currency": "JPY", "unit_price": "5000.5"}, "data.unit_price"),
    (SC, {"currency": "KWD", "unit_price": "1.2500"}, "data.unit_price"),
    (SC, {"term_start": "2025/01/15"}, "data.term_start"),
    (SC, {"term_start": "2025-1-15"}, "data.term_start"),
    (SC, {"term_start": "2025-02-30"}, "data.term_start"),
    (SC, {"term_start": "20250115"}, "data.term_start"),
    (SC, {"term_start": "2025-01-15T00:00:00Z"}, "data.term_start"),
    (SC, {"term_start": 20250115}, "data.term_start"),
    (SC, {"term_end": "2025-01-15"}, "data.term_end"),
    (SC, {"term_end": "2024-12-31"}, "data.term_end"),
    (SC, {"term_end": "2030-01-16"}, "data.term_end"),
    (SC, {"auto_renew": "true"}, "data.auto_renew"),
    (SC, {"auto_renew": 1}, "data.auto_renew"),
    (SC, {"qsr_enabled": None}, "data.qsr_enabled"),
    (SC, {"channel": "reseller"}, "data.channel"),
    (SC, {"channel": "partner"}, "data.partner"),
    (SC, {"partner": {"name": "P", "email": "p@partner.com"}}, "data.partner"),
    (SC, {"channel": "partner", "partner": {"name": "P"}}, "data.partner.email"),
    (SC, {"channel": "partner", "partner": "P"}, "data.partner"),
    (SC, {"purchase_order": "no"}, "data.purchase_order"),
    (SC, {"cloud_licensing": True}, "data.cloud_licensing"),
    (SC, {**SELF_MANAGED, "cloud_licensing": "yes"}, "data.cloud_licensing"),
    ("subscription.seats_added", {"seats": 0}, "data.seats"),
    ("subscription.seats_added", {"seats": 1_000_001}, "data.seats"),
    ("subscription.seats_added", {"seats": 5.0}, "data.seats"),
    ("subscription.seats_added", {"effective_date": DROP}, "data.effective_date"),
    ("subscription.seats_added", {"effective_date": "2025-03-01T00:00Z"}, "data.effective_date"),
    ("subscription.seats_added", {"subscription_id": None}, "data.subscription_id"),
    ("subscription.upgraded", {"tier": "premium-plus"}, "data.tier"),
    ("subscription.upgraded", {"tier": DROP}, "data.tier"),
    ("subscription.upgraded", {"unit_price": "1.00001"}, "data.unit_price"),
    ("subscription.upgraded", {"unit_price": 1188}, "data.unit_price"),
    ("subscription.upgraded", {"effective_date": "03/01/2025"}, "data.effective_date"),
    ("subscription.renewed", {"term_end": "2026-01-01"}, "data.term_end"),
    ("subscription.renewed", {"term_start": DROP}, "data.term_start"),
    ("subscription.renewed", {"seats": 0}, "data.seats"),
    ("subscription.renewed", {"tier": "free"}, "data.tier"),
    ("subscription.renewed", {"unit_price": "0"}, "data.unit_price"),
    ("subscription.auto_renew_changed", {"auto_renew": "false"}, "data.auto_renew"),
    ("subscription.auto_renew_changed", {"auto_renew": 0}, "data.auto_renew"),
    ("subscription.auto_renew_changed", {"auto_renew": DROP}, "data.auto_renew"),
    ("subscription.cancelled", {"reason": ""}, "data.reason"),
    ("subscription.cancelled", {"reason": 42}, "data.reason"),
    ("subscription.cancelled", {"reason": "r" * 1001}, "data.reason"),
    ("subscription.cancelled", {"subscription_id": DROP}, "data.subscription_id"),
    ("usage.reported", {"billable_users": -1}, "data.billable_users"),
    ("usage.reported", {"billable_users": 10_000_001}, "data.billable_users"),
    ("usage.reported", {"billable_users": 2.5}, "data.billable_users"),
    ("usage.reported", {"billable_users": "27"}, "data.billable_users"),
    ("usage.reported", {"max_users": -1}, "data.max_users"),
    ("usage.reported", {"max_users": 10**30}, "data.max_users"),
    ("usage.reported", {"observed_at": "2025-02-01T06:00:00"}, "data.observed_at"),
    ("usage.reported", {"observed_at": "2025-02-01 06:00:00Z"}, "data.observed_at"),
    ("usage.reported", {"observed_at": "2025-02-01"}, "data.observed_at"),
    ("usage.reported", {"observed_at": "2025-02-01T25:00:00Z"}, "data.observed_at"),
    ("usage.reported", {"observed_at": "2025-02-01T06:00:00+24:00"}, "data.observed_at"),
    ("usage.reported", {"observed_at": 1738389600}, "data.observed_at"),
    ("payment.succeeded", {"amount": "-5.00"}, "data.amount"),
    ("payment.succeeded", {"amount": 8700}, "data.amount"),
    ("payment.succeeded", {"amount": "8700.001"}, "data.amount"),
    ("payment.succeeded", {"currency": "JPY", "amount": "5000.50"}, "data.amount"),
    ("payment.succeeded", {"currency": DROP}, "data.currency"),
    ("payment.succeeded", {"currency": "EURO"}, "data.currency"),
    ("payment.succeeded", {"invoice_number": ""}, "data.invoice_number"),
    ("payment.failed", {"reason": DROP}, "data.reason"),
    ("payment.failed", {"invoice_number": 7}, "data.invoice_number"),
    ("payment_method.updated", {"card__last4": 4242}, "data.card.last4"),
    ("payment_method.updated", {"card__last4": "424"}, "data.card.last4"),
    ("payment_method.updated", {"card__last4": "42424"}, "data.card.last4"),
    ("payment_method.updated", {"card__last4": "42a2"}, "data.card.last4"),
    ("payment_method.updated", {"card__exp_month": 13}, "data.card.exp_month"),
    ("payment_method.updated", {"card__exp_month": 0}, "data.card.exp_month"),
    ("payment_method.updated", {"card__exp_month": "08"}, "data.card.exp_month"),
    ("payment_method.updated", {"card__exp_year": 1999}, "data.card.exp_year"),
    ("payment_method.updated", {"card__exp_year": 2101}, "data.card.exp_year"),
    ("payment_method.updated", {"card__brand": ""}, "data.card.brand"),
    ("payment_method.updated", {"card": DROP}, "data.card"),
    ("payment_method.updated", {"customer_id": DROP}, "data.customer_id"),
    ("customer.updated", {"email": "nope"}, "data.email"),
    ("customer.updated", {"email": DROP}, "data"),
    ("customer.updated", {"email": None}, "data"),
    ("customer.updated", {"locale": "??"}, "data.locale"),
    ("customer.updated", {"contacts": ["x"]}, "data.contacts.0"),
    ("customer.updated", {"name": ""}, "data.name"),
    ("customer.updated", {"customer_id": ""}, "data.customer_id"),
]


@pytest.mark.parametrize(
    ("event_type", "overrides", "field"),
    INVALID,
    ids=[f"{t}-{f}-{i}" for i, (t, _, f) in enumerate(INVALID)],
)
def test_invalid_field_is_reported_at_its_path(
    event_type: str, overrides: dict[str, Any], field: str
) -> None:
    """Each invalid value gives InvalidData naming exactly that field, with a message."""
    exc = invalid(event_type, data(event_type, **overrides))
    assert fields_of(exc) == [field]
    assert all(error.message for error in exc.errors)


def test_every_type_has_invalid_cases() -> None:
    """The table above exercises every event type."""
    assert {event_type for event_type, _, _ in INVALID} == set(EVENT_TYPES)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"seats": 10**30}, "must be at most 1000000"),
        ({"seats": 3.0}, "must be an integer"),
        ({"seats": DROP}, "is required"),
        ({"unit_price": 348.0}, 'must be a decimal string like "348.00", not a number'),
        (
            {"currency": "JPY", "unit_price": "5000.5"},
            "has more fraction digits than JPY allows (0)",
        ),
        ({"tier": "gold"}, "must be one of 'premium' or 'ultimate'"),
        ({"customer": "Acme"}, "must be an object"),
        ({"term_end": "2025-01-01"}, "must be later than term_start"),
        ({"channel": "partner"}, "is required when channel is partner"),
    ],
)
def test_messages_are_clear(overrides: dict[str, Any], message: str) -> None:
    """Messages are written for the sender: what the field must be, not parser jargon."""
    exc = invalid(SC, data(SC, **overrides))
    assert [error.message for error in exc.errors] == [message]


def test_every_failing_field_is_reported_together() -> None:
    """One answer lists all failures, in nested objects and lists too."""
    exc = invalid(
        SC,
        data(
            SC,
            subscription_id="",
            customer__email="Ann <ann@acme.com>",
            contacts=["ok@acme.com", "bad", "worse"],
            seats=0,
            unit_price="-1",
            term_end="2020-01-01",
            channel="partner",
            auto_renew="yes",
        ),
    )
    assert fields_of(exc) == [
        "data.subscription_id",
        "data.customer.email",
        "data.contacts.1",
        "data.contacts.2",
        "data.seats",
        "data.unit_price",
        "data.term_end",
        "data.auto_renew",
        "data.partner",
    ]
    assert "data.seats: must be at least 1" in str(exc)


def test_an_empty_data_object_lists_every_required_field() -> None:
    """Missing fields are all named at once."""
    exc = invalid(SC, {})
    assert fields_of(exc) == [
        "data.subscription_id",
        "data.customer",
        "data.deployment",
        "data.tier",
        "data.seats",
        "data.term_start",
        "data.term_end",
    ]


def test_field_errors_are_plain_values() -> None:
    """FieldError is a small value the route turns into the problem's errors list."""
    exc = invalid("subscription.seats_added", data("subscription.seats_added", seats=0))
    assert exc.errors == [FieldError("data.seats", "must be at least 1")]


# -- refusals: the envelope -----------------------------------------------------------------------

MALFORMED: list[tuple[bytes, str]] = [
    (b"", "not valid JSON"),
    (b"\xff\xfe{}", "not UTF-8"),
    (b'{"type": "x\xc3"}', "not UTF-8"),
    (b"not json", "not valid JSON"),
    (b'{"type": "subscription.cancelled"', "not valid JSON"),
    (b'{"a": 1} {"b": 2}', "not valid JSON"),
    (b"\xef\xbb\xbf{}", "not valid JSON"),
    (b'{"a": "\\ud800"}', "not valid JSON"),
    (b"[]", "must be a JSON object"),
    (b'"subscription.created"', "must be a JSON object"),
    (b"42", "must be a JSON object"),
    (b"null", "must be a JSON object"),
    (body(SC, type=DROP), "'type'"),
    (body(SC, type=""), "'type'"),
    (body(SC, type=7), "'type'"),
    (body(SC, type=None), "'type'"),
    (body(SC, type="t" * 129), "'type'"),
    (body(SC, type="subscription created"), "'type'"),
    (body(SC, type="subscription.créated"), "'type'"),
    (body(SC, type="subscription.created\n"), "'type'"),
    (body(SC, type=["subscription.created"]), "'type'"),
    (body(SC, timestamp=DROP), "'timestamp'"),
    (body(SC, timestamp="2025-01-15T10:00:00"), "'timestamp'"),
    (body(SC, timestamp="2025-01-15"), "'timestamp'"),
    (body(SC, timestamp="2025-01-15 10:00:00Z"), "'timestamp'"),
    (body(SC, timestamp="2025-13-15T10:00:00Z"), "'timestamp'"),
    (body(SC, timestamp="yesterday"), "'timestamp'"),
    (body(SC, timestamp=1736935200), "'timestamp'"),
    (body(SC, data=DROP), "'data'"),
    (body(SC, data=None), "'data'"),
    (body(SC, data=[]), "'data'"),
    (body(SC, data="{}"), "'data'"),
    (body("x.unknown", data=7), "'data'"),
]


@pytest.mark.parametrize(("raw", "message"), MALFORMED)
def test_malformed_bodies(raw: bytes, message: str) -> None:
    """Bodies that are not UTF-8 JSON objects with a usable envelope give MalformedBody (400)."""
    with pytest.raises(MalformedBody, match=message) as caught:
        parse_event(raw)
    assert caught.value.detail == str(caught.value)


def test_envelope_errors_come_before_data_errors() -> None:
    """A bad envelope is 400 even when the data is bad as well."""
    with pytest.raises(MalformedBody):
        parse_event(body(SC, data(SC, seats=0), timestamp="soon"))


def test_bodies_over_the_limit_are_refused_before_decoding() -> None:
    """parse_event refuses what the route should have refused already (413)."""
    with pytest.raises(BodyTooLarge):
        parse_event(b" " * (MAX_BODY_BYTES + 1))
    assert issubclass(BodyTooLarge, MalformedBody)


def test_extra_envelope_fields_are_ignored() -> None:
    """Senders may add envelope fields such as an id or a version."""
    document = json.loads(body(SC))
    document["version"] = 2
    assert parse_event(json.dumps(document).encode()).known
