"""The test clock kept in the database (CONTRACT §6), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from notify.clock import ClockWentBack, DatabaseClock
from notify.db.engine import dialect_insert
from notify.db.models import ServiceSetting

SETTINGS = cast(Table, ServiceSetting.__table__)
START = datetime(2026, 1, 15, tzinfo=UTC)


async def test_the_clock_moves_while_another_process_writes(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    """Setting the clock while another process commits one write after another never fails:
    on SQLite a transaction that read first and writes later would find its snapshot stale
    ("database is locked") instead of waiting for the write lock."""
    mine, other = engines
    clock = DatabaseClock(mine)
    stop = asyncio.Event()

    async def keep_writing() -> None:
        upsert = dialect_insert(other.dialect.name)(SETTINGS)
        n = 0
        while not stop.is_set():
            n += 1
            async with other.begin() as conn:
                await conn.execute(
                    upsert.values(name="other", value=str(n)).on_conflict_do_update(
                        index_elements=["name"], set_={"value": str(n)}
                    )
                )
            await asyncio.sleep(0)

    writer = asyncio.create_task(keep_writing())
    try:
        for day in range(40):
            assert await clock.set(START + timedelta(days=day)) == START + timedelta(days=day)
    finally:
        stop.set()
        await writer
    assert await clock.now() == START + timedelta(days=39)


async def test_the_clock_only_moves_forward(engines: tuple[AsyncEngine, AsyncEngine]) -> None:
    """Both processes read the time one of them set; going back is refused."""
    first, second = engines
    await DatabaseClock(first).set(START)
    assert await DatabaseClock(second).now() == START
    with pytest.raises(ClockWentBack):
        await DatabaseClock(second).set(START - timedelta(seconds=1))
