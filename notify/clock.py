"""One clock for business time: the real time, or the test clock kept in the database.

Business time decides reminders, reconciliations, renewals and expiry. Signature tolerance and
delivery backoff always use the real time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol, cast

from sqlalchemy import Table, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from notify.db.engine import write_transaction
from notify.db.models import ServiceSetting


class Clock(Protocol):
    async def now(self) -> datetime:
        """The current business time, aware UTC."""
        ...


class SystemClock:
    """Business time is the real time."""

    async def now(self) -> datetime:
        return datetime.now(UTC)


class DatabaseClock:
    """The test clock (CONTRACT §6): a time kept in the database so every process agrees.

    Until it is first set it reads the real time; once set it stands still until set again,
    and only forward.
    """

    NAME = "test_clock"

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._table = cast(Table, ServiceSetting.__table__)

    async def now(self) -> datetime:
        async with self._engine.connect() as conn:
            stored = await conn.execute(
                select(self._table.c.value).where(self._table.c.name == self.NAME)
            )
            value = stored.scalar_one_or_none()
        return datetime.now(UTC) if value is None else datetime.fromisoformat(value)

    async def set(self, when: datetime) -> datetime:
        """Move the clock to ``when``; raise ClockWentBack for an earlier time."""
        when = when.astimezone(UTC)
        # It reads before it writes: write_transaction takes SQLite's write lock up front, so a
        # commit by another process in between cannot make the write fail ("database is
        # locked"); it waits its turn instead.
        async with write_transaction(self._engine) as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(text("SELECT pg_advisory_xact_lock(7364)"))
            stored = await conn.execute(
                select(self._table.c.value).where(self._table.c.name == self.NAME)
            )
            value = stored.scalar_one_or_none()
            if value is None:
                await conn.execute(
                    self._table.insert().values(name=self.NAME, value=when.isoformat())
                )
            else:
                current = datetime.fromisoformat(value)
                if when < current:
                    raise ClockWentBack(current)
                await conn.execute(
                    update(self._table)
                    .where(self._table.c.name == self.NAME)
                    .values(value=when.isoformat())
                )
        return when


class ClockWentBack(ValueError):
    """The test clock only moves forward."""

    def __init__(self, current: datetime) -> None:
        super().__init__(f"the clock is at {current.isoformat()}; it cannot go back")
        self.current = current


def business_clock(test_clock: bool, engine: AsyncEngine) -> SystemClock | DatabaseClock:
    """The clock every component of a process shares (NOTIFY_TEST_CLOCK chooses)."""
    return DatabaseClock(engine) if test_clock else SystemClock()
