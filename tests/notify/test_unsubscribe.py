"""One-click unsubscribe through the real application, and its effect on delivery."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, cast
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from notify.app import create_app
from notify.config import Settings
from notify.db.models import Unsubscribe
from notify.delivery.tokens import sign_token, unsubscribe_key
from tests.notify.test_delivery import World, add_rows, drain, row_of, smtp_world
from tests.smtp import SmtpServer, smtp_server

Client = TestClient[Any, Any]
UNSUBSCRIBES = cast(Table, Unsubscribe.__table__)


def delivery_app(settings: Settings) -> web.Application:
    """The real application; the tests drive delivery themselves, so no background work."""
    return create_app(settings, run_migrations=False, run_worker=False)


@pytest.fixture
async def app_client(
    aiohttp_client: Callable[..., Awaitable[Client]], settings: Settings
) -> Client:
    return await aiohttp_client(delivery_app(settings))


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    with smtp_server() as running:
        yield running


@pytest.fixture
async def world(db_url: str, server: SmtpServer, app_client: Client) -> AsyncIterator[World]:
    async with smtp_world(db_url, server) as world:
        yield world


async def opt_outs(engine: AsyncEngine) -> list[tuple[str, str]]:
    async with engine.connect() as conn:
        result = await conn.execute(select(UNSUBSCRIBES.c.subscription_id, UNSUBSCRIBES.c.address))
        return sorted((sub, address) for sub, address in result)


async def test_one_click_opts_out_of_reminders_only(
    world: World, server: SmtpServer, app_client: Client
) -> None:
    """A reminder carries List-Unsubscribe and List-Unsubscribe-Post; POSTing to its URL through
    the app opts the address out of that subscription's reminders: the next reminder is
    suppressed, a confirmation still goes out, and so do reminders of other subscriptions."""
    [reminder] = await add_rows(world.engine, kind="renewal_reminder", recipient="Ops@Acme.example")
    assert await drain(world.deliverer()) == 1
    [received] = server.received
    header = str(received.message["List-Unsubscribe"])
    assert header.startswith("<http://notify.test/unsubscribe/") and header.endswith(">")
    assert received.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = header[1:-1]
    [(_kind, context)] = world.renderer.calls
    assert context["unsubscribe_url"] == url
    assert url in received.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    answer = await app_client.post(
        urlsplit(url).path,
        data="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status == 200
    assert "no longer receive reminder" in await answer.text()
    assert await opt_outs(world.engine) == [("sub_1", "ops@acme.example")]

    [again] = await add_rows(world.engine, kind="renewal_reminder", recipient="ops@acme.example")
    [upcoming] = await add_rows(
        world.engine, kind="auto_renewal_upcoming", recipient="ops@acme.example"
    )
    [confirmation] = await add_rows(
        world.engine, kind="renewal_confirmation", recipient="ops@acme.example"
    )
    [other] = await add_rows(
        world.engine,
        kind="renewal_reminder",
        recipient="ops@acme.example",
        subscription_id="sub_2",
    )
    assert await drain(world.deliverer()) == 4
    for row in (again, upcoming):
        stored = await row_of(world.engine, row["message_id"])
        assert (stored.status, stored.last_error) == ("suppressed", "unsubscribed")
    sent = server.message_ids()
    assert sent[0] == reminder["message_id"]
    assert sorted(sent[1:]) == sorted([confirmation["message_id"], other["message_id"]])
    confirmation_message = server.received[sent.index(confirmation["message_id"])].message
    assert confirmation_message["List-Unsubscribe"] is None


async def test_get_shows_a_form_and_never_unsubscribes(world: World, app_client: Client) -> None:
    """A GET (what a mail scanner does) shows a page with a POST button and changes nothing;
    repeating the POST is harmless."""
    key = await unsubscribe_key(world.engine)
    path = "/unsubscribe/" + sign_token(key, "sub_9", "a@example.com")
    page = await app_client.get(path)
    assert page.status == 200
    assert page.content_type == "text/html"
    text = await page.text()
    assert '<form method="post">' in text and "a@example.com" in text
    assert await opt_outs(world.engine) == []

    for _ in range(2):
        assert (await app_client.post(path)).status == 200
    assert await opt_outs(world.engine) == [("sub_9", "a@example.com")]


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_invalid_tokens_are_404_problems(
    world: World, app_client: Client, method: str
) -> None:
    """A token that is malformed, tampered with or signed by another key is a 404 problem."""
    key = await unsubscribe_key(world.engine)
    good = sign_token(key, "sub_1", "a@example.com")
    payload, signature = good.split(".")
    tampered = sign_token(key, "sub_2", "a@example.com").split(".")[0] + "." + signature
    foreign = sign_token(b"another key" * 3, "sub_1", "a@example.com")
    for token in ("nonsense", "a.b.c", tampered, foreign, payload + ".", "." + signature):
        answer = await app_client.request(method, f"/unsubscribe/{token}")
        assert answer.status == 404, token
        assert answer.content_type == "application/problem+json"
        assert (await answer.json())["status"] == 404
    assert await opt_outs(world.engine) == []
