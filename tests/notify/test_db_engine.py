"""Write transactions run in one call: committed whole, rolled back whole, on both backends."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from notify.db.engine import Statements, create_engine, in_one_call, write_gate, write_in_one_call


async def _with_probe(url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE probe (id INTEGER PRIMARY KEY)"))
    yield engine
    async with engine.begin() as conn:
        await conn.execute(text("DROP TABLE probe"))
    await engine.dispose()


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    async for engine in _with_probe(db_url):
        yield engine


@pytest.fixture
async def sqlite_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async for engine in _with_probe(f"sqlite+aiosqlite:///{tmp_path / 'probe.db'}"):
        yield engine


async def _ids(engine: AsyncEngine) -> list[int]:
    async with engine.connect() as conn:
        return list((await conn.execute(text("SELECT id FROM probe ORDER BY id"))).scalars())


async def test_the_work_commits_and_its_result_comes_back(engine: AsyncEngine) -> None:
    def work(conn: Connection) -> int:
        conn.execute(text("INSERT INTO probe (id) VALUES (1), (2)"))
        return int(conn.execute(text("SELECT count(*) FROM probe")).scalar_one())

    assert await write_in_one_call(engine, work) == 2
    assert await _ids(engine) == [1, 2]


async def test_an_error_rolls_the_whole_transaction_back(engine: AsyncEngine) -> None:
    def work(conn: Connection) -> None:
        conn.execute(text("INSERT INTO probe (id) VALUES (1)"))
        raise RuntimeError("half way")

    with pytest.raises(RuntimeError, match="half way"):
        await write_in_one_call(engine, work)
    assert await _ids(engine) == []


async def test_on_sqlite_it_runs_off_the_loop_with_the_same_durability(
    sqlite_engine: AsyncEngine,
) -> None:
    engine = sqlite_engine

    def work(conn: Connection) -> tuple[str, int, int, str]:
        return (
            threading.current_thread().name,
            conn.exec_driver_sql("PRAGMA synchronous").scalar_one(),
            conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one(),
            conn.exec_driver_sql("PRAGMA journal_mode").scalar_one(),
        )

    thread, synchronous, foreign_keys, journal = await write_in_one_call(engine, work)
    assert thread.startswith("notify-sqlite") and thread != threading.current_thread().name
    assert (synchronous, foreign_keys, journal) == (2, 1, "wal")  # 2 is FULL


async def test_on_sqlite_it_holds_the_write_gate_until_the_thread_is_done_even_if_cancelled(
    sqlite_engine: AsyncEngine,
) -> None:
    engine = sqlite_engine
    inside = threading.Event()
    release = threading.Event()

    def work(conn: Connection) -> None:
        conn.execute(text("INSERT INTO probe (id) VALUES (7)"))
        inside.set()
        release.wait(10)

    call = asyncio.create_task(write_in_one_call(engine, work))
    await asyncio.to_thread(inside.wait, 10)
    call.cancel()
    for _ in range(3):  # a few turns of the loop: the cancellation has reached the call
        await asyncio.sleep(0)
    assert write_gate(engine).locked()  # type: ignore[attr-defined]
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert not write_gate(engine).locked()  # type: ignore[attr-defined]
    assert await _ids(engine) == [7]  # what the thread began, it finished


async def test_a_disposed_engine_writes_again(engine: AsyncEngine) -> None:
    def work(conn: Connection) -> None:
        conn.execute(text("INSERT INTO probe (id) SELECT coalesce(max(id), 0) + 1 FROM probe"))

    await write_in_one_call(engine, work)
    await engine.dispose()
    await write_in_one_call(engine, work)
    assert await _ids(engine) == [1, 2]


async def test_on_sqlite_disposing_the_engine_ends_its_thread(sqlite_engine: AsyncEngine) -> None:
    def work(_conn: Connection) -> threading.Thread:
        return threading.current_thread()

    first = await write_in_one_call(sqlite_engine, work)
    await sqlite_engine.dispose()
    assert not first.is_alive()
    second = await write_in_one_call(sqlite_engine, work)
    assert second is not first and second.is_alive()


# -- async transaction code in one call ------------------------------------------------------


async def test_async_work_commits_and_its_result_comes_back(engine: AsyncEngine) -> None:
    async def work(conn: Statements) -> int:
        await conn.execute(text("INSERT INTO probe (id) VALUES (:id)"), [{"id": 1}, {"id": 2}])
        return int((await conn.execute(text("SELECT count(*) FROM probe"))).scalar_one())

    assert await in_one_call(engine, work) == 2
    assert await _ids(engine) == [1, 2]


async def test_async_work_that_fails_leaves_nothing(engine: AsyncEngine) -> None:
    async def work(conn: Statements) -> None:
        await conn.execute(text("INSERT INTO probe (id) VALUES (1)"))
        raise RuntimeError("half way")

    with pytest.raises(RuntimeError, match="half way"):
        await in_one_call(engine, work)
    assert await _ids(engine) == []


async def test_on_sqlite_async_work_runs_whole_in_the_thread_behind_the_gate(
    sqlite_engine: AsyncEngine,
) -> None:
    """Its statements run at once in the twin's thread, on that thread's own loop, while this
    process's write gate is held; this loop stays free meanwhile."""
    loop = asyncio.get_running_loop()
    seen: list[tuple[str, bool, bool]] = []

    async def work(conn: Statements) -> None:
        await conn.execute(text("INSERT INTO probe (id) VALUES (:id)"), {"id": len(seen) + 1})
        seen.append(
            (
                threading.current_thread().name,
                asyncio.get_running_loop() is loop,
                write_gate(sqlite_engine).locked(),  # type: ignore[attr-defined]
            )
        )

    await in_one_call(sqlite_engine, work)
    [(thread, on_this_loop, gated)] = seen
    assert thread.startswith("notify-sqlite") and not on_this_loop and gated
    assert await _ids(sqlite_engine) == [1]
    await in_one_call(sqlite_engine, work)  # the thread's loop serves the next call too
    assert await _ids(sqlite_engine) == [1, 2]
