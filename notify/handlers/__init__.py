"""Email handlers: one module per notice type, each ``build(notice, fmt) -> context``.

Pure: billingcore, Babel and the standard library only; nothing here performs I/O. The email
path (``notify.mail``) calls ``email_for`` for every notice and queues one message per
recipient of the returned spec, each with the context of the copy it reads
(``spec.letters()``: the customer's, or the partner's own); delivery renders it with the
kind's templates in the copy's language.
``HANDLERS`` is keyed by notice type, and each entry is checked by the type checker: a handler
takes exactly the notice class it is registered for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from billingcore import notices
from billingcore.notices import Notice
from billingcore.state import Subscription
from notify.handlers import (
    auto_renewal_blocked,
    auto_renewal_failed,
    auto_renewal_upcoming,
    cancellation_confirmation,
    managing_users,
    payment_method_expiring,
    payment_receipt,
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
from notify.handlers.common import (
    Branding,
    EmailSpec,
    Formatter,
    common_context,
    partner_recipient,
    recipients,
)

N = TypeVar("N", bound=Notice)
Handler = Callable[[Any, Formatter], dict[str, Any]]


def _entry(
    notice: type[N], build: Callable[[N, Formatter], dict[str, Any]]
) -> tuple[type[Notice], Handler]:
    # N is inferred from the two arguments alone, so a handler registered for another notice
    # class than the one it takes is a type error here.
    return notice, build


HANDLERS: dict[type[Notice], Handler] = dict(
    [
        _entry(notices.SubscriptionConfirmation, subscription_confirmation.build),
        _entry(notices.SeatsAdded, seats_added.build),
        _entry(notices.UpgradeConfirmation, upgrade_confirmation.build),
        _entry(notices.RenewalConfirmation, renewal_confirmation.build),
        _entry(notices.RenewalReminder, renewal_reminder.build),
        _entry(notices.AutoRenewalUpcoming, auto_renewal_upcoming.build),
        _entry(notices.AutoRenewalBlocked, auto_renewal_blocked.build),
        _entry(notices.AutoRenewalFailed, auto_renewal_failed.build),
        _entry(notices.SubscriptionExpired, subscription_expired.build),
        _entry(notices.QsrNotice, qsr_notice.build),
        _entry(notices.QsrReconciled, qsr_reconciled.build),
        _entry(notices.QsrFailed, qsr_failed.build),
        _entry(notices.PaymentMethodExpiring, payment_method_expiring.build),
        _entry(notices.CancellationConfirmation, cancellation_confirmation.build),
        _entry(notices.ManagingUsers, managing_users.build),
        _entry(notices.PaymentReceipt, payment_receipt.build),
    ]
)


def email_for(
    state: Subscription, notice: Notice, brand: Branding, numbers: Mapping[str, str]
) -> EmailSpec:
    """The email ``notice`` calls for: the common context, then its handler's.

    ``state`` is the subscription as the notice's step left it; ``numbers`` maps the core's
    invoice keys to the numbers the service gave them (an invoice notice's number must be in
    it: LookupError otherwise).
    """
    fmt = Formatter.of(state)
    context = common_context(notice, fmt, brand, numbers)
    context.update(HANDLERS[type(notice)](notice, fmt))
    partner = partner_recipient(state)
    return EmailSpec(
        kind=notice.kind.value,
        recipients=recipients(state),
        context=context,
        partner_recipient=partner,
        partner_context=None if partner is None else {**context, "audience": "partner"},
    )


__all__ = ["HANDLERS", "Branding", "EmailSpec", "Formatter", "Handler", "email_for", "recipients"]
