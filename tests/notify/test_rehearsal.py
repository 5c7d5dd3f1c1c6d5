"""The processor's rehearsal: the write transaction reuses what a read-only run worked out, and
decides everything anew from what it reads itself (both databases)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from notify.app import create_app
from notify.config import Settings
from notify.db.models import InvoiceRow, OutboxRow, SubscriptionRow
from notify.processing import batch as batch_module
from notify.processing import processor as processor_module
from notify.processing.rehearsal import Worked, reuse
from tests.notify.conftest import Client
from tests.notify.test_processor import CREATED_AT, Service, busy_intake
from tests.support import FixedClock, created_data


@pytest.fixture
async def busy(aiohttp_client: Callable[..., Awaitable[Client]], settings: Settings) -> Service:
    """The service with webhooks arriving all the time, as its processor sees it."""
    clock = FixedClock("2026-01-15T12:00:00+00:00")
    app = create_app(settings, run_migrations=False, run_worker=False, clock=clock)
    service = Service(await aiohttp_client(app), clock)
    service.processor.intake = busy_intake()
    return service


def count_timeline_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The subscriptions the processor runs the timeline for, one entry per run."""
    runs: list[str] = []
    real = batch_module._advance_now

    def counted(state: Any, commands: Any, through: Any, now: Any) -> Any:
        runs.append(state.id if state is not None else commands[0].subscription_id)
        return real(state, commands, through, now)

    monkeypatch.setattr(batch_module, "_advance_now", counted)
    return runs


async def test_the_transaction_reuses_the_rehearsals_timeline(
    busy: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in (1, 2, 3):
        data = created_data(subscription_id=f"sub_{n}", namespace_id=f"ns_{n}")
        assert await busy.post("subscription.created", data, CREATED_AT, msg_id=f"e{n}") == 202
    runs = count_timeline_runs(monkeypatch)
    assert await busy.processor.events_once() == 3
    assert sorted(runs) == ["sub_1", "sub_2", "sub_3"]  # in the rehearsal, and not again
    assert len(await busy.rows(OutboxRow)) == 3
    assert [r.number for r in await busy.rows(InvoiceRow)] == [
        "INV-000001",
        "INV-000002",
        "INV-000003",
    ]


async def test_what_arrives_after_the_rehearsal_is_decided_by_the_transaction(
    busy: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An event stored between the rehearsal and the transaction is read by the transaction,
    which runs the timeline again for that subscription and applies it."""
    assert await busy.post("subscription.created", created_data(), CREATED_AT, msg_id="e1") == 202
    rehearse = processor_module.read_in_one_call

    async def then_an_event_arrives(engine: Any, work: Any) -> Any:
        done = await rehearse(engine, work)
        seats = {"subscription_id": "sub_1", "seats": 5, "effective_date": "2026-01-15"}
        assert await busy.post("subscription.seats_added", seats, CREATED_AT, msg_id="e2") == 202
        return done

    monkeypatch.setattr(processor_module, "read_in_one_call", then_an_event_arrives)
    runs = count_timeline_runs(monkeypatch)
    assert await busy.processor.events_once() == 2
    assert runs == ["sub_1", "sub_1"]  # the rehearsal's run no longer fits: run again
    assert await busy.events() == {"e1": ("processed", None), "e2": ("processed", None)}
    assert (await busy.state()).seats_paid_for == 15
    assert [r.purpose for r in await busy.rows(InvoiceRow)] == ["purchase", "seats_added"]


async def test_a_rehearsal_writes_nothing(busy: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every write the transaction code makes is left out of its rehearsal: with the write
    transaction failing after it, nothing at all has changed."""
    assert await busy.post("subscription.created", created_data(), CREATED_AT, msg_id="e1") == 202

    async def refused(_engine: Any, _work: Any) -> Any:
        raise RuntimeError("no write transaction in this test")

    monkeypatch.setattr(processor_module, "in_one_call", refused)
    runs = count_timeline_runs(monkeypatch)
    assert await busy.processor.events_once() == 0
    assert runs  # the rehearsal did run the timeline
    assert await busy.events() == {"e1": ("accepted", None)}
    for model in (SubscriptionRow, InvoiceRow, OutboxRow):
        assert await busy.rows(model) == []


def test_a_result_is_reused_only_for_the_very_same_inputs() -> None:
    worked = Worked()
    made: list[int] = []

    def length(values: list[int]) -> int:
        made.append(len(values))
        return len(values)

    first, equal = [1, 2], [1, 2]
    assert worked.reuse(("len", id(first)), (first,), length, first) == 2
    assert worked.reuse(("len", id(first)), (first,), length, first) == 2
    assert made == [2]
    # An equal object is another input: its result is computed, not assumed.
    assert worked.reuse(("len", id(equal)), (equal,), length, equal) == 2
    assert made == [2, 2]
    # Outside a rehearsal nothing is kept.
    assert reuse(("len", id(first)), (first,), length, first) == 2
    assert reuse(("len", id(first)), (first,), length, first) == 2
    assert made == [2, 2, 2, 2]


def test_a_key_whose_inputs_are_gone_is_not_reused() -> None:
    """Were an id recycled by a newer object, the kept input tells them apart."""
    worked = Worked()
    kept = [1]
    worked.reuse(("len", 42), (kept,), len, kept)
    newer = [1, 2, 3]
    assert worked.reuse(("len", 42), (newer,), len, newer) == 3
