"""Commands: what the core is asked to do, each named by a stable ``key``.

Every command carries ``key`` (the webhook id, or the occasion's key) and ``at`` (the event's
timestamp, aware UTC). A key already applied in the current term is not applied again
(CONTRACT §4: each occasion once, however often events repeat). Time-driven occasions are
commands too (``billingcore.occasions.Occasion``) and go through the same ``apply``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from billingcore.catalog import Tier
from billingcore.dates import Term, require_utc
from billingcore.money import Money
from billingcore.state import Card, Channel, Customer, Deployment, Partner


@dataclass(frozen=True, slots=True, kw_only=True)
class _Command:
    subscription_id: str
    key: str
    at: datetime

    def __post_init__(self) -> None:
        require_utc(self.at, "at")


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateSubscription(_Command):
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
class AddSeats(_Command):
    """Add ``seats`` seats from ``effective_date`` to the term end (``seats_added``)."""

    seats: int
    effective_date: date


@dataclass(frozen=True, slots=True, kw_only=True)
class Upgrade(_Command):
    """Move to a higher ``tier`` from ``effective_date`` (``subscription.upgraded``)."""

    tier: Tier
    effective_date: date
    unit_price: Money | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Renew(_Command):
    """Renew manually for ``[term_start, term_end)`` (``subscription.renewed``)."""

    term_start: date
    term_end: date
    seats: int
    tier: Tier | None = None
    unit_price: Money | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeAutoRenew(_Command):
    """Turn automatic renewal on or off (``subscription.auto_renew_changed``)."""

    auto_renew: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Cancel(_Command):
    """Stop the subscription from renewing; it runs to its term end (``subscription.cancelled``)."""

    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportUsage(_Command):
    """Record one usage observation (``usage.reported``)."""

    observed_at: datetime
    billable_users: int
    max_users: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordPaymentSucceeded(_Command):
    """An invoice was paid (``payment.succeeded``); ``invoice_key`` is the core's key."""

    invoice_key: str
    amount: Money


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordPaymentFailed(_Command):
    """Charging an invoice failed (``payment.failed``); ``invoice_key`` is the core's key."""

    invoice_key: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdatePaymentMethod(_Command):
    """Replace the card on file (``payment_method.updated``, fanned out per subscription)."""

    card: Card


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateCustomer(_Command):
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
