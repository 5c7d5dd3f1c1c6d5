"""Wire events to billing core commands: the vocabulary of section 2 turned into the core's.

One table maps each wire model to its translation; ``COMMAND_TYPES`` names the command class of
each event type, so a stored command can be read back. The edge translates every accepted
event once, right after validating it: the processor works on the stored command, never on the
wire body again. What the wire does not say stays open in the command: a price without a
currency (upgrade, renewal) is a bare amount in the subscription's currency, and a payment's
invoice is named by its number until the service resolves it to the core's key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from billingcore import (
    AddSeats,
    Cancel,
    Card,
    ChangeAutoRenew,
    Channel,
    CreateSubscription,
    Customer,
    Deployment,
    Money,
    Partner,
    RecordPaymentFailed,
    RecordPaymentSucceeded,
    Renew,
    ReportUsage,
    Term,
    Tier,
    UpdateCustomer,
    UpdatePaymentMethod,
    Upgrade,
)
from billingcore.commands import EventCommand
from webhooks.schemas import (
    AutoRenewChanged,
    Cancelled,
    CustomerUpdated,
    EventData,
    PaymentFailed,
    PaymentMethodUpdated,
    PaymentSucceeded,
    Renewed,
    SeatsAdded,
    SubscriptionCreated,
    Upgraded,
    UsageReported,
)
from webhooks.schemas import Card as WireCard


@dataclass(frozen=True, slots=True, kw_only=True)
class Origin:
    """Where a command comes from: the webhook's id (the command's key) and its timestamp."""

    key: str
    at: datetime


def to_command(event: EventData, origin: Origin) -> EventCommand:
    """Translate a validated wire model into the billing core's command."""
    return _TABLE[type(event)](event, origin)


def _created(e: SubscriptionCreated, origin: Origin) -> EventCommand:
    return CreateSubscription(
        subscription_id=e.subscription_id,
        key=origin.key,
        at=origin.at,
        customer=Customer(
            id=e.customer.id,
            name=e.customer.name,
            email=e.customer.email,
            locale=e.customer.locale,
            contacts=tuple(e.contacts),
        ),
        deployment=Deployment(e.deployment),
        namespace_id=e.namespace_id,
        instance_id=e.instance_id,
        tier=Tier(e.tier),
        seats=e.seats,
        unit_price=None if e.unit_price is None else Money.of(e.unit_price, e.currency),
        currency=e.currency,
        term=Term(start=e.term_start, end=e.term_end),
        auto_renew=e.auto_renew,
        qsr_enabled=e.qsr_enabled,
        channel=Channel(e.channel),
        partner=None if e.partner is None else Partner(name=e.partner.name, email=e.partner.email),
        purchase_order=e.purchase_order,
        cloud_licensing=True if e.cloud_licensing is None else e.cloud_licensing,
    )


def _seats_added(e: SeatsAdded, origin: Origin) -> EventCommand:
    return AddSeats(
        subscription_id=e.subscription_id,
        key=origin.key,
        at=origin.at,
        seats=e.seats,
        effective_date=e.effective_date,
    )


def _upgraded(e: Upgraded, origin: Origin) -> EventCommand:
    return Upgrade(
        subscription_id=e.subscription_id,
        key=origin.key,
        at=origin.at,
        tier=Tier(e.tier),
        effective_date=e.effective_date,
        unit_price=e.unit_price,
    )


def _renewed(e: Renewed, origin: Origin) -> EventCommand:
    return Renew(
        subscription_id=e.subscription_id,
        key=origin.key,
        at=origin.at,
        term_start=e.term_start,
        term_end=e.term_end,
        seats=e.seats,
        tier=None if e.tier is None else Tier(e.tier),
        unit_price=e.unit_price,
    )


def _auto_renew(e: AutoRenewChanged, origin: Origin) -> EventCommand:
    return ChangeAutoRenew(
        subscription_id=e.subscription_id, key=origin.key, at=origin.at, auto_renew=e.auto_renew
    )


def _cancelled(e: Cancelled, origin: Origin) -> EventCommand:
    return Cancel(subscription_id=e.subscription_id, key=origin.key, at=origin.at, reason=e.reason)


def _usage(e: UsageReported, origin: Origin) -> EventCommand:
    return ReportUsage(
        subscription_id=e.subscription_id,
        key=origin.key,
        at=origin.at,
        observed_at=e.observed_at,
        billable_users=e.billable_users,
        max_users=e.max_users,
    )


def _paid(e: PaymentSucceeded, origin: Origin) -> EventCommand:
    return RecordPaymentSucceeded(
        subscription_id=e.subscription_id,
        key=origin.key,
        at=origin.at,
        invoice_number=e.invoice_number,
        amount=Money.of(e.amount, e.currency),
    )


def _payment_failed(e: PaymentFailed, origin: Origin) -> EventCommand:
    return RecordPaymentFailed(
        subscription_id=e.subscription_id,
        key=origin.key,
        at=origin.at,
        invoice_number=e.invoice_number,
        reason=e.reason,
    )


def _card(card: WireCard) -> Card:
    return Card(
        brand=card.brand, last4=card.last4, exp_month=card.exp_month, exp_year=card.exp_year
    )


def _payment_method(e: PaymentMethodUpdated, origin: Origin) -> EventCommand:
    return UpdatePaymentMethod(
        customer_id=e.customer_id, key=origin.key, at=origin.at, card=_card(e.card)
    )


def _customer(e: CustomerUpdated, origin: Origin) -> EventCommand:
    return UpdateCustomer(
        customer_id=e.customer_id,
        key=origin.key,
        at=origin.at,
        name=e.name,
        email=e.email,
        contacts=None if e.contacts is None else tuple(e.contacts),
        locale=e.locale,
    )


_Translation = Callable[[Any, Origin], EventCommand]
_TABLE: dict[type[Any], _Translation] = {
    SubscriptionCreated: _created,
    SeatsAdded: _seats_added,
    Upgraded: _upgraded,
    Renewed: _renewed,
    AutoRenewChanged: _auto_renew,
    Cancelled: _cancelled,
    UsageReported: _usage,
    PaymentSucceeded: _paid,
    PaymentFailed: _payment_failed,
    PaymentMethodUpdated: _payment_method,
    CustomerUpdated: _customer,
}

COMMAND_TYPES: dict[str, type[EventCommand]] = {
    "subscription.created": CreateSubscription,
    "subscription.seats_added": AddSeats,
    "subscription.upgraded": Upgrade,
    "subscription.renewed": Renew,
    "subscription.auto_renew_changed": ChangeAutoRenew,
    "subscription.cancelled": Cancel,
    "usage.reported": ReportUsage,
    "payment.succeeded": RecordPaymentSucceeded,
    "payment.failed": RecordPaymentFailed,
    "payment_method.updated": UpdatePaymentMethod,
    "customer.updated": UpdateCustomer,
}
