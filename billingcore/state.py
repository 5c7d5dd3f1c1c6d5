"""The state of one subscription, and the questions asked of it.

Rules: CONTRACT §2 (the fields of ``subscription.created`` and later events), §3 (max users of a
period, QSR eligibility, auto-renewal eligibility).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum

from billingcore.catalog import Tier
from billingcore.dates import Term, month_end, require_utc
from billingcore.invoices import InvoicePurpose
from billingcore.money import Money


class Deployment(StrEnum):
    """Where the product runs: GitLab.com (``saas``) or the customer's own instance."""

    SAAS = "saas"
    SELF_MANAGED = "self_managed"


class Channel(StrEnum):
    """How the subscription was sold."""

    DIRECT = "direct"
    PARTNER = "partner"


class Status(StrEnum):
    """Lifecycle status.

    ``cancelled`` runs to its term end and then expires; ``grace`` follows a failed renewal
    payment and expires at ``grace_ends`` unless paid; ``expired`` is over until renewed.
    """

    ACTIVE = "active"
    CANCELLED = "cancelled"
    GRACE = "grace"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True, kw_only=True)
class Customer:
    """The paying customer; ``email`` and every address in ``contacts`` are billing contacts."""

    id: str
    name: str
    email: str
    locale: str = "en"
    contacts: tuple[str, ...] = ()

    @property
    def recipients(self) -> tuple[str, ...]:
        """Every billing contact once, the customer's ``email`` first (CONTRACT §2, §4)."""
        return tuple(dict.fromkeys((self.email, *self.contacts)))


@dataclass(frozen=True, slots=True, kw_only=True)
class Partner:
    """The reseller of a partner-channel subscription."""

    name: str
    email: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Card:
    """A payment card on file. It is valid through the last day of its expiry month."""

    brand: str
    last4: str
    exp_month: int
    exp_year: int

    def __post_init__(self) -> None:
        if not 1 <= self.exp_month <= 12:
            raise ValueError(f"exp_month must be 1..12, got {self.exp_month}")
        if len(self.last4) != 4 or not self.last4.isdigit():
            raise ValueError(f"last4 must be four digits, got {self.last4!r}")

    @property
    def valid_through(self) -> date:
        """The last day the card can be charged: the last day of its expiry month."""
        return month_end(self.exp_year, self.exp_month)

    def expires_before(self, d: date) -> bool:
        """True when the card can no longer be charged on ``d``."""
        return self.valid_through < d


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageReport:
    """One usage observation; ``users`` is what counts toward max users (CONTRACT §3)."""

    observed_at: datetime
    billable_users: int
    max_users: int | None = None

    def __post_init__(self) -> None:
        require_utc(self.observed_at, "observed_at")

    @property
    def users(self) -> int:
        """``max_users`` when given, else ``billable_users`` (CONTRACT §3, max users)."""
        return self.billable_users if self.max_users is None else self.max_users

    @property
    def order(self) -> tuple[datetime, int, int]:
        """Total order of reports, so that the stored sequence is independent of arrival."""
        return (
            self.observed_at,
            self.billable_users,
            -1 if self.max_users is None else self.max_users,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingQsr:
    """A quarterly reconciliation whose notice went out and whose invoice is still to come."""

    quarter: int
    reconciliation_date: date
    overage_at_notice: int
    notice_date: date
    invoice_date: date


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenInvoice:
    """An issued invoice not yet paid; ``covers_from`` is the first day it pays for."""

    key: str
    purpose: InvoicePurpose
    total: Money
    covers_from: date


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduledRenewal:
    """A manual renewal, invoiced already, that takes effect at the current term's end."""

    term: Term
    seats: int
    tier: Tier
    unit_price: Money


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscription:
    """Everything the core knows of one subscription. Change it with ``dataclasses.replace``."""

    id: str
    customer: Customer
    deployment: Deployment
    namespace_id: str | None = None
    instance_id: str | None = None
    tier: Tier
    unit_price: Money
    seats_paid_for: int
    term: Term
    auto_renew: bool = True
    qsr_enabled: bool = True
    channel: Channel = Channel.DIRECT
    partner: Partner | None = None
    purchase_order: bool = False
    cloud_licensing: bool = True
    status: Status = Status.ACTIVE
    grace_ends: date | None = None
    expired_on: date | None = None
    card: Card | None = None
    usage: tuple[UsageReport, ...] = ()
    pending_qsr: PendingQsr | None = None
    open_invoices: tuple[OpenInvoice, ...] = ()
    renewal: ScheduledRenewal | None = None
    applied_keys: frozenset[str] = field(default_factory=frozenset)

    @property
    def currency(self) -> str:
        """The subscription's currency: that of its unit price."""
        return self.unit_price.currency

    @property
    def audience(self) -> str:
        """The feed audience: the namespace (saas) or the instance (self_managed)."""
        return (self.namespace_id if self.deployment is Deployment.SAAS else self.instance_id) or ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Eligibility:
    """A yes/no answer with one reason code per failed criterion (see ``REASONS``)."""

    reasons: tuple[str, ...]

    @property
    def eligible(self) -> bool:
        """True when no criterion failed."""
        return not self.reasons


# Reason codes, stable for templates and the admin API, with an English explanation each.
REASONS: dict[str, str] = {
    "qsr_disabled": "quarterly reconciliation is turned off for this subscription",
    "partner_channel": "the subscription was bought through a partner",
    "purchase_order": "the subscription is paid by purchase order",
    "term_not_twelve_months": "the term is not twelve months long",
    "no_cloud_licensing": "the self-managed instance does not use cloud licensing",
    "auto_renew_off": "automatic renewal is turned off",
    "cancelled": "the subscription was cancelled",
    "expired": "the subscription has expired",
    "card_expires_before_renewal": "the card on file expires before the renewal date",
    "unpaid_qsr_invoice": "a quarterly reconciliation invoice is unpaid",
}


def latest_billable_users(state: Subscription, before: datetime | None = None) -> int | None:
    """``billable_users`` of the latest usage report (observed before ``before`` if given).

    Rule: CONTRACT §3 (auto-renewal seats, renewal floor) and §5 (seat_overage,
    seats_remaining) use the latest ``billable_users``. None when nothing was reported.
    """
    latest: UsageReport | None = None
    for report in state.usage:
        if before is None or report.observed_at < before:
            latest = report
    return None if latest is None else latest.billable_users


def max_users(state: Subscription, period: Term) -> int:
    """Max users of ``period``: the highest count among reports observed in it, else 0.

    Rule: CONTRACT §3, "the highest billable_users (or max_users, when given) among the usage
    reports observed in it".
    """
    best = 0
    for report in state.usage:
        if period.contains(report.observed_at.date()) and report.users > best:
            best = report.users
    return best


def with_usage(state: Subscription, report: UsageReport) -> Subscription:
    """The state with ``report`` added in its place; an identical report is kept once.

    Rule: CONTRACT §2, delivery is in any order and may repeat: the stored reports are sorted
    by observation, so the result does not depend on arrival order.
    """
    orders = [existing.order for existing in state.usage]
    position = bisect.bisect_left(orders, report.order)
    if position < len(orders) and orders[position] == report.order:
        return state
    usage = (*state.usage[:position], report, *state.usage[position:])
    return replace(state, usage=usage)


def qsr_eligibility(state: Subscription) -> Eligibility:
    """Whether the subscription takes part in quarterly reconciliation, and why not.

    Rule: CONTRACT §3 (QSR: ``qsr_enabled``, channel direct, no purchase order, a 12-month term,
    cloud licensing for self_managed), after GitLab's documented QSR policy.
    """
    reasons: list[str] = []
    if not state.qsr_enabled:
        reasons.append("qsr_disabled")
    if state.channel is Channel.PARTNER:
        reasons.append("partner_channel")
    if state.purchase_order:
        reasons.append("purchase_order")
    if not state.term.is_twelve_months:
        reasons.append("term_not_twelve_months")
    if state.deployment is Deployment.SELF_MANAGED and not state.cloud_licensing:
        reasons.append("no_cloud_licensing")
    return Eligibility(reasons=tuple(reasons))


def auto_renew_eligibility(state: Subscription, at: date | None = None) -> Eligibility:
    """Whether the subscription will renew automatically on ``at`` (default: its term end).

    Rule: CONTRACT §3 (auto-renewal: ``auto_renew``, channel direct, no purchase order, a
    12-month term, cloud licensing for self_managed, no card on file that expires before the
    renewal date, no QSR overage left unpaid). A card is valid through the last day of its
    expiry month; no card on file is not a block (the invoice is then paid another way).
    Cancelled and expired subscriptions do not renew either.
    """
    renews_on = state.term.end if at is None else at
    reasons: list[str] = []
    if not state.auto_renew:
        reasons.append("auto_renew_off")
    if state.status is Status.CANCELLED:
        reasons.append("cancelled")
    if state.status is Status.EXPIRED:
        reasons.append("expired")
    if state.channel is Channel.PARTNER:
        reasons.append("partner_channel")
    if state.purchase_order:
        reasons.append("purchase_order")
    if not state.term.is_twelve_months:
        reasons.append("term_not_twelve_months")
    if state.deployment is Deployment.SELF_MANAGED and not state.cloud_licensing:
        reasons.append("no_cloud_licensing")
    if state.card is not None and state.card.expires_before(renews_on):
        reasons.append("card_expires_before_renewal")
    if any(invoice.purpose is InvoicePurpose.QSR for invoice in state.open_invoices):
        reasons.append("unpaid_qsr_invoice")
    return Eligibility(reasons=tuple(reasons))


def find_open_invoice(state: Subscription, key: str) -> OpenInvoice | None:
    """The unpaid invoice named ``key``, if any (CONTRACT §2, payment events name invoices)."""
    for invoice in state.open_invoices:
        if invoice.key == key:
            return invoice
    return None
