"""Fixtures shared by the whole suite: databases (SQLite and PostgreSQL) and signed requests.

Every test that takes ``db_url`` runs twice, once per backend. SQLite tests get a copy of a
database migrated once per session; PostgreSQL tests share one database per xdist worker,
migrated once and emptied before each test. Without PostgreSQL the PostgreSQL half is skipped,
except under CI (``CI=true``), where it fails instead.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from notify.db.engine import create_engine
from notify.db.migrate import migrate
from notify.db.models import Base
from notify.feed import tables as _feed_tables  # noqa: F401  (puts the feed tables on Base)

POSTGRES_URL = os.environ.get(
    "NOTIFY_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() == "true"


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "notify.db"
    asyncio.run(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_url(worker_id: str) -> Iterator[str]:
    """A migrated PostgreSQL database of this test process's own, dropped at the end.

    Named by worker and process id, so concurrent test runs never share one.
    """
    name = f"notify_test_{worker_id}_{os.getpid()}"

    async def run(*statements: str) -> None:
        conn = await asyncpg.connect(_dsn(POSTGRES_URL), timeout=5)
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    def create() -> Coroutine[Any, Any, None]:
        return run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')

    try:
        asyncio.run(create())
    except (OSError, asyncpg.PostgresError) as exc:
        message = f"PostgreSQL is not available at {POSTGRES_URL}: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    asyncio.run(_migrate(url))
    yield url
    asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


_TABLES = ", ".join(f'"{t.name}"' for t in reversed(Base.metadata.sorted_tables))


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A freshly migrated, empty database on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "notify.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")

    async def empty() -> None:
        conn = await asyncpg.connect(_dsn(url), timeout=5)
        try:
            await conn.execute(f"TRUNCATE {_TABLES} RESTART IDENTITY CASCADE")
        finally:
            await conn.close()

    asyncio.run(empty())
    return url
