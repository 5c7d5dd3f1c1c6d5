"""Intake first: while webhooks arrive, the background works in small steps and makes way."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from notify.app import create_app
from notify.config import Settings
from notify.intake import Intake, IntakePolicy
from notify.keys import SERVICES
from tests.notify.conftest import Client
from tests.support import FixedClock, created_data, envelope, signed_headers


class Ticks:
    """A monotonic clock the test moves by hand, and the pauses a turn asked for."""

    def __init__(self) -> None:
        self.now = 100.0
        self.pauses: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def pause(self, seconds: float) -> None:
        self.pauses.append(seconds)
        await asyncio.sleep(0)  # a pause still lets the other tasks run


async def test_intake_is_busy_while_webhooks_arrive_or_wait() -> None:
    """Busy within the window after an arrival, and while receipts wait to be stored."""
    ticks = Ticks()
    intake = Intake(IntakePolicy(window=0.05), clock=ticks)
    assert not intake.busy
    intake.arrived()
    ticks.now += 0.049
    assert intake.busy
    ticks.now += 0.002
    assert not intake.busy
    intake.waiting = 1
    assert intake.busy


async def test_turns_pause_only_while_busy_and_at_most_the_cap() -> None:
    """A step of 10 ms is followed by a pause of 20 ms while busy (share 2), none when not; a
    long step's pause stops at the cap."""
    ticks = Ticks()
    intake = Intake(
        IntakePolicy(window=10.0, share=2.0, max_pause=0.05), clock=ticks, pause=ticks.pause
    )

    async def step(seconds: float) -> None:
        async with intake.turn():
            ticks.now += seconds

    await step(0.01)
    assert ticks.pauses == []
    intake.arrived()
    await step(0.01)
    await step(0.2)
    assert ticks.pauses == pytest.approx([0.02, 0.05])
    assert (intake.batch(100), intake.batch(5)) == (10, 5)
    assert Intake().batch(100) == 100


async def test_a_turn_that_outlasts_the_burst_ends_without_a_pause() -> None:
    ticks = Ticks()
    intake = Intake(IntakePolicy(window=0.1), clock=ticks, pause=ticks.pause)
    intake.arrived()
    async with intake.turn():
        ticks.now += 0.5
    assert ticks.pauses == []


async def test_while_busy_the_background_tasks_take_turns_one_at_a_time() -> None:
    """Two tasks stepping side by side: while busy their steps never overlap, so together they
    keep to one share of the loop; when not busy they overlap freely."""
    ticks = Ticks()
    intake = Intake(IntakePolicy(window=10.0), clock=ticks, pause=ticks.pause)
    running, most = 0, 0

    async def steps() -> None:
        nonlocal running, most
        for _ in range(3):
            async with intake.turn():
                running += 1
                most = max(most, running)
                await asyncio.sleep(0)  # the step awaits: the other task may run meanwhile
                running -= 1

    await asyncio.gather(steps(), steps())
    assert most == 2
    intake.arrived()
    most = 0
    await asyncio.gather(steps(), steps())
    assert most == 1
    assert len(ticks.pauses) == 6


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
    ticks = Ticks()
    services.intake.clock = ticks
    services.intake.arrived()
    assert services.intake.busy
    assert await services.processor.events_once() == 10
    ticks.now += services.intake.policy.window * 1.5  # the burst is over
    assert not services.intake.busy
    assert await services.processor.events_once() == 20
