"""Small builders of billing states and commands, each taking overrides."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from billingcore.catalog import Tier
from billingcore.commands import Command, CreateSubscription, ReportUsage
from billingcore.dates import Term
from billingcore.due import occasions
from billingcore.invoices import Invoice
from billingcore.money import Money
from billingcore.notices import Notice
from billingcore.occasion import Occasion
from billingcore.outcomes import Applied, InvoiceIssued, Outcome, Rejected
from billingcore.state import Customer, Deployment, Subscription
from billingcore.timeline import apply

SUB = "S-1"
CUSTOMER = "C-1"

T = TypeVar("T")


def at(text: str) -> datetime:
    """An aware UTC datetime from ``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM``."""
    fmt = "%Y-%m-%dT%H:%M" if "T" in text else "%Y-%m-%d"
    return datetime.strptime(text, fmt).replace(tzinfo=UTC)


def d(text: str) -> date:
    """A date from ``YYYY-MM-DD``."""
    return date.fromisoformat(text)


def usd(text: str) -> Money:
    """US dollars from a decimal string."""
    return Money.of(text, "USD")


def term(start: str = "2026-01-01", end: str | None = None) -> Term:
    """A term; by default twelve months."""
    begin = d(start)
    return Term(start=begin, end=d(end) if end else begin.replace(year=begin.year + 1))


def create(**overrides: Any) -> CreateSubscription:
    """A CreateSubscription for a 10-seat premium saas subscription from 2026-01-01."""
    fields: dict[str, Any] = {
        "subscription_id": SUB,
        "key": "evt-create",
        "at": at("2026-01-01"),
        "customer": Customer(id=CUSTOMER, name="Acme", email="billing@acme.test"),
        "deployment": Deployment.SAAS,
        "namespace_id": "ns-1",
        "tier": Tier.PREMIUM,
        "seats": 10,
        "term": term(),
    }
    fields.update(overrides)
    return CreateSubscription(**fields)


def subscription(**overrides: Any) -> Subscription:
    """The state a default ``create`` leads to, with ``overrides`` replaced afterwards."""
    result = apply(None, create(), at("2026-01-01"))
    assert isinstance(result, Applied)
    return replace(result.state, **overrides)


def usage(state: Subscription, when: str, users: int, max_users: int | None = None) -> Subscription:
    """``state`` after a usage report observed at ``when``."""
    cmd = ReportUsage(
        subscription_id=state.id,
        key=f"usage-{when}-{users}-{max_users}",
        at=at(when),
        observed_at=at(when),
        billable_users=users,
        max_users=max_users,
    )
    return applied(state, cmd).state


def applied(state: Subscription | None, command: Command, now: datetime | None = None) -> Applied:
    """Apply and insist that the command was applied."""
    result = apply(state, command, now or command.at)
    assert isinstance(result, Applied), result
    return result


def rejected(state: Subscription | None, command: Command) -> Rejected:
    """Apply and insist that the command was refused."""
    result = apply(state, command, command.at)
    assert isinstance(result, Rejected), result
    return result


def notices(outcomes: Iterable[Outcome]) -> list[Notice]:
    """The notices among outcomes."""
    return [o for o in outcomes if isinstance(o, Notice)]


def invoices(outcomes: Iterable[Outcome]) -> list[Invoice]:
    """The invoices issued among outcomes."""
    return [o.invoice for o in outcomes if isinstance(o, InvoiceIssued)]


def only(outcomes: Iterable[Outcome], kind: type[T]) -> T:
    """The one notice among outcomes, insisting that there is exactly one and of ``kind``."""
    (notice,) = notices(outcomes)
    assert isinstance(notice, kind), notice
    return notice


def run_until(
    state: Subscription, start: datetime, end: datetime, now: datetime | None = None
) -> tuple[Subscription, list[Outcome], list[Occasion]]:
    """Apply every occasion due in ``[start, end)`` one at a time, as a scheduler would."""
    outcomes: list[Outcome] = []
    ran: list[Occasion] = []
    for _ in range(1000):
        due = occasions(state, start, end)
        if not due:
            break
        result = applied(state, due[0], now or due[0].due)
        state = result.state
        outcomes.extend(result.outcomes)
        ran.append(due[0])
    return state, outcomes, ran
