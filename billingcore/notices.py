"""Notices: one frozen dataclass per email kind, carrying every fact its email states.

Rule: CONTRACT §4, the kinds and what each "states at least". The billing core fills every
field; the email handlers (``notify.handlers``) only format them, so a handler never computes a
billing figure. Each notice has a stable ``key``, ``"{subscription_id}:{kind}:{occasion}"``
(each (subscription, kind, occasion) is sent once) and its ``cause``. Reminder kinds, and only
they, may be unsubscribed from: ``reminder`` on the class is the one place that says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import ClassVar

from billingcore.catalog import Tier
from billingcore.causes import Cause
from billingcore.dates import Term
from billingcore.invoices import InvoicePurpose
from billingcore.money import Money
from billingcore.state import Card


class NoticeKind(StrEnum):
    """The email kinds of CONTRACT §4."""

    SUBSCRIPTION_CONFIRMATION = "subscription_confirmation"
    SEATS_ADDED = "seats_added"
    UPGRADE_CONFIRMATION = "upgrade_confirmation"
    RENEWAL_CONFIRMATION = "renewal_confirmation"
    RENEWAL_REMINDER = "renewal_reminder"
    AUTO_RENEWAL_UPCOMING = "auto_renewal_upcoming"
    AUTO_RENEWAL_BLOCKED = "auto_renewal_blocked"
    AUTO_RENEWAL_FAILED = "auto_renewal_failed"
    SUBSCRIPTION_EXPIRED = "subscription_expired"
    QSR_NOTICE = "qsr_notice"
    QSR_RECONCILED = "qsr_reconciled"
    QSR_FAILED = "qsr_failed"
    PAYMENT_METHOD_EXPIRING = "payment_method_expiring"
    CANCELLATION_CONFIRMATION = "cancellation_confirmation"
    MANAGING_USERS = "managing_users"
    PAYMENT_RECEIPT = "payment_receipt"

    @property
    def is_reminder(self) -> bool:
        """Reminder kinds may be unsubscribed from (CONTRACT §4, List-Unsubscribe)."""
        return self in REMINDER_KINDS


def notice_key(subscription_id: str, kind: NoticeKind, occasion: str) -> str:
    """``"{subscription_id}:{kind}:{occasion}"`` (CONTRACT §4: each (subscription, kind,
    occasion) is sent once)."""
    return f"{subscription_id}:{kind.value}:{occasion}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Notice:
    """An email is due. Subclasses name their ``kind`` and the facts their email states."""

    kind: ClassVar[NoticeKind]
    reminder: ClassVar[bool] = False

    key: str
    cause: Cause


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoiceNotice(Notice):
    """A notice about one invoice, named by the core's ``invoice_key`` (its email names the
    number the service gave it: CONTRACT §4)."""

    invoice_key: str
    invoice_total: Money

    @property
    def is_credit(self) -> bool:
        """The invoice is a credit (a negative total): no payment is asked for (CONTRACT §3)."""
        return self.invoice_total.amount < 0


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriptionConfirmation(InvoiceNotice):
    kind = NoticeKind.SUBSCRIPTION_CONFIRMATION
    tier: Tier
    seats: int
    term: Term
    unit_price: Money


@dataclass(frozen=True, slots=True, kw_only=True)
class SeatsAdded(InvoiceNotice):
    kind = NoticeKind.SEATS_ADDED
    seats_added: int
    new_seats: int
    effective_date: date
    remaining_days: int
    unit_price: Money


@dataclass(frozen=True, slots=True, kw_only=True)
class UpgradeConfirmation(InvoiceNotice):
    kind = NoticeKind.UPGRADE_CONFIRMATION
    tier: Tier
    previous_tier: Tier
    seats: int
    effective_date: date
    remaining_days: int
    unit_price: Money
    credit: Money
    charge: Money


@dataclass(frozen=True, slots=True, kw_only=True)
class RenewalConfirmation(InvoiceNotice):
    kind = NoticeKind.RENEWAL_CONFIRMATION
    term: Term
    tier: Tier
    seats: int
    unit_price: Money
    seats_amount: Money
    true_up_users: int
    true_up_amount: Money | None
    automatic: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class RenewalCost:
    """What renewing for the seats in use would cost: max(seats paid for, latest billable
    users) × unit price, plus the true-up line where it applies (CONTRACT §3, Forecast)."""

    seats: int
    unit_price: Money
    seats_amount: Money
    true_up_users: int
    true_up_amount: Money | None
    total: Money


@dataclass(frozen=True, slots=True, kw_only=True)
class RenewalReminder(Notice):
    kind = NoticeKind.RENEWAL_REMINDER
    reminder = True
    expires_on: date
    days_before: int
    tier: Tier
    seats: int
    term: Term
    renewal: RenewalCost


@dataclass(frozen=True, slots=True, kw_only=True)
class AutoRenewalUpcoming(Notice):
    kind = NoticeKind.AUTO_RENEWAL_UPCOMING
    reminder = True
    renewal_date: date
    new_term: Term
    tier: Tier
    seats: int
    unit_price: Money
    seats_amount: Money
    true_up_users: int
    true_up_amount: Money | None
    amount: Money
    card_last4: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class AutoRenewalBlocked(Notice):
    kind = NoticeKind.AUTO_RENEWAL_BLOCKED
    renewal_date: date
    reasons: tuple[str, ...]
    tier: Tier
    seats: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AutoRenewalFailed(InvoiceNotice):
    kind = NoticeKind.AUTO_RENEWAL_FAILED
    grace_ends: date
    reason: str
    card_last4: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriptionExpired(Notice):
    kind = NoticeKind.SUBSCRIPTION_EXPIRED
    expired_on: date
    tier: Tier
    seats: int
    term: Term


@dataclass(frozen=True, slots=True, kw_only=True)
class QsrNotice(Notice):
    kind = NoticeKind.QSR_NOTICE
    quarter: int
    quarter_period: Term
    quarters_left: int
    reconciliation_date: date
    overage: int
    seats: int
    max_users: int
    unit_price: Money
    amount: Money
    invoice_date: date


@dataclass(frozen=True, slots=True, kw_only=True)
class QsrReconciled(InvoiceNotice):
    kind = NoticeKind.QSR_RECONCILED
    quarter: int
    quarters_left: int
    reconciliation_date: date
    overage: int
    seats: int


@dataclass(frozen=True, slots=True, kw_only=True)
class QsrFailed(InvoiceNotice):
    kind = NoticeKind.QSR_FAILED
    reason: str
    card_last4: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentReceipt(InvoiceNotice):
    """A payment was received for an invoice: what was paid, and what it paid for (the
    invoice's purpose and the period it covers)."""

    kind = NoticeKind.PAYMENT_RECEIPT
    amount_paid: Money
    paid_on: date
    purpose: InvoicePurpose
    period: Term | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentMethodExpiring(Notice):
    kind = NoticeKind.PAYMENT_METHOD_EXPIRING
    reminder = True
    renewal_date: date
    card: Card


@dataclass(frozen=True, slots=True, kw_only=True)
class CancellationConfirmation(Notice):
    kind = NoticeKind.CANCELLATION_CONFIRMATION
    ends_on: date
    tier: Tier
    reason: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ManagingUsers(Notice):
    kind = NoticeKind.MANAGING_USERS
    seats: int
    term: Term
    tier: Tier
    unit_price: Money
    reconciliation_dates: tuple[date, ...]


NOTICE_TYPES: dict[NoticeKind, type[Notice]] = {
    cls.kind: cls
    for cls in (
        SubscriptionConfirmation,
        SeatsAdded,
        UpgradeConfirmation,
        RenewalConfirmation,
        RenewalReminder,
        AutoRenewalUpcoming,
        AutoRenewalBlocked,
        AutoRenewalFailed,
        SubscriptionExpired,
        QsrNotice,
        QsrReconciled,
        QsrFailed,
        PaymentMethodExpiring,
        CancellationConfirmation,
        ManagingUsers,
        PaymentReceipt,
    )
}
REMINDER_KINDS = frozenset(kind for kind, cls in NOTICE_TYPES.items() if cls.reminder)
