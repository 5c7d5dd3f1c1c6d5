"""Sample emails of every kind, made by the real billing core from sample subscriptions.

The preview command (``notify emails preview``), the tests of the copy and the layout, and
any gallery of the emails take their examples from here, so that what a copywriter reviews is
what the core would send: each sample is a subscription driven through events and the
scheduler's occasions by ``billingcore.apply``, and each notice it sends is kept with the
state its step left and the invoice numbers the service would have given.

``samples(locale)`` returns, for one customer locale, at least one sample of every kind, the
partner's copy of every kind a partner receives, and each step of the renewal reminders.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from billingcore.catalog import Tier
from billingcore.commands import (
    AddSeats,
    Cancel,
    Command,
    CreateSubscription,
    RecordPaymentFailed,
    RecordPaymentSucceeded,
    Renew,
    ReportUsage,
    Upgrade,
)
from billingcore.dates import Term, add_months
from billingcore.due import occasions
from billingcore.money import Money
from billingcore.notices import (
    Notice,
    NoticeKind,
    RenewalConfirmation,
    RenewalReminder,
    UpgradeConfirmation,
)
from billingcore.outcomes import Applied, InvoiceIssued
from billingcore.state import Card, Channel, Customer, Deployment, Partner, Subscription
from billingcore.timeline import apply
from notify.handlers import Branding, EmailSpec, email_for
from notify.handlers.formatting import copy_language
from notify.mail.compose import Letter
from notify.mail.enqueue import idempotency_key, message_id

# Each language's sample customer, and the currency and list prices it is billed in.
_CUSTOMERS: dict[str, tuple[str, str, Decimal]] = {
    "en": ("Acme Corp", "USD", Decimal(1)),
    "de": ("Müller & Söhne GmbH", "EUR", Decimal(1)),
    "fr": ("Exemple & Fils SARL", "EUR", Decimal(1)),
    "es": ("Ejemplo Soluciones S.L.", "EUR", Decimal(1)),
    "ja": ("株式会社サンプル", "JPY", Decimal(150)),
    "pt_BR": ("Exemplo Tecnologia Ltda.", "BRL", Decimal(5)),
}
_LIST_PRICES = {Tier.PREMIUM: Decimal("348.00"), Tier.ULTIMATE: Decimal("1188.00")}


@dataclass(frozen=True, slots=True, kw_only=True)
class Sample:
    """One email as the service would queue it: ``name`` is unique within a locale
    (``renewal_reminder``, ``renewal_reminder-45``, ``renewal_reminder-partner``…)."""

    name: str
    state: Subscription
    notice: Notice
    numbers: dict[str, str]
    audience: str  # "customer", or "partner" for the partner's own copy

    @property
    def kind(self) -> NoticeKind:
        return self.notice.kind

    def spec(self, branding: Branding) -> EmailSpec:
        return email_for(self.state, self.notice, branding, self.numbers)

    def context(self, branding: Branding) -> dict[str, Any]:
        """The context of this sample's copy, as the outbox row of its recipient holds it."""
        spec = self.spec(branding)
        if self.audience == "partner":
            assert spec.partner_context is not None, self.name
            return spec.partner_context
        return spec.context

    def letter(self, branding: Branding, domain: str) -> Letter:
        """This sample as the outbox row of its recipient, ready to compose (Message-ID in
        ``domain``)."""
        recipient = (
            "partner@reseller.example" if self.audience == "partner" else "billing@customer.example"
        )
        key = idempotency_key(self.notice.key, recipient)
        return Letter(
            kind=self.kind.value,
            subscription_id=self.state.id,
            recipient=recipient,
            context=json.dumps(self.context(branding)),
            message_id=message_id(key, domain),
            idempotency_key=key,
        )


def at(day: str) -> datetime:
    """00:00 UTC of ``day``."""
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


@dataclass
class Story:
    """A subscription driven through events and the scheduler, keeping every notice sent.

    Each notice is kept with the state its transition left, which is what the processor hands
    to ``email_for``; invoices are numbered in the order they were issued, as the service does.
    """

    state: Subscription
    sent: list[tuple[Subscription, Notice]] = field(default_factory=list)
    invoices: list[str] = field(default_factory=list)
    numbers: dict[str, str] = field(default_factory=dict)
    count: int = 0

    def take(self, result: object) -> Story:
        if not isinstance(result, Applied):
            raise ValueError(f"the sample story was refused: {result}")
        self.state = result.state
        for outcome in result.outcomes:
            if isinstance(outcome, Notice):
                self.sent.append((result.state, outcome))
            elif isinstance(outcome, InvoiceIssued):
                self.invoices.append(outcome.invoice.key)
                self.numbers[outcome.invoice.key] = f"INV-{len(self.invoices):06d}"
        return self

    def event(self, command: Command) -> Story:
        return self.take(apply(self.state, command, command.at))

    def until(self, day: str) -> Story:
        """Every occasion due before ``day``, earliest first, as the scheduler runs them."""
        end = at(day)
        while due := occasions(self.state, at("2000-01-01"), end):
            self.take(apply(self.state, due[0], due[0].due))
        return self

    def key(self) -> str:
        self.count += 1
        return f"evt-{self.count}"

    def usage(self, day: str, users: int) -> Story:
        return self.event(
            ReportUsage(
                subscription_id=self.state.id,
                key=self.key(),
                at=at(day),
                observed_at=at(day),
                billable_users=users,
            )
        )

    def fail_payment(self, day: str, invoice_key: str) -> Story:
        return self.event(
            RecordPaymentFailed(
                subscription_id=self.state.id,
                key=self.key(),
                at=at(day),
                invoice_number=self.numbers[invoice_key],
                invoice_key=invoice_key,
                reason="card_declined",
            )
        )

    def pay(self, day: str, invoice_key: str, amount: str | None = None) -> Story:
        """The invoice paid on ``day``: its total, or ``amount`` in the subscription's currency."""
        total = next(i.total for i in self.state.open_invoices if i.key == invoice_key)
        if amount is not None:
            total = Money.of(amount, self.state.currency)
        return self.event(
            RecordPaymentSucceeded(
                subscription_id=self.state.id,
                key=self.key(),
                at=at(day),
                invoice_number=self.numbers[invoice_key],
                invoice_key=invoice_key,
                amount=total,
            )
        )

    def renew(self, day: str, seats: int) -> Story:
        """Renewed by hand on ``day`` for the next twelve months."""
        start = self.state.term.end
        return self.event(
            Renew(
                subscription_id=self.state.id,
                key=self.key(),
                at=at(day),
                term_start=start,
                term_end=add_months(start, 12),
                seats=seats,
            )
        )

    def seats(self, day: str, seats: int) -> Story:
        when = at(day)
        return self.event(
            AddSeats(
                subscription_id=self.state.id,
                key=self.key(),
                at=when,
                seats=seats,
                effective_date=when.date(),
            )
        )


def _price(language: str, tier: Tier) -> Money:
    _name, currency, rate = _CUSTOMERS[language]
    return Money.of(str((_LIST_PRICES[tier] * rate).quantize(Decimal("0.01"))), currency)


def _start(locale: str, **overrides: Any) -> Story:
    language = copy_language(locale)
    name, currency, _rate = _CUSTOMERS[language]
    fields: dict[str, Any] = {
        "subscription_id": "sub_8f3k2",
        "key": "evt-create",
        "at": at("2026-01-01"),
        "customer": Customer(
            id="cus_1",
            name=name,
            email="billing@customer.example",
            locale=locale,
            contacts=("finance@customer.example",),
        ),
        "deployment": Deployment.SAAS,
        "namespace_id": "acme-group",
        "tier": Tier.PREMIUM,
        "seats": 10,
        "unit_price": _price(language, Tier.PREMIUM),
        "currency": currency,
        "term": Term(start=date(2026, 1, 1), end=date(2027, 1, 1)),
        "card": Card(brand="visa", last4="4242", exp_month=12, exp_year=2030),
    }
    fields.update(overrides)
    story = Story(state=Subscription.__new__(Subscription))
    return story.take(apply(None, CreateSubscription(**fields), fields["at"]))


def _partner(locale: str, **overrides: Any) -> Story:
    fields: dict[str, Any] = {
        "channel": Channel.PARTNER,
        "partner": Partner(name="Reseller Partners Ltd", email="orders@reseller.example"),
        "deployment": Deployment.SELF_MANAGED,
        "namespace_id": None,
        "instance_id": "gitlab.customer.example",
        "auto_renew": False,
    }
    fields.update(overrides)
    return _start(locale, **fields)


def _direct_year(locale: str) -> Story:
    """Purchase; 4 users over in quarter 1, reconciled, its payment failing, then paid; seats
    added; an upgrade; the auto-renewal announced, made, its payment failing; expiry."""
    language = copy_language(locale)
    story = _start(locale).until("2026-02-01").usage("2026-02-15", 14).until("2026-04-09")
    qsr_invoice = story.invoices[-1]
    story.fail_payment("2026-04-10", qsr_invoice).pay("2026-04-20", qsr_invoice)
    story.seats("2026-07-01", 5)
    story.event(
        Upgrade(
            subscription_id=story.state.id,
            key=story.key(),
            at=at("2026-10-01"),
            tier=Tier.ULTIMATE,
            effective_date=date(2026, 10, 1),
            unit_price=_price(language, Tier.ULTIMATE).amount,
        )
    )
    story.until("2027-01-02").fail_payment("2027-01-02", story.invoices[-1])
    return story.until("2027-01-20")


def _partner_year(locale: str) -> Story:
    """A partner subscription with auto-renew off: the three reminders; 30 users over its
    seats and no QSR, so renewing it by hand bills a true-up; then paid."""
    story = _partner(locale).usage("2026-06-01", 40)
    for day in ("2026-10-04", "2026-11-17", "2026-12-03"):
        story.until(day)
    return story.renew("2026-12-10", seats=40).pay("2026-12-15", story.invoices[-1])


def _partner_end(locale: str) -> Story:
    """A partner subscription with auto-renew on: blocked at the 15-day notice (bought
    through a partner), cancelled, then expired."""
    story = _partner(locale, auto_renew=True).until("2026-12-18")
    story.event(Cancel(subscription_id=story.state.id, key=story.key(), at=at("2026-12-20")))
    return story.until("2027-01-02")


def _partner_unpaid(locale: str) -> Story:
    """A partner subscription renewed by hand whose renewal payment fails."""
    story = _partner(locale).renew("2026-12-10", seats=10)
    return story.fail_payment("2026-12-12", story.invoices[-1])


def _credit_upgrade(locale: str) -> Story:
    """An upgrade to Ultimate at a negotiated price below the Premium one: a net credit."""
    language = copy_language(locale)
    story = _start(locale, unit_price=_price(language, Tier.ULTIMATE))
    cheaper = _price(language, Tier.PREMIUM)
    return story.event(
        Upgrade(
            subscription_id=story.state.id,
            key=story.key(),
            at=at("2026-07-01"),
            tier=Tier.ULTIMATE,
            effective_date=date(2026, 7, 1),
            unit_price=cheaper.amount / 2,
        )
    )


def _reminders(locale: str) -> Story:
    """Auto-renew off and no QSR, 13 users on 10 seats: the three reminders, each saying what
    renewing for the seats in use (with the true-up) would cost."""
    story = _start(locale, auto_renew=False, qsr_enabled=False).usage("2026-06-01", 13)
    for day in ("2026-10-04", "2026-11-17", "2026-12-03"):
        story.until(day)
    return story


def _expiring_card(locale: str) -> Story:
    story = _start(locale, card=Card(brand="mastercard", last4="1111", exp_month=11, exp_year=2026))
    return story.until("2026-12-18")


def samples(locale: str = "en") -> list[Sample]:
    """Every kind's sample emails for a customer whose locale is ``locale``."""
    chosen: dict[str, Sample] = {}

    def keep(name: str, state: Subscription, notice: Notice, story: Story, audience: str) -> None:
        if name not in chosen:
            numbers = dict(story.numbers)
            chosen[name] = Sample(
                name=name, state=state, notice=notice, numbers=numbers, audience=audience
            )

    def named(notice: Notice) -> str:
        if isinstance(notice, RenewalReminder):
            return f"{notice.kind.value}-{notice.days_before}"
        if isinstance(notice, UpgradeConfirmation) and notice.is_credit:
            return f"{notice.kind.value}-credit"
        return notice.kind.value

    direct = (_direct_year(locale), _reminders(locale), _expiring_card(locale))
    for story in (*direct, _credit_upgrade(locale)):
        for state, notice in story.sent:
            keep(named(notice), state, notice, story, "customer")
    for story in (_partner_year(locale), _partner_end(locale), _partner_unpaid(locale)):
        for state, notice in story.sent:
            name = named(notice)
            if isinstance(notice, RenewalConfirmation) and notice.true_up_amount is not None:
                keep(f"{name}-true-up", state, notice, story, "customer")
            keep(f"{name}-partner", state, notice, story, "partner")
            keep(f"{name}-via-partner", state, notice, story, "customer")
    missing = set(NoticeKind) - {sample.kind for sample in chosen.values()}
    if missing:
        raise AssertionError(f"the sample stories send no {sorted(missing)}")
    return sorted(chosen.values(), key=lambda s: s.name)
