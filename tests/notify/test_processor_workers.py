"""Two processors, as two workers run them, applying occasions side by side on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from billingcore import Subscription
from notify.app import create_app
from notify.config import Settings
from notify.feed import feed_hook
from notify.handlers import Branding
from notify.keys import ENGINE
from notify.mail.enqueue import Enqueuer
from notify.metrics import Metrics
from notify.processing import ChangeHook, Processor
from tests.notify.conftest import Client
from tests.notify.test_processor import Service
from tests.support import FixedClock, created_data

# Only PostgreSQL lets two workers process at once; on SQLite they take turns.
pytestmark = pytest.mark.parametrize("db_url", ["postgres"], indirect=True)


def when(subscription_id: str, act: Callable[[], Awaitable[None]]) -> ChangeHook:
    """A change hook that runs ``act`` when the processor saves ``subscription_id``."""

    async def hook(
        _conn: AsyncConnection, states: Sequence[Subscription], _now: datetime
    ) -> list[datetime | None]:
        if any(state.id == subscription_id for state in states):
            await act()
        return [None] * len(states)

    return hook


async def lock_waited_for(service: Service) -> None:
    """Return once some transaction waits for a row lock another one holds."""
    waiting = text("SELECT count(*) FROM pg_locks WHERE NOT granted")
    while True:
        async with service.client.app[ENGINE].connect() as conn:
            if (await conn.execute(waiting)).scalar_one():
                return
        await asyncio.sleep(0.01)


async def test_two_workers_over_one_audience_do_not_deadlock(
    aiohttp_client: Callable[..., Awaitable[Client]],
    settings: Settings,
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    """Three subscriptions of one namespace end their terms on three days in a row: the first
    and the last renew (an invoice each), the middle one expires. Worker 1 takes the first;
    worker 2 the other two. Both passes finish, and every term end is carried out.

    Worker 1 pauses while it holds the invoice counter, before its feed hook; worker 2 starts
    meanwhile. Were the audience's version row ever locked before the counter (worker 2 saving
    the expired subscription's feed before issuing the renewal's invoice), the two would wait
    for each other and PostgreSQL would roll one back (40P01). A transaction takes the counter
    while it applies, and feed versions only when it writes, so worker 2 waits instead."""
    clock = FixedClock("2026-01-15T12:00:00+00:00")
    app = create_app(settings, run_migrations=False, run_worker=False, clock=clock)
    service = Service(await aiohttp_client(app), clock)
    terms = {"sub_a": "2027-01-13", "sub_b": "2027-01-14", "sub_c": "2027-01-15"}
    for sub, end in terms.items():
        data = created_data(
            subscription_id=sub,
            term_start=end.replace("2027", "2026"),
            term_end=end,
            qsr_enabled=False,
            auto_renew=sub != "sub_b",
        )
        assert await service.post("subscription.created", data, "2026-01-15T10:00:00Z") == 202
    # sub_a over its seats: its renewal takes them in, so its feed changes (seat_overage goes)
    usage = {
        "subscription_id": "sub_a",
        "observed_at": "2026-06-01T00:00:00Z",
        "billable_users": 12,
    }
    assert await service.post("usage.reported", usage, "2026-06-01T00:00:00Z") == 202
    clock.set("2027-01-12T12:00:00+00:00")
    await service.processor.drain()  # everything up to the term ends

    clock.set("2027-01-15T12:00:00+00:00")
    in_hook, go_on = asyncio.Event(), asyncio.Event()

    async def pause_holding_the_counter() -> None:
        in_hook.set()  # worker 1 holds the invoice counter (sub_a's renewal) by now
        await asyncio.wait_for(go_on.wait(), timeout=10)

    branding = Branding(brand=settings.brand, portal_url=settings.portal_url)

    def worker(engine: AsyncEngine, hooks: Sequence[ChangeHook], batch_size: int) -> Processor:
        return Processor(
            engine,
            clock=clock,
            metrics=Metrics(),
            enqueuer=Enqueuer(branding, settings.mail_from),
            on_change=hooks,
            batch_size=batch_size,
        )

    first = worker(engines[0], [when("sub_a", pause_holding_the_counter), feed_hook(branding)], 1)
    second = worker(engines[1], [feed_hook(branding)], 3)
    one = asyncio.create_task(first.occasions_once())
    await asyncio.wait_for(in_hook.wait(), timeout=10)
    two = asyncio.create_task(second.occasions_once())
    await asyncio.wait_for(lock_waited_for(service), timeout=10)  # worker 2 ran into worker 1
    go_on.set()
    done = await asyncio.gather(one, two, return_exceptions=True)  # both end before the check
    for outcome in done:
        if isinstance(outcome, BaseException):
            raise outcome
    assert list(done) == [1, 2]

    states = {sub: await service.state(sub) for sub in terms}
    assert {sub: s.status.value for sub, s in states.items()} == {
        "sub_a": "active",
        "sub_b": "expired",
        "sub_c": "active",
    }
