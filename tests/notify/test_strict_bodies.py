"""Repeated keys in any JSON body are 400 problem+json and change nothing, on both databases."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import func, select

from notify.app import create_app
from notify.config import Settings
from notify.db.models import InboxEvent
from notify.feed.tables import FeedToken
from notify.keys import ENGINE
from tests.notify.conftest import Client
from tests.support import created_data, envelope, signed_headers

ADMIN = {"Authorization": "Bearer admin-token-for-tests-0001", "Content-Type": "application/json"}


@pytest.fixture
async def admin(aiohttp_client: Callable[..., Awaitable[Client]], settings: Settings) -> Client:
    test_settings = dataclasses.replace(settings, test_clock=True)
    return await aiohttp_client(create_app(test_settings, run_migrations=False, run_worker=False))


async def count(client: Client, table: object) -> int:
    async with client.app[ENGINE].connect() as conn:
        return int((await conn.scalar(select(func.count()).select_from(table))) or 0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("where", "replace", "by"),
    [
        ("top level", b'"type": ', b'"type": "x.ignored", "type": '),
        ("in data", b'"seats": 10', b'"seats": 10, "seats": 100000'),
        ("nested in data", b'"name": "Acme Corp"', b'"name": "Acme Corp", "name": "Evil"'),
    ],
)
async def test_a_webhook_with_a_repeated_key_is_400_and_not_stored(
    admin: Client, where: str, replace: bytes, by: bytes
) -> None:
    raw = envelope("subscription.created", created_data())
    assert replace in raw
    raw = raw.replace(replace, by, 1)
    resp = await admin.post("/webhooks", data=raw, headers=signed_headers(raw))
    assert resp.status == 400
    assert resp.content_type == "application/problem+json"
    answer = await resp.json()
    assert answer["type"] == "/problems/malformed-body"
    assert "duplicate key" in answer["detail"]
    assert await count(admin, InboxEvent.__table__) == 0


@pytest.mark.parametrize(
    "raw",
    [
        b'{"namespace_id": "ns_1", "namespace_id": "ns_2"}',
        b'{"namespace_id": "ns_1", "instance_id": null, "instance_id": null}',
    ],
)
async def test_a_feed_token_request_with_a_repeated_key_is_400_and_makes_no_token(
    admin: Client, raw: bytes
) -> None:
    resp = await admin.post("/admin/api/v1/feed-tokens", data=raw, headers=ADMIN)
    assert resp.status == 400
    assert resp.content_type == "application/problem+json"
    assert "duplicate key" in (await resp.json())["detail"]
    assert await count(admin, FeedToken.__table__) == 0


async def test_a_clock_request_with_a_repeated_key_is_400_and_the_clock_stays(
    admin: Client,
) -> None:
    start = await admin.post(
        "/admin/api/v1/clock", data=b'{"now": "2026-01-01T00:00:00Z"}', headers=ADMIN
    )
    assert start.status == 200
    raw = b'{"now": "2026-01-02T00:00:00Z", "now": "2030-01-01T00:00:00Z"}'
    resp = await admin.post("/admin/api/v1/clock", data=raw, headers=ADMIN)
    assert resp.status == 400
    assert resp.content_type == "application/problem+json"
    assert "duplicate key" in (await resp.json())["detail"]
    after = await (await admin.get("/admin/api/v1/clock", headers=ADMIN)).json()
    assert after["now"].startswith("2026-01-01T00:00:00")


async def test_a_clock_request_that_is_not_json_is_400(admin: Client) -> None:
    resp = await admin.post("/admin/api/v1/clock", data=b"{now", headers=ADMIN)
    assert resp.status == 400
    assert resp.content_type == "application/problem+json"
