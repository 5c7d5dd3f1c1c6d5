"""Every error answer is problem+json, and no path parameter reaches a query unless it can name
something: the same answers on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from notify.app import create_app
from notify.config import Settings
from notify.web.errors import MAX_PATH_PARAMETER, problems
from tests.notify.conftest import Client

ADMIN_TOKEN = "admin-token-for-tests-0001"


@pytest.fixture
async def app_client(
    aiohttp_client: Callable[..., Awaitable[Client]], settings: Settings
) -> Client:
    test_settings = dataclasses.replace(settings, test_clock=True)
    return await aiohttp_client(create_app(test_settings, run_migrations=False, run_worker=False))


async def feed_token(client: Client) -> str:
    resp = await client.post(
        "/admin/api/v1/feed-tokens",
        json={"namespace_id": "ns_1"},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert resp.status == 201
    token = (await resp.json())["token"]
    assert isinstance(token, str)
    return token


async def assert_problem(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/problem+json"
    body = await resp.json()
    assert body["status"] == status
    assert body["type"].startswith("/problems/") and body["title"] and body["detail"]
    assert isinstance(body, dict)
    return body


def parameter_routes(app: web.Application) -> list[tuple[str, str]]:
    """(method, path template) of every route with a path parameter."""
    found = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        if "formatter" in info and route.method != "HEAD":
            found.append((route.method, info["formatter"]))
    return sorted(set(found))


@pytest.mark.parametrize(
    "value", ["a%00b", "%00", "a%0Ab", "a%0Db", "tab%09", "del%7F", "x" * (MAX_PATH_PARAMETER + 1)]
)
async def test_no_path_parameter_that_names_nothing_reaches_a_query(
    app_client: Client, value: str
) -> None:
    """NUL, other control characters and over-long values in every path parameter of every
    route, with credentials that pass every check: 404 problem on both databases."""
    assert app_client.app is not None
    routes = parameter_routes(app_client.app)
    assert len(routes) >= 5  # subscriptions, suppressions, feed dismiss, unsubscribe GET/POST
    token = await feed_token(app_client)
    for method, template in routes:
        path = re.sub(r"\{[^}]+\}", value, template)
        bearer = token if template.startswith("/api/v1/feed") else ADMIN_TOKEN
        resp = await app_client.request(method, path, headers={"Authorization": f"Bearer {bearer}"})
        body = await assert_problem(resp, 404)
        assert body["type"] == "/problems/not-found", (method, template)


async def test_an_ordinary_unknown_name_is_still_looked_up(app_client: Client) -> None:
    """A printable name that exists nowhere gets the route's own 404."""
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    resp = await app_client.delete("/admin/api/v1/suppressions/nobody@example.com", headers=headers)
    assert (await assert_problem(resp, 404))["type"] == "/problems/not-suppressed"


@pytest.mark.parametrize("path", ["/", "/nope", "/webhooks/x", "/admin/api/v2/anything", "/%00"])
async def test_an_unknown_path_is_a_404_problem(app_client: Client, path: str) -> None:
    body = await assert_problem(await app_client.get(path), 404)
    assert body["type"] == "/problems/not-found"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/webhooks", {"POST"}),
        ("PUT", "/webhooks", {"POST"}),
        ("POST", "/healthz", {"GET", "HEAD"}),
        ("DELETE", "/admin/api/v1/feed-tokens", {"POST"}),
        ("PATCH", "/unsubscribe/abc", {"GET", "HEAD", "POST"}),
    ],
)
async def test_a_wrong_method_is_a_405_problem_with_allow(
    app_client: Client, method: str, path: str, allowed: set[str]
) -> None:
    resp = await app_client.request(method, path)
    body = await assert_problem(resp, 405)
    assert body["type"] == "/problems/method-not-allowed"
    assert set(resp.headers["Allow"].split(",")) == allowed
    assert method in body["detail"]


async def test_a_body_over_the_size_limit_is_a_413_problem(app_client: Client) -> None:
    resp = await app_client.post(
        "/admin/api/v1/feed-tokens",
        data=b"[" + b"0," * 200_000 + b"0]",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"},
    )
    assert (await assert_problem(resp, 413))["type"] == "/problems/payload-too-large"


async def test_an_unexpected_failure_is_a_500_problem(
    aiohttp_client: Callable[..., Awaitable[Client]],
) -> None:
    """A handler bug answers problem+json, never aiohttp's text/plain page."""

    async def broken(_request: web.Request) -> web.Response:
        raise RuntimeError("a bug")

    async def missing_row(_request: web.Request) -> web.Response:
        raise ConnectionRefusedError("the database went away")

    app = web.Application(middlewares=[problems])
    app.router.add_get("/broken", broken)
    app.router.add_get("/away", missing_row)
    client = await aiohttp_client(app)
    body = await assert_problem(await client.get("/broken"), 500)
    assert "a bug" not in body["detail"]
    resp = await client.get("/away")
    await assert_problem(resp, 503)
    assert resp.headers["Retry-After"] == "5"
