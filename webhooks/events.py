"""The events of contract section 2: one strict, frozen model per type, and ``EVENT_TYPES``.

Each model is frozen and strict (see webhooks.fields for the field rules). Unknown fields inside
``data`` are ignored, so senders can add fields before this service reads them. Money is
``Decimal`` built from the wire string, never a float. ``webhooks.schemas`` parses a body into
one of them.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import ClassVar, Final

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

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
)


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
