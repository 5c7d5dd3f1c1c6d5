"""Reading audience versions for conditional requests, many requests per query.

Every ``GET /api/v1/feed`` needs its audience's version (for the ETag) before it can answer
``304``. Requests that arrive while a read is under way wait for the next one, which fetches
every audience they asked for in one ``IN`` query: under load one query answers dozens of
requests, and an idle service still answers each request with a single query. Versions are never
cached, so an ETag is never stale.
"""

from __future__ import annotations

import asyncio
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from notify.feed.tables import FeedVersion

VERSIONS = cast(Table, FeedVersion.__table__)
NO_VERSION = (0, "")

Version = tuple[int, str]


class VersionReader:
    def __init__(self, engine: AsyncEngine, *, max_batch: int = 500) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._waiting: dict[str, list[asyncio.Future[Version]]] = {}
        self._reader: asyncio.Task[None] | None = None

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
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                select(VERSIONS.c.audience, VERSIONS.c.version, VERSIONS.c.expiries).where(
                    VERSIONS.c.audience.in_(audiences)
                )
            )
            return {audience: (version, expiries) for audience, version, expiries in rows}
