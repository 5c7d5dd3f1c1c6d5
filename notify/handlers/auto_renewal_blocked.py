"""auto_renewal_blocked: 15 days before term_end when auto_renew is on but not eligible."""

from __future__ import annotations

from typing import Any

from billingcore.notices import AutoRenewalBlocked
from notify.handlers.common import Formatter, tier_name


def N_(message: str) -> str:
    """Marks a message for the catalogs; the template translates it into the reader's language
    when the email renders, so the context stays the same in every language."""
    return message


# Reason code (billingcore.state.REASONS) → why, in the customer's terms, what to do, and the
# portal link that does it (a key of the context's ``links``, or None).
REASONS: dict[str, tuple[str, str, str | None]] = {
    "auto_renew_off": (
        N_("Automatic renewal is turned off for this subscription."),
        N_("Turn automatic renewal back on, or renew the subscription yourself."),
        "subscription",
    ),
    "cancelled": (
        N_("The subscription was cancelled."),
        N_("If you want to keep it, renew the subscription before it ends."),
        "renew",
    ),
    "expired": (
        N_("The subscription has expired."),
        N_("Renew the subscription to use it again."),
        "renew",
    ),
    "partner_channel": (
        N_("The subscription was bought through a partner, who looks after its renewal."),
        N_("Contact your partner to renew."),
        None,
    ),
    "purchase_order": (
        N_("The subscription is paid by purchase order, which cannot be charged automatically."),
        N_("Renew the subscription yourself and pay the invoice with a new purchase order."),
        "renew",
    ),
    "term_not_twelve_months": (
        N_("Only subscriptions with a twelve-month term renew automatically."),
        N_("Renew the subscription yourself for the term that suits you."),
        "renew",
    ),
    "no_cloud_licensing": (
        N_("Your self-managed instance does not use cloud licensing."),
        N_("Turn on cloud licensing for the instance, or renew the subscription yourself."),
        "renew",
    ),
    "card_expires_before_renewal": (
        N_("The card on file expires before the renewal date."),
        N_("Add a card that is valid on the renewal date."),
        "payment_methods",
    ),
    "unpaid_qsr_invoice": (
        N_("A quarterly reconciliation invoice is still unpaid."),
        N_("Pay the open invoice, or update your payment method so that it can be charged."),
        "payment_methods",
    ),
}

_UNKNOWN = (
    N_("The subscription does not meet the conditions for automatic renewal."),
    N_("Renew the subscription yourself, or contact us and we will help."),
    "renew",
)


def explain(code: str) -> dict[str, Any]:
    """One blocking reason: its code, why it blocks the renewal, and what to do about it."""
    why, action, link = REASONS.get(code, _UNKNOWN)
    return {"code": code, "why": why, "action": action, "link": link}


def build(notice: AutoRenewalBlocked, fmt: Formatter) -> dict[str, Any]:
    """Why the subscription will not renew by itself on its renewal date, and what to do."""
    return {
        "renewal_date": fmt.day(notice.renewal_date),
        "reasons": [explain(code) for code in notice.reasons],
        "tier": tier_name(notice.tier),
        "seats": notice.seats,
    }
