"""Email handlers: one module per email kind, each ``build(state, notice, brand) -> EmailSpec``.

Pure: billingcore, Babel and the standard library only; nothing here performs I/O. The
processor calls ``email_for`` for every ``NoticeDue`` and queues one message per recipient of
the returned spec; the delivery worker renders ``spec.context`` with the kind's templates.

Errors::

    ValueError
    └── NoticeMismatch   a notice lacks a fact its email states (a bug in the core or here)
    KeyError             a notice kind without a handler (the table test prevents it)
"""

from __future__ import annotations

from billingcore.outcomes import NoticeDue, NoticeKind
from billingcore.state import Subscription
from notify.handlers import (
    auto_renewal_blocked,
    auto_renewal_failed,
    auto_renewal_upcoming,
    cancellation_confirmation,
    managing_users,
    payment_method_expiring,
    qsr_failed,
    qsr_notice,
    qsr_reconciled,
    renewal_confirmation,
    renewal_reminder,
    seats_added,
    subscription_confirmation,
    subscription_expired,
    upgrade_confirmation,
)
from notify.handlers.common import Branding, EmailSpec, Handler, NoticeMismatch, recipients

HANDLERS: dict[NoticeKind, Handler] = {
    NoticeKind.SUBSCRIPTION_CONFIRMATION: subscription_confirmation.build,
    NoticeKind.SEATS_ADDED: seats_added.build,
    NoticeKind.UPGRADE_CONFIRMATION: upgrade_confirmation.build,
    NoticeKind.RENEWAL_CONFIRMATION: renewal_confirmation.build,
    NoticeKind.RENEWAL_REMINDER: renewal_reminder.build,
    NoticeKind.AUTO_RENEWAL_UPCOMING: auto_renewal_upcoming.build,
    NoticeKind.AUTO_RENEWAL_BLOCKED: auto_renewal_blocked.build,
    NoticeKind.AUTO_RENEWAL_FAILED: auto_renewal_failed.build,
    NoticeKind.SUBSCRIPTION_EXPIRED: subscription_expired.build,
    NoticeKind.QSR_NOTICE: qsr_notice.build,
    NoticeKind.QSR_RECONCILED: qsr_reconciled.build,
    NoticeKind.QSR_FAILED: qsr_failed.build,
    NoticeKind.PAYMENT_METHOD_EXPIRING: payment_method_expiring.build,
    NoticeKind.CANCELLATION_CONFIRMATION: cancellation_confirmation.build,
    NoticeKind.MANAGING_USERS: managing_users.build,
}


def email_for(state: Subscription, notice: NoticeDue, brand: Branding) -> EmailSpec:
    """The email ``notice`` calls for, built by the handler of its kind."""
    return HANDLERS[notice.kind](state, notice, brand)


__all__ = [
    "HANDLERS",
    "Branding",
    "EmailSpec",
    "Handler",
    "NoticeMismatch",
    "email_for",
    "recipients",
]
