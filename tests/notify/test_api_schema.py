"""The OpenAPI document, and schemathesis against the live service over every route of it.

``notify serve`` runs in a subprocess on each database; schemathesis generates requests for
every operation of the document the service serves (valid ones and invalid ones), sends them
with the credentials each route needs (webhooks signed over the exact bytes sent), and checks
every answer: never a 5xx, a documented status, its documented media type, schema and headers,
and problem+json for every error.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.engine import make_url

from notify.app import create_app
from notify.config import Settings
from notify.web.limits import Limits
from notify.web.openapi import document, registered
from notify.web.operations import JSON, OPERATIONS
from tests.conftest import POSTGRES_URL, _dsn
from tests.processes import logging_service
from tests.support import SECRET_TEXT, signed_headers

ADMIN_TOKEN = "admin-token-for-the-schema-run"
EXAMPLES = 30  # per operation, mode and database


def test_every_route_has_a_row_and_every_row_a_route() -> None:
    """The table of operations is the application's routes, the test clock's included."""
    app = create_app(Settings(test_clock=True), run_migrations=False, run_worker=False)
    assert registered(app) == {(op.method, op.path) for op in OPERATIONS}


def test_the_document_leaves_out_what_the_application_does_not_serve() -> None:
    app = create_app(Settings(), run_migrations=False, run_worker=False)
    paths = document(registered(app))["paths"]
    assert "/admin/api/v1/clock" not in paths
    assert set(paths["/webhooks"]) == {"post"}


def test_the_webhook_body_is_described_by_the_models() -> None:
    """Each known type's data is its pydantic model's schema, with the fields' rules."""
    schemas = document({("post", "/webhooks")})["components"]["schemas"]
    created = schemas["SubscriptionCreated"]
    assert created["properties"]["seats"] == {
        "maximum": 1_000_000,
        "minimum": 1,
        "title": "Seats",
        "type": "integer",
    }
    assert created["properties"]["term_start"]["format"] == "date"
    assert schemas["Customer"]["properties"]["email"]["format"] == "email"
    assert len(schemas["Envelope"]["anyOf"]) == 12  # 11 known types and any other


# -- the live run ------------------------------------------------------------------------------


@dataclass
class Live:
    url: str
    schema: Any
    feed_token: str
    session: requests.Session
    last_sent: float = float("-inf")  # time.monotonic() of the last request's answer


# The service closes a connection idle for its idle_timeout. A request written on a pooled
# connection in the instant the server closes it is never read, and the client sees the
# connection aborted: after a pause (between tests, other modules run in this worker), a
# request goes out on a new connection instead.
REUSE_WITHIN = Limits().idle_timeout / 3


def _postgres_database(name: str, *statements: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(_dsn(POSTGRES_URL), timeout=5)
        try:
            for statement in statements:
                await conn.execute(statement.format(name=name))
        finally:
            await conn.close()

    asyncio.run(run())


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    """A real ``notify serve`` on a database of its own, and the document it serves."""
    cwd = tmp_path_factory.mktemp(f"schema-{request.param}")
    name = f"notify_schema_{os.getpid()}"
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{cwd}/notify.db"
    else:
        request.getfixturevalue("postgres_url")  # skips or fails as the suite does
        _postgres_database(
            name, 'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', 'CREATE DATABASE "{name}"'
        )
        url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    env = {
        "NOTIFY_DATABASE_URL": url,
        "NOTIFY_WEBHOOK_SECRETS": SECRET_TEXT,
        "NOTIFY_ADMIN_TOKEN": ADMIN_TOKEN,
        "NOTIFY_TEST_CLOCK": "1",
        "NOTIFY_MAIL_DIR": str(cwd / "mail"),
    }
    try:
        with logging_service(env, cwd) as base, requests.Session() as session:
            admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
            made = session.post(
                f"{base}/admin/api/v1/feed-tokens", json={"namespace_id": "ns_1"}, headers=admin
            )
            assert made.status_code == 201
            doc = session.get(f"{base}/openapi.json").json()
            schema = schemathesis.openapi.from_dict(doc)
            yield Live(base, schema, made.json()["token"], session)
    finally:
        if request.param == "postgres":
            _postgres_database(name, 'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def problem_json_for_every_error(_ctx: Any, response: Any, _case: Case) -> None:
    """Every error answer is problem+json with the four members."""
    if response.status_code < 400:
        return
    content_type = response.headers.get("content-type", [""])
    content_type = content_type[0] if isinstance(content_type, list) else content_type
    assert content_type.startswith("application/problem+json"), (response.status_code, content_type)
    body = json.loads(response.content)
    assert body["status"] == response.status_code
    assert all(isinstance(body[key], str) for key in ("type", "title", "detail"))


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    problem_json_for_every_error,
]
# The barrier POST runs every occasion up to the new time: a jump of centuries would run
# centuries of renewals of the subscriptions the run created. Jumps stay within a few days.
CLOCK_STEP = timedelta(days=3)


def _nearby(case: Case, live: Live) -> None:
    if not isinstance(case.body, dict) or not isinstance(case.body.get("now"), str):
        return
    try:
        asked = datetime.fromisoformat(case.body["now"])
    except ValueError:
        return
    current = datetime.fromisoformat(
        live.session.get(
            f"{live.url}/admin/api/v1/clock", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        ).json()["now"]
    )
    if asked.tzinfo is not None and asked > current:
        case.body["now"] = min(asked, current + CLOCK_STEP).isoformat()


def send(live: Live, case: Case) -> int:
    if time.monotonic() - live.last_sent > REUSE_WITHIN:
        live.session.close()  # drops the pooled connections; the session opens new ones
    if case.path == "/admin/api/v1/clock" and case.method == "POST":
        _nearby(case, live)
    kwargs = case.as_transport_kwargs(base_url=live.url)
    headers = kwargs.setdefault("headers", {})
    if case.path.startswith("/admin/"):
        headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
    elif case.path.startswith("/api/v1/feed"):
        headers["Authorization"] = f"Bearer {live.feed_token}"
    elif case.path == "/webhooks":
        raw = (
            json.dumps(kwargs.pop("json")).encode()
            if "json" in kwargs
            else kwargs.pop("data", b"") or b""
        )
        kwargs["data"] = raw if isinstance(raw, bytes) else str(raw).encode()
        headers.update(signed_headers(kwargs["data"]))
    kwargs["timeout"] = 150
    # The console's pages and forms answer 303: the document says so, and that is what is checked.
    kwargs["allow_redirects"] = False
    response = live.session.request(**kwargs)
    live.last_sent = time.monotonic()
    case.validate_response(response, checks=CHECKS)
    return int(response.status_code)


# Invalid requests only where there is something to make invalid: a JSON body or a path
# parameter (a form's fields are all text: no form is invalid for its media type).
RUNS = [
    pytest.param(op.method, op.path, mode, id=f"{op.method} {op.path} {mode}")
    for op in OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE
    or (op.body is not None and op.body_media_type == JSON)
    or "{" in op.path
]


@pytest.mark.slow
@pytest.mark.parametrize(("method", "path", "mode"), RUNS)
def test_the_live_service_holds_to_its_document(
    live: Live, method: str, path: str, mode: GenerationMode
) -> None:
    operation = live.schema[path][method.upper()]

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Case) -> None:
        statuses.add(send(live, case))

    statuses: set[int] = set()
    started = time.monotonic()
    run()
    assert time.monotonic() - started < 120
    if path == "/webhooks" and mode is GenerationMode.POSITIVE:
        # The signing works: some generated events were stored, not all refused at the door.
        assert 202 in statuses, statuses
