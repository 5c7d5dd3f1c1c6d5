"""The admin API over suppressed addresses: bearer-token only, list and lift."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient

from notify.config import Settings
from notify.db.engine import create_engine
from notify.delivery.outbox import SUPPRESSIONS
from tests.notify.test_unsubscribe import delivery_app

Client = TestClient[Any, Any]
PATH = "/admin/api/v1/suppressions"


async def suppress(db_url: str, *addresses: str) -> None:
    engine = create_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                SUPPRESSIONS.insert(),
                [
                    {
                        "address": address,
                        "reason": "550 5.1.1 No such user",
                        "created_at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
                    }
                    for address in addresses
                ],
            )
    finally:
        await engine.dispose()


async def test_suppressions_are_listed_and_lifted(
    aiohttp_client: Callable[..., Awaitable[Client]], settings: Settings, db_url: str
) -> None:
    """The list shows address, reason and time; DELETE lifts one (204), then it is gone (404)."""
    client = await aiohttp_client(delivery_app(settings))
    auth = {"Authorization": f"Bearer {settings.admin_token}"}
    await suppress(db_url, "b@example.com", "a@example.com")

    answer = await client.get(PATH, headers=auth)
    assert answer.status == 200
    items = (await answer.json())["items"]
    assert [item["address"] for item in items] == ["a@example.com", "b@example.com"]
    assert items[0] == {
        "address": "a@example.com",
        "reason": "550 5.1.1 No such user",
        "created_at": "2026-01-02T03:04:05Z",
    }

    assert (await client.delete(f"{PATH}/A@Example.com", headers=auth)).status == 204
    missing = await client.delete(f"{PATH}/a@example.com", headers=auth)
    assert missing.status == 404
    assert missing.content_type == "application/problem+json"
    remaining = (await (await client.get(PATH, headers=auth)).json())["items"]
    assert [item["address"] for item in remaining] == ["b@example.com"]


async def test_anything_but_the_admin_token_is_401(
    aiohttp_client: Callable[..., Awaitable[Client]], settings: Settings, db_url: str
) -> None:
    """No header, another scheme or a wrong token is 401 problem+json, for every method."""
    client = await aiohttp_client(delivery_app(settings))
    await suppress(db_url, "a@example.com")
    wrong = [
        {},
        {"Authorization": f"Basic {settings.admin_token}"},
        {"Authorization": "Bearer wrong-token-wrong-token"},
        {"Authorization": f"Bearer {settings.admin_token}x"},
    ]
    for headers in wrong:
        for method, path in (("GET", PATH), ("DELETE", f"{PATH}/a@example.com")):
            answer = await client.request(method, path, headers=headers)
            assert answer.status == 401, (method, headers)
            assert answer.content_type == "application/problem+json"
    auth = {"Authorization": f"Bearer {settings.admin_token}"}
    assert len((await (await client.get(PATH, headers=auth)).json())["items"]) == 1


async def test_without_a_configured_token_everyone_is_refused(
    aiohttp_client: Callable[..., Awaitable[Client]], settings: Settings
) -> None:
    """With NOTIFY_ADMIN_TOKEN unset the admin API answers 401 to everyone."""
    client = await aiohttp_client(delivery_app(replace(settings, admin_token=None)))
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer None"}):
        assert (await client.get(PATH, headers=headers)).status == 401
