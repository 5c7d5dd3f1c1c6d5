"""Engines for SQLite (aiosqlite, WAL) and PostgreSQL (asyncpg), configured in one place."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

# Execution option that makes a SQLite transaction start with BEGIN IMMEDIATE: it takes the write
# lock up front, which is how claims avoid two writers reading the same rows (SQLite has no
# SKIP LOCKED and SQLAlchemy silently drops it there).
IMMEDIATE = "notify_begin_immediate"


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Create the engine for ``url``, with the pragmas and pool settings each backend needs."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before the webhook is answered, even across a power loss.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


async def immediate(conn: AsyncConnection) -> AsyncConnection:
    """Mark ``conn`` so its next transaction takes the write lock at once on SQLite."""
    return await conn.execution_options(**{IMMEDIATE: True})


_WRITE_GATES: weakref.WeakKeyDictionary[AsyncEngine, asyncio.Lock] = weakref.WeakKeyDictionary()


def write_gate(engine: AsyncEngine) -> contextlib.AbstractAsyncContextManager[object]:
    """Held around every write transaction of this process on SQLite.

    SQLite has one write lock per database; writers of one process that meet there wait in
    SQLite's busy handler, which sleeps in steps of up to 100 ms. Queueing them on an asyncio
    lock instead hands the write lock over at once (measured: ingestion with the processor
    running went from ~50 to several hundred events/s). PostgreSQL needs no gate.
    """
    if engine.dialect.name != "sqlite":
        return contextlib.nullcontext()
    gate = _WRITE_GATES.get(engine)
    if gate is None:
        gate = _WRITE_GATES[engine] = asyncio.Lock()
    return gate


@contextlib.asynccontextmanager
async def write_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A transaction that writes after it reads.

    On SQLite it waits for this process's write gate and begins with BEGIN IMMEDIATE: it holds
    the write lock from its first statement, so no other process can commit between its reads
    and its writes (a deferred transaction would fail to upgrade its lock in WAL mode). On
    PostgreSQL it is a plain transaction; row and advisory locks do the rest.
    """
    async with write_gate(engine), engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn = await immediate(conn)
        async with conn.begin():
            yield conn


def dialect_insert(dialect_name: str) -> Any:
    """The INSERT construct with ON CONFLICT support for this backend (PostgreSQL or SQLite)."""
    return postgresql.insert if dialect_name == "postgresql" else sqlite.insert
