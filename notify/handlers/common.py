"""What every email handler shares: the branding, the email spec, and the common context.

A handler turns a ``NoticeDue`` into an ``EmailSpec``: who receives it and the context its
templates render. The context holds only JSON values (str, int, bool, None, lists, dicts), so
it can be stored in the outbox and rendered later by any worker; money and dates are
formatted here, for the customer's locale, once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar
from urllib.parse import quote

from babel import Locale

from billingcore.catalog import Tier
from billingcore.dates import Term
from billingcore.money import Money
from billingcore.outcomes import NoticeDue, NoticeKind
from billingcore.state import Channel, Deployment, Partner, Subscription
from notify.handlers.formatting import format_date, format_money, format_term, resolve_locale

T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class Branding:
    """The product name shown in emails and the base URL of the customers portal."""

    brand: str
    portal_url: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EmailSpec:
    """One email to send: its kind, every recipient, and the JSON context of its templates.

    ``reminder`` marks the kinds a recipient may unsubscribe from (CONTRACT §4).
    """

    kind: str
    recipients: tuple[str, ...]
    context: dict[str, Any]
    reminder: bool


class NoticeMismatch(ValueError):
    """A notice lacks a fact its email states, or carries it with another type."""


Handler = Callable[[Subscription, NoticeDue, Branding], EmailSpec]

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
    partner = partner_of(state)
    addresses: Iterable[str] = (state.customer.email, *state.customer.contacts)
    if partner is not None:
        addresses = (*addresses, partner.email)
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


def tier_name(tier: str | Tier) -> str:
    """The product name of a tier (``premium`` → ``Premium``)."""
    return Tier(tier).product_name


def spec(
    state: Subscription,
    notice: NoticeDue,
    brand: Branding,
    **facts: Any,
) -> EmailSpec:
    """The email of ``notice``: the common context keys, then the kind's own ``facts``.

    Common keys: kind, brand, customer_name, customer_email, subscription_id, locale,
    deployment, deployment_label, partner, links, tier, current_term, invoice_number.
    """
    locale = resolve_locale(state.customer.locale)
    partner = partner_of(state)
    context: dict[str, Any] = {
        "kind": notice.kind.value,
        "brand": brand.brand,
        "customer_name": state.customer.name,
        "customer_email": state.customer.email,
        "subscription_id": state.id,
        "locale": str(locale),
        "deployment": state.deployment.value,
        "deployment_label": _DEPLOYMENT_LABELS[state.deployment],
        "partner": None if partner is None else {"name": partner.name, "email": partner.email},
        "links": portal_links(state, brand),
        "tier": tier_name(state.tier),
        "current_term": format_term(state.term, locale),
        "invoice_number": _invoice_number(notice),
    }
    context.update(facts)
    return EmailSpec(
        kind=notice.kind.value,
        recipients=recipients(state),
        context=context,
        reminder=NoticeKind(notice.kind).is_reminder,
    )


def _invoice_number(notice: NoticeDue) -> str | None:
    # The core names invoices by key; the number (INV-000001) is given when the service stores
    # the invoice. A notice that carries it shows it; the others show none.
    number = notice.facts.get("invoice_number")
    return number if isinstance(number, str) else None


class FactReader:
    """Typed access to a notice's facts, formatted for the customer's locale."""

    def __init__(self, state: Subscription, notice: NoticeDue) -> None:
        self.notice = notice
        self.locale: Locale = resolve_locale(state.customer.locale)

    def _get(self, name: str, kind: type[T] | tuple[type[T], ...]) -> T:
        if name not in self.notice.facts:
            raise NoticeMismatch(f"{self.notice.kind.value} notice has no fact {name!r}")
        value = self.notice.facts[name]
        # bool is an int: an int fact must not accept True.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise NoticeMismatch(
                f"{self.notice.kind.value} fact {name!r} is {type(value).__name__}"
            )
        return value

    def has(self, name: str) -> bool:
        """True when the fact is present and not None."""
        return self.notice.facts.get(name) is not None

    def integer(self, name: str) -> int:
        return self._get(name, int)

    def text(self, name: str) -> str:
        return self._get(name, str)

    def optional_text(self, name: str) -> str | None:
        return self.text(name) if self.has(name) else None

    def flag(self, name: str) -> bool:
        return self._get(name, bool)

    def texts(self, name: str) -> tuple[str, ...]:
        values: tuple[Any, ...] = self._get(name, tuple)
        if not all(isinstance(value, str) for value in values):
            raise NoticeMismatch(f"{self.notice.kind.value} fact {name!r} is not all text")
        return values

    def money_value(self, name: str) -> Money:
        return self._get(name, Money)

    def money(self, name: str) -> dict[str, Any]:
        return format_money(self.money_value(name), self.locale)

    def optional_money(self, name: str) -> dict[str, Any] | None:
        return self.money(name) if self.has(name) else None

    def day_value(self, name: str) -> date:
        return self._get(name, date)

    def day(self, name: str) -> dict[str, Any]:
        return format_date(self.day_value(name), self.locale)

    def term_value(self, name: str) -> Term:
        return self._get(name, Term)

    def term(self, name: str) -> dict[str, Any]:
        return format_term(self.term_value(name), self.locale)

    def tier(self, name: str = "tier") -> str:
        return tier_name(self.text(name))


def card_on_file(state: Subscription, last4: str | None) -> dict[str, Any] | None:
    """The card a payment was tried on: its last 4 digits, and its brand when still on file."""
    if last4 is None:
        return None
    card = state.card
    brand = card.brand if card is not None and card.last4 == last4 else None
    return {"brand": brand, "last4": last4}


def remaining_days(state: Subscription, effective: date) -> int | None:
    """Days from ``effective`` to the term end, the span a prorated line covers (CONTRACT §3).

    None when ``effective`` is outside the state's term: the notice then belongs to another
    term than the state handed in, and a wrong figure is worse than none.
    """
    return state.term.remaining_days(effective) if state.term.contains(effective) else None
