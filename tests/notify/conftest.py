"""Service fixtures: the real application over real HTTP on a real database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from notify.app import create_app
from notify.config import Settings
from notify.db.engine import create_engine
from tests.support import SECRET

Client = TestClient[Any, Any]


@pytest.fixture
def settings(db_url: str, tmp_path: Any) -> Settings:
    return Settings(
        database_url=db_url,
        webhook_secrets=(SECRET,),
        mail_dir=tmp_path / "mail",
        admin_token="admin-token-for-tests-0001",
    )


@pytest.fixture
async def client(aiohttp_client: Callable[..., Awaitable[Client]], settings: Settings) -> Client:
    return await aiohttp_client(create_app(settings, run_migrations=False, run_worker=False))


@pytest.fixture
async def engines(db_url: str) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    """Two engines on one database: two processes, as far as the database can tell."""
    first, second = create_engine(db_url), create_engine(db_url)
    yield first, second
    await first.dispose()
    await second.dispose()
