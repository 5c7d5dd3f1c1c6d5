"""Service fixtures: the real application over real HTTP on a real database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from notify.app import create_app
from notify.config import Settings
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
