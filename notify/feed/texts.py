"""What a feed item says: title, body and call to action, rendered from its kind and facts.

The billing core hands over typed items of facts only; the words are written here, one
function per item type in ``RENDERERS``. Dates and money are written for the customer's
locale, the brand comes from ``NOTIFY_BRAND`` and every link points into the customers portal
(``NOTIFY_PORTAL_URL``). The words are the gettext catalogs' (``notify.translations``), in the
customer's language (CONTRACT §4: every feed item is written in the customer's language).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from babel import Locale
from babel.dates import format_date
from babel.support import NullTranslations

from billingcore.feed import (
    AutoRenewalFailed,
    FeedItem,
    QsrUpcoming,
    RenewalUpcoming,
    SeatOverage,
    SeatsRemaining,
    SubscriptionExpired,
)
from billingcore.money import Money
from billingcore.state import Channel, Subscription
from notify.handlers.common import Branding, portal_links
from notify.handlers.formatting import copy_language, money_text, resolve_locale
from notify.translations import catalog


@dataclass(frozen=True, slots=True, kw_only=True)
class Cta:
    label: str
    url: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemText:
    title: str
    body: str
    cta: Cta | None


@dataclass(frozen=True, slots=True, kw_only=True)
class _Context:
    state: Subscription
    brand: str
    links: dict[str, str]
    locale: Locale
    copy: NullTranslations

    def _(self, message: str, **values: Any) -> str:
        return self.copy.gettext(message) % values

    def n_(self, singular: str, plural: str, n: int, **values: Any) -> str:
        return self.copy.ngettext(singular, plural, n) % {"n": n, **values}

    def seats(self, n: int) -> str:
        return self.n_("%(n)s seat", "%(n)s seats", n)

    def day(self, value: date) -> str:
        return format_date(value, "long", locale=self.locale)

    def money(self, value: Money) -> str:
        return money_text(value, self.locale)

    @property
    def partner(self) -> str | None:
        """The partner's name when a partner sold the subscription (they handle renewals)."""
        if self.state.channel is Channel.PARTNER and self.state.partner is not None:
            return self.state.partner.name
        return None


def render(state: Subscription, item: FeedItem, branding: Branding) -> ItemText:
    """The customer-facing text of ``item``."""
    context = _Context(
        state=state,
        brand=branding.brand,
        links=portal_links(state, branding),
        locale=resolve_locale(state.customer.locale),
        copy=catalog(copy_language(state.customer.locale)),
    )
    return RENDERERS[type(item)](item, context)


def _renewal_upcoming(item: RenewalUpcoming, c: _Context) -> ItemText:
    on, n = c.day(item.term_end), item.days_left
    if item.auto_renew:
        if item.amount is None:
            body = c._(
                "It renews automatically on %(date)s. Check your seats and payment "
                "method before then.",
                date=on,
            )
        else:
            body = c._(
                "It renews automatically on %(date)s for %(amount)s. Check your seats "
                "and payment method before then.",
                date=on,
                amount=c.money(item.amount),
            )
        return ItemText(
            title=c.n_(
                "Your %(brand)s subscription renews in %(n)s day",
                "Your %(brand)s subscription renews in %(n)s days",
                n,
                brand=c.brand,
            ),
            body=body,
            cta=Cta(label=c._("Review subscription"), url=c.links["subscription"]),
        )
    title = c.n_(
        "Your %(brand)s subscription expires in %(n)s day",
        "Your %(brand)s subscription expires in %(n)s days",
        n,
        brand=c.brand,
    )
    if c.partner is not None:
        return ItemText(
            title=title,
            body=c._(
                "It ends on %(date)s. Contact %(partner)s to renew it.", date=on, partner=c.partner
            ),
            cta=Cta(label=c._("View subscription"), url=c.links["subscription"]),
        )
    return ItemText(
        title=title,
        body=c._(
            "It ends on %(date)s and will not renew automatically. Renew it to keep your "
            "paid features.",
            date=on,
        ),
        cta=Cta(label=c._("Renew subscription"), url=c.links["renew"]),
    )


def _auto_renewal_failed(item: AutoRenewalFailed, c: _Context) -> ItemText:
    return ItemText(
        title=c._("We could not renew your %(brand)s subscription", brand=c.brand),
        body=c._(
            "The payment for your renewal failed. Update your payment method before "
            "%(date)s to keep your subscription.",
            date=c.day(item.grace_ends),
        ),
        cta=Cta(label=c._("Update payment method"), url=c.links["payment_methods"]),
    )


def _subscription_expired(item: SubscriptionExpired, c: _Context) -> ItemText:
    title = c._("Your %(brand)s subscription has expired", brand=c.brand)
    product = f"{c.brand} {item.tier.product_name}"
    lead = c._(
        "Your %(product)s subscription expired on %(date)s.",
        product=product,
        date=c.day(item.expired_on),
    )
    if c.partner is not None:
        return ItemText(
            title=title,
            body=lead + " " + c._("Contact %(partner)s to renew it.", partner=c.partner),
            cta=None,
        )
    return ItemText(
        title=title,
        body=lead + " " + c._("Renew it to get your paid features back."),
        cta=Cta(label=c._("Renew subscription"), url=c.links["renew"]),
    )


def _seat_overage(item: SeatOverage, c: _Context) -> ItemText:
    n = item.billable_users
    if item.billed_by_qsr:
        body = c.n_(
            "You have %(n)s billable user; the overage will be billed at the next quarterly "
            "reconciliation. Add seats now to plan for them.",
            "You have %(n)s billable users; the overage will be billed at the next quarterly "
            "reconciliation. Add seats now to plan for them.",
            n,
        )
    else:
        body = c.n_(
            "You have %(n)s billable user; the overage will be billed at renewal, in the "
            "annual true-up. Add seats now to plan for them.",
            "You have %(n)s billable users; the overage will be billed at renewal, in the "
            "annual true-up. Add seats now to plan for them.",
            n,
        )
    return ItemText(
        title=c.n_(
            "You are %(n)s user over your %(seats)s",
            "You are %(n)s users over your %(seats)s",
            item.overage,
            seats=c.seats(item.seats_paid_for),
        ),
        body=body,
        cta=Cta(label=c._("Add seats"), url=c.links["add_seats"]),
    )


def _seats_remaining(item: SeatsRemaining, c: _Context) -> ItemText:
    seats = item.seats_paid_for
    if item.seats_left == 0:
        title = c._("You have used all %(seats)s of your seats", seats=seats)
    else:
        title = c.n_("You have %(n)s seat left", "You have %(n)s seats left", item.seats_left)
    return ItemText(
        title=title,
        body=c.n_(
            "%(n)s billable user on %(seats)s.",
            "%(n)s billable users on %(seats)s.",
            item.billable_users,
            seats=c.seats(seats),
        )
        + " "
        + c._("Users added beyond your seats are billed as overage; add seats to stay ahead."),
        cta=Cta(label=c._("Add seats"), url=c.links["add_seats"]),
    )


def _qsr_upcoming(item: QsrUpcoming, c: _Context) -> ItemText:
    on = c.day(item.reconciliation_date)
    return ItemText(
        title=c._("Quarterly reconciliation on %(date)s", date=on),
        body=c.n_(
            "This quarter you are %(n)s user over your seats so far. At the "
            "reconciliation on %(date)s it will be billed for the rest of the term: "
            "%(amount)s as it stands.",
            "This quarter you are %(n)s users over your seats so far. At the "
            "reconciliation on %(date)s they will be billed for the rest of the term: "
            "%(amount)s as it stands.",
            item.overage,
            date=on,
            amount=c.money(item.amount),
        ),
        cta=Cta(label=c._("Review seats"), url=c.links["add_seats"]),
    )


ItemT = TypeVar("ItemT", bound=FeedItem)
_Renderer = Callable[[Any, _Context], ItemText]


def _entry(
    item: type[ItemT], render: Callable[[ItemT, _Context], ItemText]
) -> tuple[type[FeedItem], _Renderer]:
    # The item type is inferred from both arguments: a renderer registered for another item
    # class than the one it takes is a type error.
    return item, render


RENDERERS: dict[type[FeedItem], _Renderer] = dict(
    [
        _entry(RenewalUpcoming, _renewal_upcoming),
        _entry(AutoRenewalFailed, _auto_renewal_failed),
        _entry(SubscriptionExpired, _subscription_expired),
        _entry(SeatOverage, _seat_overage),
        _entry(SeatsRemaining, _seats_remaining),
        _entry(QsrUpcoming, _qsr_upcoming),
    ]
)
