"""Reading audience versions for conditional requests, many requests per query.

Every ``GET /api/v1/feed`` needs its audience's version (for the ETag) before it can answer
``304``. Requests that arrive while a read is under way wait for the next one, which fetches
every audience they asked for in one ``IN`` query: under load one query answers dozens of
requests, and an idle service still answers each request with a single query. Versions are never
cached, so an ETag is never stale.

The reader keeps one connection of the engine's pool for itself and queries it through the
driver (aiosqlite, asyncpg) in autocommit: one round trip per batch, where going through the
SQLAlchemy connection costs a BEGIN, the query and a ROLLBACK (three thread hops on SQLite). A
connection that fails is thrown away and the next batch opens another.
"""

from __future__ import annotations

import asyncio
from functools import lru_cache
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from notify.feed.tables import FeedVersion

NO_VERSION = (0, "")

Version = tuple[int, str]


class VersionReader:
    def __init__(self, engine: AsyncEngine, *, max_batch: int = 500) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._waiting: dict[str, list[asyncio.Future[Version]]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._postgres = engine.dialect.name == "postgresql"
        self._conn: AsyncConnection | None = None
        self._driver: Any = None

    async def read(self, audience: str) -> Version:
        """``(version, expiries)`` of ``audience`` as committed now; ``(0, "")`` if none yet."""
        future: asyncio.Future[Version] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(audience, []).append(future)
        if self._reader is None:
            self._reader = asyncio.create_task(self._read_all(), name="feed-version-reader")
        return await future

    async def _read_all(self) -> None:
        try:
            while self._waiting:
                batch = dict(list(self._waiting.items())[: self._max_batch])
                for audience in batch:
                    del self._waiting[audience]
                try:
                    found = await self._fetch(list(batch))
                except Exception as exc:  # handed to every waiting request, which answers 503
                    for futures in batch.values():
                        for future in futures:
                            if not future.done():
                                future.set_exception(exc)
                    continue
                for audience, futures in batch.items():
                    value = found.get(audience, NO_VERSION)
                    for future in futures:
                        if not future.done():
                            future.set_result(value)
        finally:
            self._reader = None

    async def _fetch(self, audiences: list[str]) -> dict[str, Version]:
        driver = await self._connection()
        try:
            if self._postgres:
                rows = await driver.fetch(_POSTGRES_QUERY, audiences)
            else:
                rows = await driver.execute_fetchall(_sqlite_query(len(audiences)), audiences)
        except Exception:
            await self._discard()
            raise
        return {audience: (version, expiries) for audience, version, expiries in rows}

    async def _connection(self) -> Any:
        if self._driver is None:
            conn = await self._engine.connect()
            try:
                self._driver = (await conn.get_raw_connection()).driver_connection
            except BaseException:
                await conn.close()
                raise
            self._conn = conn
        return self._driver

    async def _discard(self) -> None:
        conn, self._conn, self._driver = self._conn, None, None
        if conn is not None:
            await conn.invalidate()
            await conn.close()

    async def close(self) -> None:
        """Give the reader's connection back to the pool."""
        conn, self._conn, self._driver = self._conn, None, None
        if conn is not None:
            await conn.close()


_TABLE = FeedVersion.__tablename__
_POSTGRES_QUERY = (
    f"SELECT audience, version, expiries FROM {_TABLE} WHERE audience = ANY($1::text[])"
)


@lru_cache(maxsize=64)
def _sqlite_query(count: int) -> str:
    marks = ", ".join("?" * count)
    return f"SELECT audience, version, expiries FROM {_TABLE} WHERE audience IN ({marks})"
