"""Engines for SQLite (aiosqlite, WAL) and PostgreSQL (asyncpg), configured in one place."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from sqlalchemy import Dialect, Engine, Executable, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

T = TypeVar("T")

# Execution option that makes a SQLite transaction start with BEGIN IMMEDIATE: it takes the write
# lock up front, which is how claims avoid two writers reading the same rows (SQLite has no
# SKIP LOCKED and SQLAlchemy silently drops it there).
IMMEDIATE = "notify_begin_immediate"


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Create the engine for ``url``, with the pragmas and pool settings each backend needs."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args=_SQLITE_CONNECT_ARGS, **kwargs)
        _configure_sqlite(engine.sync_engine)
        event.listen(engine.sync_engine, "engine_disposed", _close_twin)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


_SQLITE_CONNECT_ARGS = {"timeout": 30}


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
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

    @event.listens_for(engine, "begin")
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


class Statements(Protocol):
    """What a transaction's code asks of its connection: ``AsyncConnection`` is one, and so is
    the connection of a transaction run whole in the SQLite twin's thread (``in_one_call``)."""

    @property
    def dialect(self) -> Dialect: ...

    async def execute(self, statement: Executable, parameters: Any = None) -> Any: ...


class _Twin:
    """A synchronous engine on the same SQLite file with a thread of its own.

    Through aiosqlite every statement, its fetch, the BEGIN and the COMMIT are each a hop to
    the driver's thread and back through the event loop; while the loop is busy with a burst
    of requests each hop waits its turn, and the inbox's batch insert held the write lock for
    15 ms where SQLite needs one (docs/delivery.md, "Accepting webhooks while delivering"). A
    transaction run whole in the twin's thread is one hop.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        url = engine.url.set(drivername="sqlite+pysqlite")
        # One connection, used by one thread: check_same_thread guards nothing here.
        args = {**_SQLITE_CONNECT_ARGS, "check_same_thread": False}
        self.engine = create_sync_engine(url, connect_args=args, pool_size=1, max_overflow=0)
        _configure_sqlite(self.engine)
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="notify-sqlite")
        # The thread's own event loop, for async transaction code run there (``in_one_call``).
        self._loop: asyncio.AbstractEventLoop | None = None

    def run(self, work: Awaitable[T]) -> T:
        """Run ``work`` to its end on the thread's own event loop (call it from there only)."""
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(work)

    async def call(self, work: Callable[[], T]) -> T:
        """``work()`` in the thread. If the caller is cancelled, ``work`` still runs to its end
        before the cancellation goes on, so what it holds (the write gate) stays held until
        then."""
        done = asyncio.get_running_loop().run_in_executor(self.thread, work)
        try:
            return await asyncio.shield(done)
        except asyncio.CancelledError:
            await asyncio.shield(done)
            raise

    def close(self) -> None:
        self.thread.shutdown(wait=True)
        if self._loop is not None:
            self._loop.close()
        self.engine.dispose()


class _InTwin:
    """``Statements`` over the twin's synchronous connection: each statement runs there and
    then, in the twin's thread, with no hop through an event loop."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    @property
    def dialect(self) -> Dialect:
        return self._conn.dialect

    async def execute(self, statement: Executable, parameters: Any = None) -> Any:
        return self._conn.execute(statement, parameters)


# Keyed by the async engine's sync_engine, which its "engine_disposed" event names.
_TWINS: weakref.WeakKeyDictionary[Engine, _Twin] = weakref.WeakKeyDictionary()


def _twin(engine: AsyncEngine) -> _Twin:
    twin = _TWINS.get(engine.sync_engine)
    if twin is None:
        twin = _TWINS[engine.sync_engine] = _Twin(engine)
    return twin


def _close_twin(sync_engine: Engine) -> None:
    # The engine may be used again after dispose(); a new twin comes with its next write.
    twin = _TWINS.pop(sync_engine, None)
    if twin is not None:
        twin.close()


async def write_in_one_call(engine: AsyncEngine, work: Callable[[Connection], T]) -> T:
    """Run ``work`` in one write transaction and return what it returns.

    For short, hot transactions whose statements do not depend on the event loop (the inbox's
    insert, the outbox's claim and record): on SQLite the whole transaction runs in one call
    to a thread of its own (``_Twin``), behind this process's write gate and with BEGIN
    IMMEDIATE; on PostgreSQL it runs on the async connection (asyncpg needs no thread).
    """
    if engine.dialect.name != "sqlite":
        async with engine.begin() as conn:
            return await conn.run_sync(work)
    return await _in_twin_transaction(engine, _twin(engine), work)


async def in_one_call(engine: AsyncEngine, work: Callable[[Statements], Awaitable[T]]) -> T:
    """Run the async transaction code ``work`` in one write transaction, as
    ``write_in_one_call`` runs synchronous code: on SQLite whole in the twin's thread,
    where each of its statements runs at once on the twin's connection; on PostgreSQL on this
    loop, in a ``write_transaction``.

    On SQLite ``work`` must await nothing but its connection's statements (it runs on the
    twin thread's own event loop); the write lock is then held for as long as the work takes,
    not for as long as this loop takes to come back to each of its statements.
    """
    if engine.dialect.name != "sqlite":
        async with write_transaction(engine) as conn:
            return await work(conn)
    twin = _twin(engine)
    return await _in_twin_transaction(engine, twin, lambda conn: twin.run(work(_InTwin(conn))))


async def _in_twin_transaction(
    engine: AsyncEngine, twin: _Twin, work: Callable[[Connection], T]
) -> T:

    def transaction() -> T:
        with twin.engine.connect() as conn:
            conn = conn.execution_options(**{IMMEDIATE: True})
            with conn.begin():
                return work(conn)

    async with write_gate(engine):
        return await twin.call(transaction)


def dialect_insert(dialect_name: str) -> Any:
    """The INSERT construct with ON CONFLICT support for this backend (PostgreSQL or SQLite)."""
    return postgresql.insert if dialect_name == "postgresql" else sqlite.insert
