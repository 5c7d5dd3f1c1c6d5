"""Commands: what the core is asked to do, each named by a stable ``key``.

Every command carries ``key`` (the webhook id, or the occasion's key) and ``at`` (the event's
timestamp, aware UTC). A key already applied in the current term is not applied again
(CONTRACT §4: each occasion once, however often events repeat). Time-driven occasions are
commands too (``billingcore.occasion.Occasion``) and go through the same ``apply``.

Commands hold what the wire says, already validated: a price the wire gives without its
currency (upgrade, renewal) is a bare amount that the core checks against the subscription's
currency; a payment names its invoice by number, which the service resolves to the core's
``invoice_key`` before applying it. Customer-level commands name the customer; the service
applies them to each of the customer's subscriptions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from billingcore.catalog import Tier
from billingcore.causes import Cause
from billingcore.dates import Term, require_utc
from billingcore.money import Money
from billingcore.occasion import Occasion
from billingcore.state import Card, Channel, Customer, Deployment, Partner


@dataclass(frozen=True, slots=True, kw_only=True)
class _Command:
    key: str
    at: datetime

    def __post_init__(self) -> None:
        require_utc(self.at, "at")


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriptionCommand(_Command):
    """A command about one subscription."""

    subscription_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerCommand(_Command):
    """A command about a customer, applied to each subscription of ``customer_id``."""

    customer_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateSubscription(SubscriptionCommand):
    """Start a subscription and invoice its purchase (``subscription.created``)."""

    customer: Customer
    deployment: Deployment
    namespace_id: str | None = None
    instance_id: str | None = None
    tier: Tier
    seats: int
    unit_price: Money | None = None
    currency: str = "USD"
    term: Term
    auto_renew: bool = True
    qsr_enabled: bool = True
    channel: Channel = Channel.DIRECT
    partner: Partner | None = None
    purchase_order: bool = False
    cloud_licensing: bool = True
    card: Card | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AddSeats(SubscriptionCommand):
    """Add ``seats`` seats from ``effective_date`` to the term end (``seats_added``)."""

    seats: int
    effective_date: date


@dataclass(frozen=True, slots=True, kw_only=True)
class Upgrade(SubscriptionCommand):
    """Move to a higher ``tier`` from ``effective_date`` (``subscription.upgraded``);
    ``unit_price`` is in the subscription's currency."""

    tier: Tier
    effective_date: date
    unit_price: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Renew(SubscriptionCommand):
    """Renew manually for ``[term_start, term_end)`` (``subscription.renewed``);
    ``unit_price`` is in the subscription's currency."""

    term_start: date
    term_end: date
    seats: int
    tier: Tier | None = None
    unit_price: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeAutoRenew(SubscriptionCommand):
    """Turn automatic renewal on or off (``subscription.auto_renew_changed``)."""

    auto_renew: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Cancel(SubscriptionCommand):
    """Stop the subscription from renewing; it runs to its term end (``subscription.cancelled``)."""

    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportUsage(SubscriptionCommand):
    """Record one usage observation (``usage.reported``)."""

    observed_at: datetime
    billable_users: int
    max_users: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordPaymentSucceeded(SubscriptionCommand):
    """An invoice was paid (``payment.succeeded``); ``invoice_key`` is the core's key of the
    invoice numbered ``invoice_number``, None when that number names no invoice of this
    subscription."""

    invoice_number: str
    invoice_key: str | None = None
    amount: Money


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordPaymentFailed(SubscriptionCommand):
    """Charging an invoice failed (``payment.failed``); ``invoice_key`` as for a payment."""

    invoice_number: str
    invoice_key: str | None = None
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdatePaymentMethod(CustomerCommand):
    """Replace the card on file (``payment_method.updated``)."""

    card: Card


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateCustomer(CustomerCommand):
    """Change the customer's details (``customer.updated``); None leaves a field unchanged."""

    name: str | None = None
    email: str | None = None
    contacts: tuple[str, ...] | None = None
    locale: str | None = None


EventCommand = (
    CreateSubscription
    | AddSeats
    | Upgrade
    | Renew
    | ChangeAutoRenew
    | Cancel
    | ReportUsage
    | RecordPaymentSucceeded
    | RecordPaymentFailed
    | UpdatePaymentMethod
    | UpdateCustomer
)
EVENT_COMMANDS: tuple[type[EventCommand], ...] = (
    CreateSubscription,
    AddSeats,
    Upgrade,
    Renew,
    ChangeAutoRenew,
    Cancel,
    ReportUsage,
    RecordPaymentSucceeded,
    RecordPaymentFailed,
    UpdatePaymentMethod,
    UpdateCustomer,
)
Command = EventCommand | Occasion


def cause_of(command: Command) -> Cause:
    """The cause every outcome of ``command`` carries (CONTRACT §6): its event, or the
    occasion's kind and date."""
    if isinstance(command, Occasion):
        return Cause.fell_due(command.kind, command.due_on)
    return Cause.event(command.key)
