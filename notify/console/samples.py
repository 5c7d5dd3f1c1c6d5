"""Sample emails of every kind, in a language of choice, made by the real billing core.

Three sample subscriptions are run through ``billingcore.advance``, the timeline the processor
runs, as a scheduler that is on time would run them: a direct saas year (confirmation,
onboarding, a reconciliation, a failed and a paid payment, seats added, an upgrade, the
auto-renewal and its failed payment, expiry), one that will not renew (the three reminders, a
cancellation), and one whose card expires before its renewal. Each notice is kept with the
state its step left and the invoice numbers the service would have given, and turned into an
email's context by the real handlers. ``samples(language)`` gives one per kind; the language is
the sample customer's locale, so the gallery shows each language as its customers get it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from billingcore.catalog import Tier
from billingcore.commands import (
    AddSeats,
    Cancel,
    CreateSubscription,
    EventCommand,
    RecordPaymentFailed,
    RecordPaymentSucceeded,
    ReportUsage,
    Upgrade,
)
from billingcore.dates import Term
from billingcore.invoices import InvoicePurpose
from billingcore.notices import Notice, NoticeKind
from billingcore.outcomes import InvoiceIssued
from billingcore.state import Card, Customer, Deployment, Subscription
from billingcore.timeline import advance
from notify.handlers import Branding, email_for

# The contract's languages (CONTRACT §4); a locale the copy has no catalog for reads English.
LANGUAGES = ("en", "de", "fr", "es", "ja", "pt-BR")
_TERM = Term(start=date(2026, 1, 15), end=date(2027, 1, 15))


@dataclass(frozen=True, slots=True, kw_only=True)
class Sample:
    """One email as the service would queue it for the sample customer."""

    kind: str
    subscription_id: str
    recipient: str
    context: dict[str, Any]


def _at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


class _Run:
    """A sample subscription advanced through events as the processor advances one."""

    def __init__(self, language: str, subscription_id: str, **created: Any) -> None:
        self.id = subscription_id
        self.state: Subscription | None = None
        self.through: datetime | None = None
        self.sent: list[tuple[Subscription, Notice]] = []
        self.numbers: dict[str, str] = {}
        customer = Customer(
            id=f"cus-{subscription_id}",
            name="Acme Corp",
            email="billing@acme.example",
            locale=language,
        )
        fields: dict[str, Any] = {
            "subscription_id": subscription_id,
            "key": f"{subscription_id}-created",
            "at": _at("2026-01-15T10:00:00"),
            "customer": customer,
            "deployment": Deployment.SAAS,
            "namespace_id": "acme-group",
            "tier": Tier.PREMIUM,
            "seats": 10,
            "term": _TERM,
            "card": Card(brand="visa", last4="4242", exp_month=12, exp_year=2030),
            **created,
        }
        self.go(fields["at"], CreateSubscription(**fields))

    def go(self, now: datetime, *commands: EventCommand) -> _Run:
        ran = advance(self.state, commands, through=self.through, now=now, on_time=True)
        self.state, self.through = ran.state, ran.through
        for step in ran.steps:
            for outcome in step.outcomes:
                if isinstance(outcome, InvoiceIssued):
                    self.numbers[outcome.invoice.key] = f"INV-{len(self.numbers) + 1:06d}"
                elif isinstance(outcome, Notice):
                    self.sent.append((step.state, outcome))
        return self

    def key_of(self, purpose: InvoicePurpose) -> str:
        return [key for key in self.numbers if f":{purpose.value}:" in key][-1]

    def paid(self, day: str, purpose: InvoicePurpose, *, ok: bool) -> _Run:
        key = self.key_of(purpose)
        common: dict[str, Any] = {
            "subscription_id": self.id,
            "key": f"{self.id}-paid-{day}",
            "at": _at(day),
            "invoice_number": self.numbers[key],
            "invoice_key": key,
        }
        if ok:
            assert self.state is not None
            total = next(o for o in self.state.open_invoices if o.key == key).total
            return self.go(_at(day), RecordPaymentSucceeded(**common, amount=total))
        return self.go(_at(day), RecordPaymentFailed(**common, reason="card_declined"))


def _direct(language: str) -> _Run:
    run = _Run(language, "sub-sample-1")
    usage = ReportUsage(
        subscription_id=run.id,
        key=f"{run.id}-usage",
        at=_at("2026-03-01"),
        observed_at=_at("2026-03-01"),
        billable_users=14,
    )
    run.go(_at("2026-04-23"), usage)
    run.paid("2026-04-24", InvoicePurpose.QSR, ok=False)
    seats = AddSeats(
        subscription_id=run.id,
        key=f"{run.id}-seats",
        at=_at("2026-05-01"),
        seats=2,
        effective_date=date(2026, 5, 1),
    )
    upgrade = Upgrade(
        subscription_id=run.id,
        key=f"{run.id}-upgrade",
        at=_at("2026-06-01"),
        tier=Tier.ULTIMATE,
        effective_date=date(2026, 6, 1),
    )
    run.go(_at("2026-06-02"), seats, upgrade)
    run.paid("2026-06-03", InvoicePurpose.QSR, ok=True)
    run.go(_at("2027-01-16"))
    run.paid("2027-01-16T12:00:00", InvoicePurpose.RENEWAL, ok=False)
    return run.go(_at("2027-02-15"))


def _not_renewing(language: str) -> _Run:
    run = _Run(language, "sub-sample-2", auto_renew=False, qsr_enabled=False)
    run.go(_at("2026-12-17"))
    cancel = Cancel(subscription_id=run.id, key=f"{run.id}-cancel", at=_at("2026-12-18"))
    return run.go(_at("2026-12-18"), cancel)


def _card_expiring(language: str) -> _Run:
    card = Card(brand="mastercard", last4="5100", exp_month=12, exp_year=2026)
    return _Run(language, "sub-sample-3", card=card).go(_at("2027-01-01"))


@lru_cache(maxsize=len(LANGUAGES))
def _all(language: str, branding: Branding) -> tuple[Sample, ...]:
    found: dict[str, Sample] = {}
    for run in (_direct(language), _not_renewing(language), _card_expiring(language)):
        for state, notice in run.sent:
            spec = email_for(state, notice, branding, run.numbers)
            found.setdefault(
                spec.kind,
                Sample(
                    kind=spec.kind,
                    subscription_id=state.id,
                    recipient=spec.recipients[0],
                    context=spec.context,
                ),
            )
    return tuple(found[kind.value] for kind in NoticeKind if kind.value in found)


def samples(language: str, branding: Branding) -> tuple[Sample, ...]:
    """One sample of every kind, in ``NoticeKind`` order, for a customer of ``language``."""
    return tuple(
        replace(sample, context=dict(sample.context)) for sample in _all(language, branding)
    )


def kinds_missing(found: Iterable[Sample]) -> list[str]:
    """The kinds the samples do not reach (none: a test holds them to it)."""
    have = {sample.kind for sample in found}
    return [kind.value for kind in NoticeKind if kind.value not in have]
