"""Wire events to billing core commands: the vocabulary of section 2 turned into the core's.

One table maps each wire model to its translation. What the wire cannot say on its own comes
in as arguments: the subscription a customer-level event is fanned out to, the subscription's
currency (upgrade and renewal prices carry none), and the billing core's key of the invoice a
payment names (the service maps the wire's invoice number to it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
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
from billingcore.money import InvalidAmount, parse_amount
from webhooks.schemas import (
    AutoRenewChanged,
    Cancelled,
    CustomerUpdated,
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


class Untranslatable(ValueError):
    """The event is valid on the wire but cannot become a command (the reason says why)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Context:
    """What the service knows that the wire event does not say."""

    key: str
    at: datetime
    subscription_id: str
    currency: str | None = None
    invoice_key: str | None = None


def to_command(event: Any, ctx: Context) -> EventCommand:
    """Translate a validated wire model into the billing core's command."""
    try:
        translate = _TABLE[type(event)]
    except KeyError:
        raise Untranslatable(f"no command for {type(event).__name__}") from None
    return translate(event, ctx)


def _money(amount: Decimal, currency: str | None) -> Money:
    if currency is None:
        raise Untranslatable("a price needs the subscription's currency")
    try:
        return parse_amount(str(amount), currency)
    except InvalidAmount as exc:
        raise Untranslatable(str(exc)) from None


def _created(e: SubscriptionCreated, ctx: Context) -> EventCommand:
    return CreateSubscription(
        subscription_id=ctx.subscription_id,
        key=ctx.key,
        at=ctx.at,
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
        unit_price=None if e.unit_price is None else _money(e.unit_price, e.currency),
        currency=e.currency,
        term=Term(start=e.term_start, end=e.term_end),
        auto_renew=e.auto_renew,
        qsr_enabled=e.qsr_enabled,
        channel=Channel(e.channel),
        partner=None if e.partner is None else Partner(name=e.partner.name, email=e.partner.email),
        purchase_order=e.purchase_order,
        cloud_licensing=True if e.cloud_licensing is None else e.cloud_licensing,
    )


def _seats_added(e: SeatsAdded, ctx: Context) -> EventCommand:
    return AddSeats(
        subscription_id=ctx.subscription_id,
        key=ctx.key,
        at=ctx.at,
        seats=e.seats,
        effective_date=e.effective_date,
    )


def _upgraded(e: Upgraded, ctx: Context) -> EventCommand:
    return Upgrade(
        subscription_id=ctx.subscription_id,
        key=ctx.key,
        at=ctx.at,
        tier=Tier(e.tier),
        effective_date=e.effective_date,
        unit_price=None if e.unit_price is None else _money(e.unit_price, ctx.currency),
    )


def _renewed(e: Renewed, ctx: Context) -> EventCommand:
    return Renew(
        subscription_id=ctx.subscription_id,
        key=ctx.key,
        at=ctx.at,
        term_start=e.term_start,
        term_end=e.term_end,
        seats=e.seats,
        tier=None if e.tier is None else Tier(e.tier),
        unit_price=None if e.unit_price is None else _money(e.unit_price, ctx.currency),
    )


def _auto_renew(e: AutoRenewChanged, ctx: Context) -> EventCommand:
    return ChangeAutoRenew(
        subscription_id=ctx.subscription_id, key=ctx.key, at=ctx.at, auto_renew=e.auto_renew
    )


def _cancelled(e: Cancelled, ctx: Context) -> EventCommand:
    return Cancel(subscription_id=ctx.subscription_id, key=ctx.key, at=ctx.at, reason=e.reason)


def _usage(e: UsageReported, ctx: Context) -> EventCommand:
    return ReportUsage(
        subscription_id=ctx.subscription_id,
        key=ctx.key,
        at=ctx.at,
        observed_at=e.observed_at,
        billable_users=e.billable_users,
        max_users=e.max_users,
    )


def _invoice_key(ctx: Context, number: str) -> str:
    if ctx.invoice_key is None:
        raise Untranslatable(f"invoice {number} is not an invoice of this subscription")
    return ctx.invoice_key


def _paid(e: PaymentSucceeded, ctx: Context) -> EventCommand:
    return RecordPaymentSucceeded(
        subscription_id=ctx.subscription_id,
        key=ctx.key,
        at=ctx.at,
        invoice_key=_invoice_key(ctx, e.invoice_number),
        amount=Money.of(e.amount, e.currency),
    )


def _payment_failed(e: PaymentFailed, ctx: Context) -> EventCommand:
    return RecordPaymentFailed(
        subscription_id=ctx.subscription_id,
        key=ctx.key,
        at=ctx.at,
        invoice_key=_invoice_key(ctx, e.invoice_number),
        reason=e.reason,
    )


def _card(card: WireCard) -> Card:
    return Card(
        brand=card.brand, last4=card.last4, exp_month=card.exp_month, exp_year=card.exp_year
    )


def _payment_method(e: PaymentMethodUpdated, ctx: Context) -> EventCommand:
    return UpdatePaymentMethod(
        subscription_id=ctx.subscription_id, key=ctx.key, at=ctx.at, card=_card(e.card)
    )


def _customer(e: CustomerUpdated, ctx: Context) -> EventCommand:
    return UpdateCustomer(
        subscription_id=ctx.subscription_id,
        key=ctx.key,
        at=ctx.at,
        name=e.name,
        email=e.email,
        contacts=None if e.contacts is None else tuple(e.contacts),
        locale=e.locale,
    )


_TABLE: dict[type, Callable[[Any, Context], EventCommand]] = {
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
