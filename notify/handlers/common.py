"""What every email handler shares: the branding, the email spec, and the common context.

A handler turns one kind of notice into the context its templates render, through a
``Formatter`` bound to the customer's locale. The context holds only JSON values (str, int,
bool, None, lists, dicts), so it can be stored in the outbox and rendered later by any worker;
money and dates are formatted here, for the customer's locale, once. Every figure comes from
the notice: a handler formats, it never computes a billing amount.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote

from babel import Locale

from billingcore.catalog import Tier
from billingcore.dates import Term
from billingcore.money import Money
from billingcore.notices import InvoiceNotice, Notice, RenewalCost
from billingcore.state import Channel, Deployment, Partner, Subscription
from notify.handlers.formatting import (
    copy_language,
    format_date,
    format_money,
    format_term,
    resolve_locale,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Branding:
    """The product name shown in emails and the base URL of the customers portal."""

    brand: str
    portal_url: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EmailSpec:
    """One email to send: its kind, every recipient, and the JSON context of its templates.

    ``context`` is the copy for the customer's contacts; a partner subscription's partner, when
    it is not one of them, is ``partner_recipient`` and reads ``partner_context``, the copy
    addressed to the partner about its customer (CONTRACT §4).
    """

    kind: str
    recipients: tuple[str, ...]
    context: dict[str, Any]
    partner_recipient: str | None = None
    partner_context: dict[str, Any] | None = None

    def letters(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Each recipient, in order, with the context of the copy they read."""
        for recipient in self.recipients:
            if recipient == self.partner_recipient and self.partner_context is not None:
                yield recipient, self.partner_context
            else:
                yield recipient, self.context


@dataclass(frozen=True, slots=True, kw_only=True)
class Formatter:
    """Formats a notice's values for the customer's locale; ``state`` is the subscription as
    the notice left it (its customer, partner and card)."""

    state: Subscription
    locale: Locale

    @classmethod
    def of(cls, state: Subscription) -> Formatter:
        return cls(state=state, locale=resolve_locale(state.customer.locale))

    @property
    def language(self) -> str:
        """The language of the copy (``de`` for ``de-AT``), one of ``LANGUAGES``."""
        return copy_language(self.state.customer.locale)

    def money(self, amount: Money) -> dict[str, Any]:
        return format_money(amount, self.locale)

    def optional_money(self, amount: Money | None) -> dict[str, Any] | None:
        return None if amount is None else self.money(amount)

    def day(self, day: date) -> dict[str, Any]:
        return format_date(day, self.locale)

    def term(self, term: Term) -> dict[str, Any]:
        return format_term(term, self.locale)

    def renewal(self, cost: RenewalCost) -> dict[str, Any]:
        """A renewal's cost: its seats line, the true-up line if any, and the total."""
        true_up = None
        if cost.true_up_amount is not None:
            true_up = {"users": cost.true_up_users, "amount": self.money(cost.true_up_amount)}
        return {
            "seats": cost.seats,
            "unit_price": self.money(cost.unit_price),
            "seats_amount": self.money(cost.seats_amount),
            "true_up": true_up,
            "total": self.money(cost.total),
        }

    def card(self, last4: str | None) -> dict[str, Any] | None:
        """The card a payment was tried on: its last 4 digits, and its brand when on file."""
        if last4 is None:
            return None
        card = self.state.card
        brand = card.brand if card is not None and card.last4 == last4 else None
        return {"brand": brand, "last4": last4}


_DEPLOYMENT_LABELS = {
    Deployment.SAAS: "SaaS",
    Deployment.SELF_MANAGED: "Self-Managed",
}


def partner_of(state: Subscription) -> Partner | None:
    """The partner to name in the email: only partner-channel subscriptions have one."""
    return state.partner if state.channel is Channel.PARTNER else None


def recipients(state: Subscription) -> tuple[str, ...]:
    """The customer's email, each contact and, for partner subscriptions, the partner.

    Rule: CONTRACT §4, every billing contact (and the partner's contact) gets a message. An
    address is listed once however it is capitalised; the first spelling and order are kept.
    """
    contacts = _unique((state.customer.email, *state.customer.contacts))
    partner = partner_recipient(state)
    return contacts if partner is None else (*contacts, partner)


def partner_recipient(state: Subscription) -> str | None:
    """The partner's address, when it is a recipient of its own: a partner subscription's
    partner that is not also one of the customer's contacts (who read the customer's copy)."""
    partner = partner_of(state)
    if partner is None:
        return None
    contacts = {a.casefold() for a in _unique((state.customer.email, *state.customer.contacts))}
    cleaned = partner.email.strip()
    return cleaned if cleaned and cleaned.casefold() not in contacts else None


def _unique(addresses: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for address in addresses:
        cleaned = address.strip()
        if cleaned and cleaned.casefold() not in seen:
            seen[cleaned.casefold()] = cleaned
    return tuple(seen.values())


def portal_links(state: Subscription, brand: Branding) -> dict[str, str]:
    """Links into the customers portal for the self-service actions an email points to."""
    base = brand.portal_url.rstrip("/")
    subscription = f"{base}/subscriptions/{quote(state.id, safe='')}"
    return {
        "portal": base,
        "subscription": subscription,
        "renew": f"{subscription}/renew",
        "add_seats": f"{subscription}/seats",
        "payment_methods": f"{base}/payment_methods",
    }


def tier_name(tier: Tier) -> str:
    """The product name of a tier (``premium`` → ``Premium``)."""
    return tier.product_name


def common_context(
    notice: Notice, fmt: Formatter, brand: Branding, numbers: Mapping[str, str]
) -> dict[str, Any]:
    """The keys every template may use: kind, brand, customer_name, customer_email,
    subscription_id, locale, language (of the copy), audience (``customer``; the partner's copy
    says ``partner``), deployment, deployment_label, namespace_id, instance_id, partner, links,
    tier, current_term, invoice_number (the number the service gave the notice's invoice, for
    invoice notices) and credit (the invoice is a credit: nothing to pay)."""
    state = fmt.state
    partner = partner_of(state)
    number = None
    credit = isinstance(notice, InvoiceNotice) and notice.is_credit
    if isinstance(notice, InvoiceNotice):
        try:
            number = numbers[notice.invoice_key]
        except KeyError:
            raise LookupError(f"{notice.kind.value}: no number for {notice.invoice_key}") from None
    return {
        "kind": notice.kind.value,
        "brand": brand.brand,
        "customer_name": state.customer.name,
        "customer_email": state.customer.email,
        "subscription_id": state.id,
        "locale": str(fmt.locale),
        "language": fmt.language,
        "audience": "customer",
        "deployment": state.deployment.value,
        "deployment_label": _DEPLOYMENT_LABELS[state.deployment],
        "namespace_id": state.namespace_id,
        "instance_id": state.instance_id,
        "partner": None if partner is None else {"name": partner.name, "email": partner.email},
        "links": portal_links(state, brand),
        "tier": tier_name(state.tier),
        "current_term": fmt.term(state.term),
        "invoice_number": number,
        "credit": credit,
    }
