"""The processor: from stored events to state, invoices and outbox rows, on both databases."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from billingcore import Subscription
from notify import codec
from notify.app import create_app
from notify.config import Settings
from notify.db.models import InboxEvent, InvoiceRow, OutboxRow, SubscriptionRow
from notify.handlers import Branding
from notify.keys import ENGINE, SERVICES
from notify.mail.enqueue import Enqueuer
from notify.metrics import Metrics
from notify.processing import Processor
from notify.processing.statements import SUBSCRIPTIONS
from tests.notify.conftest import Client
from tests.support import FixedClock, created_data, envelope, signed_headers


class Service:
    def __init__(self, client: Client, clock: FixedClock) -> None:
        self.client = client
        self.clock = clock

    @property
    def processor(self) -> Processor:
        return self.client.app[SERVICES].processor

    async def post(
        self, type_: str, data: dict[str, Any], at: str, msg_id: str | None = None
    ) -> int:
        body = envelope(type_, data, timestamp=at)
        resp = await self.client.post(
            "/webhooks", data=body, headers=signed_headers(body, msg_id=msg_id)
        )
        return resp.status

    async def rows(self, model: Any, order: Any = None) -> list[Any]:
        table = model.__table__
        query = select(table).order_by(
            order if order is not None else next(iter(table.primary_key))
        )
        async with self.client.app[ENGINE].connect() as conn:
            return list((await conn.execute(query)).all())

    async def state(self, subscription_id: str = "sub_1") -> Subscription:
        [row] = [r for r in await self.rows(SubscriptionRow) if r.id == subscription_id]
        return codec.loads(Subscription, row.state)

    async def events(self) -> dict[str, tuple[str, str | None]]:
        return {r.id: (r.status, r.error) for r in await self.rows(InboxEvent)}


@pytest.fixture
async def service(aiohttp_client: Callable[..., Awaitable[Client]], settings: Settings) -> Service:
    clock = FixedClock("2026-01-15T12:00:00+00:00")
    app = create_app(settings, run_migrations=False, run_worker=False, clock=clock)
    return Service(await aiohttp_client(app), clock)


CREATED_AT = "2026-01-15T10:00:00Z"


async def test_created_subscription_is_stored_invoiced_and_confirmed(service: Service) -> None:
    """subscription.created → state, INV-000001 for seats × unit price, one confirmation row per
    billing contact with a stable Message-ID, and the event marked processed."""
    data = created_data(contacts=["ap@acme.example", "BILLING@acme.example"])
    assert await service.post("subscription.created", data, CREATED_AT, msg_id="e1") == 202
    assert await service.processor.drain() > 0

    assert await service.events() == {"e1": ("processed", None)}
    state = await service.state()
    assert (state.seats_paid_for, state.tier.value) == (10, "premium")
    [invoice] = await service.rows(InvoiceRow)
    # 10 seats × 348.00 = 3,480.00
    assert (invoice.number, invoice.total, invoice.purpose) == ("INV-000001", "3480.00", "purchase")
    outbox = await service.rows(OutboxRow, OutboxRow.id)
    assert [r.recipient for r in outbox] == ["billing@acme.example", "ap@acme.example"]
    assert {r.kind for r in outbox} == {"subscription_confirmation"}
    assert all(r.status == "pending" and r.message_id.startswith("<") for r in outbox)
    assert len({r.message_id for r in outbox}) == 2
    assert json.loads(outbox[0].context)["invoice_number"] == "INV-000001"


async def test_processing_again_changes_nothing(service: Service) -> None:
    await service.post("subscription.created", created_data(), CREATED_AT)
    await service.processor.drain()
    before = (await service.rows(OutboxRow), await service.rows(InvoiceRow))
    assert await service.processor.drain() == 0
    assert (await service.rows(OutboxRow), await service.rows(InvoiceRow)) == before


async def test_event_before_its_subscription_is_held_then_applied_in_order(
    service: Service,
) -> None:
    """A seats addition that arrives before subscription.created is held, then applied after it:
    the invoices come out in timestamp order."""
    seats = {"subscription_id": "sub_1", "seats": 5, "effective_date": "2026-07-15"}
    await service.post("subscription.seats_added", seats, "2026-07-15T09:00:00Z", msg_id="e2")
    await service.processor.drain()
    assert (await service.events())["e2"] == ("held", None)

    await service.post("subscription.created", created_data(), CREATED_AT, msg_id="e1")
    await service.processor.drain()
    assert await service.events() == {"e1": ("processed", None), "e2": ("processed", None)}
    invoices = await service.rows(InvoiceRow)
    assert [(i.number, i.purpose) for i in invoices] == [
        ("INV-000001", "purchase"),
        ("INV-000002", "seats_added"),
    ]
    # 5 × 348.00 × 184 / 365 (2026-07-15 → 2027-01-15) = 877.1506… → 877.15
    assert invoices[1].total == "877.15"
    assert (await service.state()).seats_paid_for == 15


async def test_refused_command_is_rejected_with_its_reason(service: Service) -> None:
    await service.post("subscription.created", created_data(), CREATED_AT, msg_id="e1")
    upgrade = {"subscription_id": "sub_1", "tier": "premium", "effective_date": "2026-03-01"}
    await service.post("subscription.upgraded", upgrade, "2026-03-01T00:00:00Z", msg_id="e2")
    await service.processor.drain()
    status, error = (await service.events())["e2"]
    assert status == "rejected"
    assert error and "tier" in error
    assert len(await service.rows(InvoiceRow)) == 1


async def test_invoice_numbers_are_one_gapless_sequence(service: Service) -> None:
    for i in range(1, 6):
        await service.post(
            "subscription.created", created_data(subscription_id=f"sub_{i}"), CREATED_AT
        )
    await service.processor.drain()
    numbers = sorted(r.number for r in await service.rows(InvoiceRow))
    assert numbers == [f"INV-{i:06d}" for i in range(1, 6)]


async def test_card_before_any_subscription_waits_for_it(service: Service) -> None:
    card = {
        "customer_id": "cus_1",
        "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030},
    }
    await service.post("payment_method.updated", card, "2026-01-15T09:00:00Z", msg_id="c1")
    await service.processor.drain()
    assert (await service.events())["c1"] == ("held", None)
    await service.post("subscription.created", created_data(), CREATED_AT, msg_id="e1")
    await service.processor.drain()
    assert (await service.events())["c1"] == ("processed", None)
    state = await service.state()
    assert state.card is not None and state.card.last4 == "4242"


async def test_customer_update_fans_out_to_every_subscription(service: Service) -> None:
    for sub in ("sub_1", "sub_2"):
        await service.post("subscription.created", created_data(subscription_id=sub), CREATED_AT)
    update = {"customer_id": "cus_1", "name": "Acme Holdings"}
    await service.post("customer.updated", update, "2026-02-01T00:00:00Z", msg_id="u1")
    await service.processor.drain()
    assert (await service.events())["u1"] == ("processed", None)
    for sub in ("sub_1", "sub_2"):
        assert (await service.state(sub)).customer.name == "Acme Holdings"


async def test_failed_renewal_payment_goes_through_grace_to_expiry(service: Service) -> None:
    """Auto-renewal at term end issues the renewal invoice; its payment fails; after 14 days of
    grace the subscription expires, with one email for each step."""
    await service.post("subscription.created", created_data(), CREATED_AT)
    await service.processor.drain()
    service.clock.set("2027-01-15T00:00:00+00:00")
    await service.processor.drain()
    invoices = await service.rows(InvoiceRow)
    renewal = [i for i in invoices if i.purpose == "renewal"]
    assert len(renewal) == 1
    assert (await service.state()).term.start.isoformat() == "2027-01-15"

    failed = {
        "subscription_id": "sub_1",
        "invoice_number": renewal[0].number,
        "reason": "card_declined",
    }
    await service.post("payment.failed", failed, "2027-01-15T06:00:00Z", msg_id="pf")
    await service.processor.drain()
    assert (await service.events())["pf"] == ("processed", None)
    assert (await service.state()).status.value == "grace"

    service.clock.set("2027-01-29T00:00:00+00:00")
    await service.processor.drain()
    assert (await service.state()).status.value == "expired"
    kinds = [r.kind for r in await service.rows(OutboxRow, OutboxRow.id)]
    assert kinds.count("renewal_confirmation") == 1
    assert kinds.count("auto_renewal_failed") == 1
    assert kinds.count("subscription_expired") == 1


async def test_qsr_counts_usage_in_its_own_quarter_when_events_arrive_late(
    service: Service,
) -> None:
    """Quarter 1 runs 2026-01-15 → 2026-04-15. Its max users are 15 against 10 seats paid for;
    a report of 30 users observed on 2026-04-20 arrives before the scheduler ran and must not
    count in quarter 1. Overage 5; amount 5 × 348.00 × (4 − 1) / 4 = 1,305.00, invoiced 7 days
    after the notice (saas: notice on the reconciliation date), and seats paid for rise to 15."""
    await service.post("subscription.created", created_data(), CREATED_AT)
    usage = {
        "subscription_id": "sub_1",
        "observed_at": "2026-03-01T00:00:00Z",
        "billable_users": 15,
    }
    await service.post("usage.reported", usage, "2026-03-01T00:00:00Z")
    await service.processor.drain()

    service.clock.set("2026-05-01T00:00:00+00:00")
    late = {"subscription_id": "sub_1", "observed_at": "2026-04-20T00:00:00Z", "billable_users": 30}
    await service.post("usage.reported", late, "2026-04-20T00:00:00Z")
    await service.processor.drain()

    qsr = [i for i in await service.rows(InvoiceRow) if i.purpose == "qsr"]
    assert [(i.total, i.issued_on.isoformat()) for i in qsr] == [("1305.00", "2026-04-22")]
    assert (await service.state()).seats_paid_for == 15
    kinds = [r.kind for r in await service.rows(OutboxRow, OutboxRow.id)]
    assert kinds.count("qsr_notice") == 1
    assert kinds.count("qsr_reconciled") == 1


async def test_an_occasion_pass_applies_events_that_happened_before_it_first(
    service: Service,
) -> None:
    """A usage report of 15 users (10 seats) is accepted but not yet applied when a pass over
    due occasions, at a later business time, takes its subscription: the pass applies the report
    first, so quarter 1's reconciliation counts it (the same 1,305.00 as above)."""
    await service.post("subscription.created", created_data(), CREATED_AT)
    await service.processor.drain()
    usage = {
        "subscription_id": "sub_1",
        "observed_at": "2026-03-01T00:00:00Z",
        "billable_users": 15,
    }
    await service.post("usage.reported", usage, "2026-03-01T00:00:00Z")

    service.clock.set("2026-05-01T00:00:00+00:00")
    assert await service.processor.occasions_once() == 1

    assert [status for status, _ in (await service.events()).values()] == ["processed"] * 2
    qsr = [i for i in await service.rows(InvoiceRow) if i.purpose == "qsr"]
    assert [(i.total, i.issued_on.isoformat()) for i in qsr] == [("1305.00", "2026-04-22")]
    assert (await service.state()).seats_paid_for == 15


CARD = {
    "customer_id": "cus_1",
    "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030},
}


async def test_an_occasion_pass_applies_a_new_card_that_came_before_it_first(
    service: Service,
) -> None:
    """A card update of the customer is accepted but not yet applied when a pass over due
    occasions takes the subscription past its 15-day notice: the pass fans the card out first,
    so the notice says the renewal will go through instead of that it is blocked."""
    expiring = {"brand": "visa", "last4": "0005", "exp_month": 11, "exp_year": 2026}
    await service.post("subscription.created", created_data(), CREATED_AT, msg_id="e1")
    await service.post(
        "payment_method.updated", {"customer_id": "cus_1", "card": expiring}, CREATED_AT
    )
    await service.processor.drain()
    await service.post("payment_method.updated", CARD, "2026-12-20T00:00:00Z", msg_id="c2")

    service.clock.set("2027-01-01T00:00:00+00:00")
    assert await service.processor.occasions_once() == 1

    assert (await service.events())["c2"] == ("processed", None)
    kinds = {row.kind for row in await service.rows(OutboxRow)}
    assert "auto_renewal_upcoming" in kinds and "auto_renewal_blocked" not in kinds
    assert (await service.state()).card is not None


@pytest.mark.parametrize("card_at", ["2026-01-15T09:00:00Z", "2026-01-15T11:00:00Z"])
async def test_card_and_its_first_subscription_in_one_batch(service: Service, card_at: str) -> None:
    """The customer's card and the subscription it belongs to are processed in the same
    transaction, whichever came first: the card is held, then applied to the new subscription,
    or fanned out to it."""
    await service.post("payment_method.updated", CARD, card_at, msg_id="c1")
    await service.post("subscription.created", created_data(), CREATED_AT, msg_id="e1")
    await service.processor.drain()
    assert await service.events() == {"c1": ("processed", None), "e1": ("processed", None)}
    state = await service.state()
    assert state.card is not None and state.card.last4 == "4242"


async def test_seats_before_creation_in_one_batch_are_applied_after_it(service: Service) -> None:
    seats = {"subscription_id": "sub_1", "seats": 5, "effective_date": "2026-07-15"}
    await service.post("subscription.seats_added", seats, "2026-01-15T09:00:00Z", msg_id="e2")
    await service.post("subscription.created", created_data(), CREATED_AT, msg_id="e1")
    await service.processor.drain()
    assert await service.events() == {"e1": ("processed", None), "e2": ("processed", None)}
    assert (await service.state()).seats_paid_for == 15
    numbers = [(i.number, i.purpose) for i in await service.rows(InvoiceRow)]
    assert numbers == [("INV-000001", "purchase"), ("INV-000002", "seats_added")]


async def test_numbers_stay_gapless_across_small_batches(service: Service) -> None:
    """Three transactions of two subscriptions each: the counter carries on between them, and
    each invoice's number is the one its confirmation names."""
    processor = Processor(
        service.client.app[ENGINE],
        clock=service.clock,
        metrics=Metrics(),
        enqueuer=Enqueuer(
            Branding(brand="GitLab", portal_url="https://customers.gitlab.example"),
            "billing@gitlab.example",
        ),
        batch_size=2,
    )
    for i in range(1, 6):
        await service.post(
            "subscription.created", created_data(subscription_id=f"sub_{i}"), CREATED_AT
        )
    assert await processor.events_once() == 2
    assert await processor.drain() == 3
    invoices = {r.subscription_id: r.number for r in await service.rows(InvoiceRow)}
    assert sorted(invoices.values()) == [f"INV-{i:06d}" for i in range(1, 6)]
    for row in await service.rows(OutboxRow):
        assert json.loads(row.context)["invoice_number"] == invoices[row.subscription_id]


async def test_one_broken_subscription_does_not_hold_up_the_others(service: Service) -> None:
    """A stored state that cannot be read fails its own transaction only: the batch is retried
    one subscription at a time, the others are processed, its event stays accepted."""
    for i in (1, 2, 3):
        await service.post(
            "subscription.created",
            created_data(subscription_id=f"sub_{i}"),
            CREATED_AT,
            msg_id=f"e{i}",
        )
    await service.processor.drain()
    async with service.client.app[ENGINE].begin() as conn:
        await conn.execute(
            SUBSCRIPTIONS.update()
            .where(SUBSCRIPTIONS.c.id == "sub_2")
            .values(state='{"not": "a state"}')
        )
    for i in (1, 2, 3):
        seats = {"subscription_id": f"sub_{i}", "seats": 1, "effective_date": "2026-02-01"}
        await service.post(
            "subscription.seats_added", seats, "2026-02-01T00:00:00Z", msg_id=f"s{i}"
        )
    await service.processor.drain()
    events = await service.events()
    assert (events["s1"][0], events["s2"][0], events["s3"][0]) == (
        "processed",
        "accepted",
        "processed",
    )
    assert (await service.state("sub_3")).seats_paid_for == 11


async def test_a_wake_up_with_nothing_due_moves_only_the_cursor(service: Service) -> None:
    """A subscription woken when nothing of its own fell due (a feed boundary, say) keeps its
    stored state and version; its wake-up time is computed again."""
    await service.post("subscription.created", created_data(), CREATED_AT)
    await service.processor.drain()
    [before] = await service.rows(SubscriptionRow)
    async with service.client.app[ENGINE].begin() as conn:
        await conn.execute(
            SUBSCRIPTIONS.update()
            .where(SUBSCRIPTIONS.c.id == "sub_1")
            .values(next_due_at=datetime(2026, 1, 15, 11, tzinfo=UTC))
        )
    assert await service.processor.occasions_once() == 1
    [after] = await service.rows(SubscriptionRow)
    assert (after.state, after.version) == (before.state, before.version)
    assert after.next_due_at == before.next_due_at
    assert after.occasions_through >= before.occasions_through
