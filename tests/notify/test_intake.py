"""Intake first: while webhooks arrive, the background works in small steps and makes way."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from notify.app import create_app
from notify.config import Settings
from notify.intake import Intake, IntakePolicy
from notify.keys import SERVICES
from tests.notify.conftest import Client
from tests.support import FixedClock, created_data, envelope, signed_headers


async def test_intake_is_busy_while_webhooks_arrive_or_wait() -> None:
    """Busy within the window after an arrival, and while receipts wait to be stored."""
    intake = Intake(IntakePolicy(window=0.05))
    assert not intake.busy
    intake.arrived()
    assert intake.busy
    await asyncio.sleep(0.08)
    assert not intake.busy
    intake.waiting = 1
    assert intake.busy


async def test_turns_pause_only_while_busy_and_at_most_the_cap() -> None:
    """A step of 10 ms is followed by a pause of 20 ms while busy (share 2), none when not; a
    long step's pause stops at the cap."""
    intake = Intake(IntakePolicy(window=10.0, share=2.0, max_pause=0.05))

    async def step(seconds: float) -> float:
        started = time.perf_counter()
        async with intake.turn():
            await asyncio.sleep(seconds)
        return time.perf_counter() - started

    assert await step(0.01) < 0.019
    intake.arrived()
    assert await step(0.01) >= 0.029
    assert 0.25 <= await step(0.2) < 0.5
    assert (intake.batch(100), intake.batch(5)) == (10, 5)
    assert Intake().batch(100) == 100


async def test_while_busy_the_background_tasks_take_turns_one_at_a_time() -> None:
    """Two tasks stepping side by side: while busy their steps never overlap, so together they
    keep to one share of the loop; when not busy they overlap freely."""
    intake = Intake(IntakePolicy(window=10.0, share=1.0, max_pause=0.05))
    running, most = 0, 0

    async def steps() -> None:
        nonlocal running, most
        for _ in range(3):
            async with intake.turn():
                running += 1
                most = max(most, running)
                await asyncio.sleep(0.01)
                running -= 1

    await asyncio.gather(steps(), steps())
    assert most == 2
    intake.arrived()
    most = 0
    await asyncio.gather(steps(), steps())
    assert most == 1


async def test_the_processor_takes_small_batches_while_webhooks_arrive(
    aiohttp_client: Callable[..., Awaitable[Client]], settings: Settings
) -> None:
    """With 30 events waiting, one events pass takes 10 subscriptions while the intake is busy
    and every remaining one when it is not; the webhooks answered 202 first."""
    app = create_app(settings, run_migrations=False, run_worker=False, clock=FixedClock())
    client = await aiohttp_client(app)
    for n in range(30):
        body = envelope("subscription.created", created_data(subscription_id=f"sub_{n}"))
        assert (
            await client.post("/webhooks", data=body, headers=signed_headers(body))
        ).status == 202
    services = app[SERVICES]
    services.intake.arrived()
    assert services.intake.busy
    assert await services.processor.events_once() == 10
    await asyncio.sleep(services.intake.policy.window * 1.5)  # the burst is over
    assert not services.intake.busy
    assert await services.processor.events_once() == 20
