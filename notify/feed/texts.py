"""What a feed item says: title, body and call to action, rendered from its kind and facts.

The billing core hands over typed items of facts only; the words are written here, one
function per item type in ``RENDERERS``. Dates and money are written for the customer's
locale, the brand comes from ``NOTIFY_BRAND`` and every link points into the customers portal
(``NOTIFY_PORTAL_URL``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from babel import Locale
from babel.dates import format_date

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
from notify.handlers.formatting import money_text, resolve_locale


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
    )
    return RENDERERS[type(item)](item, context)


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _renewal_upcoming(item: RenewalUpcoming, c: _Context) -> ItemText:
    days = _plural(item.days_left, "day", "days")
    on = c.day(item.term_end)
    if item.auto_renew:
        cost = "" if item.amount is None else f" for {c.money(item.amount)}"
        return ItemText(
            title=f"Your {c.brand} subscription renews in {days}",
            body=f"It renews automatically on {on}{cost}. Check your seats and payment method "
            "before then.",
            cta=Cta(label="Review subscription", url=c.links["subscription"]),
        )
    if c.partner is not None:
        return ItemText(
            title=f"Your {c.brand} subscription expires in {days}",
            body=f"It ends on {on}. Contact {c.partner} to renew it.",
            cta=Cta(label="View subscription", url=c.links["subscription"]),
        )
    return ItemText(
        title=f"Your {c.brand} subscription expires in {days}",
        body=f"It ends on {on} and will not renew automatically. Renew it to keep your paid "
        "features.",
        cta=Cta(label="Renew subscription", url=c.links["renew"]),
    )


def _auto_renewal_failed(item: AutoRenewalFailed, c: _Context) -> ItemText:
    return ItemText(
        title=f"We could not renew your {c.brand} subscription",
        body=f"The payment for your renewal failed. Update your payment method before "
        f"{c.day(item.grace_ends)} to keep your subscription.",
        cta=Cta(label="Update payment method", url=c.links["payment_methods"]),
    )


def _subscription_expired(item: SubscriptionExpired, c: _Context) -> ItemText:
    product = f"{c.brand} {item.tier.product_name}"
    lead = f"Your {product} subscription expired on {c.day(item.expired_on)}."
    if c.partner is not None:
        return ItemText(
            title=f"Your {c.brand} subscription has expired",
            body=f"{lead} Contact {c.partner} to renew it.",
            cta=None,
        )
    return ItemText(
        title=f"Your {c.brand} subscription has expired",
        body=f"{lead} Renew it to get your paid features back.",
        cta=Cta(label="Renew subscription", url=c.links["renew"]),
    )


def _seat_overage(item: SeatOverage, c: _Context) -> ItemText:
    overage = _plural(item.overage, "user", "users")
    seats = _plural(item.seats_paid_for, "seat", "seats")
    billed_at = (
        "the next quarterly reconciliation"
        if item.billed_by_qsr
        else "renewal, in the annual true-up"
    )
    users = _plural(item.billable_users, "billable user", "billable users")
    return ItemText(
        title=f"You are {overage} over your {seats}",
        body=f"You have {users}; the overage will be billed at {billed_at}. Add seats now to "
        "plan for them.",
        cta=Cta(label="Add seats", url=c.links["add_seats"]),
    )


def _seats_remaining(item: SeatsRemaining, c: _Context) -> ItemText:
    left = item.seats_left
    seats = item.seats_paid_for
    title = (
        f"You have used all {seats} of your seats"
        if left == 0
        else f"You have {_plural(left, 'seat', 'seats')} left"
    )
    users = _plural(item.billable_users, "billable user", "billable users")
    return ItemText(
        title=title,
        body=f"{users.capitalize()} on {_plural(seats, 'seat', 'seats')}. Users added beyond "
        "your seats are billed as overage; add seats to stay ahead.",
        cta=Cta(label="Add seats", url=c.links["add_seats"]),
    )


def _qsr_upcoming(item: QsrUpcoming, c: _Context) -> ItemText:
    on = c.day(item.reconciliation_date)
    overage = _plural(item.overage, "user", "users")
    return ItemText(
        title=f"Quarterly reconciliation on {on}",
        body=f"This quarter you are {overage} over your seats so far. At the reconciliation on "
        f"{on} they will be billed for the rest of the term: {c.money(item.amount)} as it stands.",
        cta=Cta(label="Review seats", url=c.links["add_seats"]),
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
