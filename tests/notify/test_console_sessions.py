"""The console's sign-in, session cookie, CSRF tokens and the limit on failed sign-ins, over HTTP.

The browser tests (tests/console/) drive the same through Chromium; these read the answers'
statuses and headers exactly, on both databases.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable
from http.cookies import SimpleCookie
from typing import Any

import pytest
from sqlalchemy import func, select

from notify.app import create_app
from notify.config import Settings
from notify.db.models import ConsoleSession
from notify.keys import ENGINE
from tests.notify.conftest import Client
from tests.notify.test_delivery_admin import suppress

TOKEN = "admin-token-for-tests-0001"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def csrf_of(client: Client, path: str = "/admin/sign-in") -> str:
    page = await client.get(path, allow_redirects=False)
    assert page.status == 200, await page.text()
    found = _CSRF.search(await page.text())
    assert found is not None
    return found.group(1)


async def sign_in(client: Client, token: str = TOKEN, **fields: str) -> Any:
    csrf = await csrf_of(client)
    return await client.post(
        "/admin/sign-in", data={"csrf": csrf, "token": token, **fields}, allow_redirects=False
    )


async def sessions_stored(client: Client) -> int:
    async with client.app[ENGINE].connect() as conn:
        return int(
            (
                await conn.execute(select(func.count()).select_from(ConsoleSession.__table__))
            ).scalar_one()
        )


def set_cookie(resp: Any) -> SimpleCookie:
    cookie: SimpleCookie = SimpleCookie()
    for header in resp.headers.getall("Set-Cookie", []):
        cookie.load(header)
    return cookie


async def test_sign_in_with_the_admin_token_then_sign_out_ends_the_session(
    client: Client,
) -> None:
    """A page needs a session: 303 to sign-in; the token signs in (a new cookie) and goes to
    the page asked for; signing out ends it, also for a copy of the cookie kept before."""
    first = await client.get("/admin/outbox?status=dead", allow_redirects=False)
    assert first.status == 303
    assert first.headers["Location"] == "/admin/sign-in?next=/admin/outbox?status%3Ddead"

    signed = await sign_in(client, next="/admin/outbox?status=dead")
    assert signed.status == 303 and signed.headers["Location"] == "/admin/outbox?status=dead"
    assert await sessions_stored(client) == 1
    copy = set_cookie(signed)["notify_console"].value
    page = await client.get("/admin/outbox?status=dead", allow_redirects=False)
    assert page.status == 200
    assert "Content-Security-Policy" in page.headers
    assert "script-src" not in page.headers["Content-Security-Policy"]  # default-src 'none'

    csrf = await csrf_of(client, "/admin/")
    out = await client.post("/admin/sign-out", data={"csrf": csrf}, allow_redirects=False)
    assert out.status == 303 and out.headers["Location"] == "/admin/sign-in"
    assert await sessions_stored(client) == 0
    assert (await client.get("/admin/", allow_redirects=False)).status == 303
    client.session.cookie_jar.clear()
    kept = await client.get(
        "/admin/", headers={"Cookie": f"notify_console={copy}"}, allow_redirects=False
    )
    assert kept.status == 303


async def test_a_wrong_token_is_refused_with_a_message_and_no_session(client: Client) -> None:
    resp = await sign_in(client, token="not-the-admin-token")
    assert resp.status == 303 and resp.headers["Location"].startswith("/admin/sign-in")
    page = await client.get(resp.headers["Location"])
    assert "That is not the admin token." in await page.text()
    assert await sessions_stored(client) == 0
    assert (await client.get("/admin/", allow_redirects=False)).status == 303


async def test_the_cookie_is_httponly_strict_to_the_console_and_secure_behind_https(
    aiohttp_client: Callable[..., Awaitable[Client]], settings: Settings
) -> None:
    for public_url, secure in (("http://notify.test", False), ("https://notify.test", True)):
        app = create_app(
            dataclasses.replace(settings, public_url=public_url),
            run_migrations=False,
            run_worker=False,
        )
        client = await aiohttp_client(app)
        morsel = set_cookie(await client.get("/admin/sign-in"))["notify_console"]
        assert morsel["httponly"] is True
        assert morsel["samesite"] == "Strict"
        assert morsel["path"] == "/admin/"
        assert bool(morsel["secure"]) is secure
        assert not morsel["expires"] and not morsel["max-age"]  # ends with the browser session


async def test_after_five_failures_the_client_waits_even_with_the_right_token(
    client: Client,
) -> None:
    """Five wrong tokens from one address are told so; the sixth attempt, right or wrong, is
    429 with Retry-After, and no session is made."""
    for _ in range(5):
        assert (await sign_in(client, token="wrong-wrong-wrong")).status == 303
    for token in ("wrong-wrong-wrong", TOKEN):
        refused = await sign_in(client, token=token)
        assert refused.status == 429
        assert refused.content_type == "application/problem+json"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert await sessions_stored(client) == 0


async def test_a_post_without_its_csrf_token_is_refused_and_changes_nothing(
    client: Client, db_url: str
) -> None:
    """Signed in, a lift without the token, or with another session's, is 403; the address
    stays suppressed. With the token it is lifted."""
    await suppress(db_url, "a@example.com")
    assert (await sign_in(client)).status == 303
    for data in ({"address": "a@example.com"}, {"address": "a@example.com", "csrf": "forged"}):
        refused = await client.post("/admin/suppressions/lift", data=data, allow_redirects=False)
        assert refused.status == 403
        assert refused.content_type == "application/problem+json"
    assert "a@example.com" in await (await client.get("/admin/suppressions")).text()
    csrf = await csrf_of(client, "/admin/suppressions")
    done = await client.post(
        "/admin/suppressions/lift",
        data={"address": "a@example.com", "csrf": csrf},
        allow_redirects=False,
    )
    assert done.status == 303
    page = await (await client.get(done.headers["Location"])).text()
    assert "a@example.com is mailed again." in page
    assert "No address is suppressed." in page


async def test_forms_of_a_signed_out_browser_change_nothing(client: Client, db_url: str) -> None:
    await suppress(db_url, "a@example.com")
    csrf = await csrf_of(client)
    resp = await client.post(
        "/admin/suppressions/lift",
        data={"address": "a@example.com", "csrf": csrf},
        allow_redirects=False,
    )
    assert resp.status == 303 and resp.headers["Location"] == "/admin/sign-in"
    assert (await sign_in(client)).status == 303
    assert "a@example.com" in await (await client.get("/admin/suppressions")).text()


@pytest.mark.parametrize(
    "wanted",
    ["https://evil.example/", "//evil.example/admin/", "/admin/api/v1/outbox", "/elsewhere"],
)
async def test_sign_in_goes_only_to_console_pages(client: Client, wanted: str) -> None:
    resp = await sign_in(client, next=wanted)
    assert resp.status == 303 and resp.headers["Location"] == "/admin/"


async def test_without_an_admin_token_the_console_is_closed(
    aiohttp_client: Callable[..., Awaitable[Client]], settings: Settings
) -> None:
    app = create_app(
        dataclasses.replace(settings, admin_token=None), run_migrations=False, run_worker=False
    )
    client = await aiohttp_client(app)
    assert "The console is closed" in await (await client.get("/admin/sign-in")).text()
    # No form to take a token from; whatever is posted signs nobody in.
    resp = await client.post(
        "/admin/sign-in", data={"csrf": "x", "token": "None"}, allow_redirects=False
    )
    assert resp.status == 403
    assert (await client.get("/admin/", allow_redirects=False)).status == 303
