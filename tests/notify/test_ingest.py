"""POST /webhooks: every answer of the contract's table, through real HTTP on both databases."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from typing import Any

import pytest
from sqlalchemy import select

from notify.app import create_app
from notify.config import Settings
from notify.db.models import InboxEvent
from notify.keys import ENGINE
from tests.notify.conftest import Client
from tests.support import SECRET, created_data, envelope, new_id, signed_headers


async def post(client: Client, body: bytes, **kw: Any) -> tuple[int, dict[str, Any], str]:
    headers = kw.pop("headers", None) or signed_headers(body, **kw)
    resp = await client.post("/webhooks", data=body, headers=headers)
    text = await resp.text()
    return resp.status, (json.loads(text) if text else {}), resp.headers.get("Content-Type", "")


async def stored(client: Client) -> list[InboxEvent]:
    async with client.app[ENGINE].connect() as conn:
        rows = await conn.execute(select(InboxEvent.__table__).order_by(InboxEvent.id))
        return list(rows)  # type: ignore[arg-type]


async def test_new_event_is_accepted_and_stored(client: Client) -> None:
    """A valid signed event is answered 202 accepted and is in the inbox with its raw body."""
    body = envelope("subscription.created", created_data())
    status, answer, _ = await post(client, body, msg_id="msg_a")
    assert (status, answer) == (202, {"id": "msg_a", "status": "accepted"})
    [row] = await stored(client)
    assert row.id == "msg_a"
    assert row.status == "accepted"
    assert row.body == body.decode()
    assert row.subscription_id == "sub_1"
    assert row.type == "subscription.created"


async def test_same_id_same_body_is_a_duplicate(client: Client) -> None:
    """A redelivery is answered 200 duplicate and stored once."""
    body = envelope("subscription.created", created_data())
    assert (await post(client, body, msg_id="msg_d"))[0] == 202
    status, answer, _ = await post(client, body, msg_id="msg_d")
    assert (status, answer) == (200, {"id": "msg_d", "status": "duplicate"})
    assert len(await stored(client)) == 1


async def test_same_id_different_body_conflicts(client: Client) -> None:
    """The same webhook-id with another body is refused with 409 and changes nothing."""
    first = envelope("subscription.created", created_data())
    assert (await post(client, first, msg_id="msg_c"))[0] == 202
    second = envelope("subscription.created", created_data(seats=11))
    status, answer, ctype = await post(client, second, msg_id="msg_c")
    assert status == 409
    assert ctype == "application/problem+json"
    assert answer["status"] == 409 and answer["type"] and answer["title"] and answer["detail"]
    [row] = await stored(client)
    assert row.body == first.decode()


async def test_unknown_type_is_stored_as_ignored(client: Client) -> None:
    body = envelope("invoice.voided", {"anything": [1, 2, 3]})
    status, answer, _ = await post(client, body, msg_id="msg_u")
    assert (status, answer) == (202, {"id": "msg_u", "status": "ignored"})
    [row] = await stored(client)
    assert row.status == "ignored"


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"type": "subscription.created", "timestamp": "2026-01-15T10:00:00Z"}',
        b'{"type": "subscription.created", "timestamp": "yesterday", "data": {}}',
        b'{"type": 5, "timestamp": "2026-01-15T10:00:00Z", "data": {}}',
        b'{"type": "x", "timestamp": "2026-01-15T10:00:00Z", "data": []}',
    ],
    ids=["not-json", "array", "no-data", "bad-timestamp", "type-not-string", "data-not-object"],
)
async def test_malformed_body_is_400(client: Client, body: bytes) -> None:
    status, answer, ctype = await post(client, body)
    assert status == 400, answer
    assert ctype == "application/problem+json"
    assert await stored(client) == []


def _headers_without(name: str, body: bytes) -> dict[str, str]:
    headers = signed_headers(body)
    del headers[name]
    return headers


@pytest.mark.parametrize(
    "make_headers",
    [
        lambda b: _headers_without("webhook-signature", b),
        lambda b: _headers_without("webhook-timestamp", b),
        lambda b: _headers_without("webhook-id", b),
        lambda b: {**signed_headers(b), "webhook-signature": "v1,AAAA"},
        lambda b: {**signed_headers(b), "webhook-signature": "garbage"},
        lambda b: {**signed_headers(b), "webhook-timestamp": "12ab"},
        lambda b: signed_headers(b, secret=b"another-secret-entirely-32-bytes"),
        lambda b: signed_headers(b, timestamp=int(time.time()) - 301),
        lambda b: signed_headers(b, timestamp=int(time.time()) + 301),
        lambda b: signed_headers(b + b" "),
    ],
    ids=[
        "no-signature",
        "no-timestamp",
        "no-id",
        "wrong-signature",
        "malformed-signature",
        "malformed-timestamp",
        "other-secret",
        "too-old",
        "too-new",
        "body-changed",
    ],
)
async def test_bad_signature_is_401(client: Client, make_headers: Any) -> None:
    body = envelope("subscription.created", created_data())
    status, answer, ctype = await post(client, body, headers=make_headers(body))
    assert status == 401, answer
    assert ctype == "application/problem+json"
    assert await stored(client) == []


async def test_timestamp_within_tolerance_is_accepted(client: Client) -> None:
    body = envelope("subscription.created", created_data())
    status, _, _ = await post(client, body, timestamp=int(time.time()) - 290)
    assert status == 202


async def test_body_over_256_kib_is_413(client: Client) -> None:
    body = envelope("subscription.created", created_data(pad="x" * (256 * 1024)))
    status, _, ctype = await post(client, body)
    assert status == 413
    assert ctype == "application/problem+json"
    assert await stored(client) == []


async def test_body_of_exactly_256_kib_is_read(client: Client) -> None:
    base = envelope("subscription.created", created_data(pad=""))
    body = envelope("subscription.created", created_data(pad="x" * (256 * 1024 - len(base))))
    assert len(body) == 256 * 1024
    assert (await post(client, body))[0] == 202


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", ""])
async def test_wrong_content_type_is_415(client: Client, ctype: str) -> None:
    body = envelope("subscription.created", created_data())
    headers = {**signed_headers(body), "content-type": ctype}
    status, answer, _ = await post(client, body, headers=headers)
    assert status == 415, answer
    assert await stored(client) == []


async def test_json_with_charset_is_accepted(client: Client) -> None:
    body = envelope("subscription.created", created_data())
    headers = {**signed_headers(body), "content-type": "application/json; charset=utf-8"}
    assert (await post(client, body, headers=headers))[0] == 202


async def test_invalid_data_is_422_listing_every_field(client: Client) -> None:
    data = created_data(seats="10", tier="gold")
    data["customer"] = {
        "id": "cus_1",
        "name": "Acme",
        "email": "billing@acme.example\r\nBcc: x@y.z",
    }
    body = envelope("subscription.created", data)
    status, answer, ctype = await post(client, body)
    assert status == 422
    assert ctype == "application/problem+json"
    fields = {e["field"] for e in answer["errors"]}
    assert {"data.seats", "data.tier", "data.customer.email"} <= fields
    assert all(e["message"] for e in answer["errors"])
    assert await stored(client) == []


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 20000 + b"]" * 20000,
        b'{"type": "usage.reported", "timestamp": "2026-01-15T10:00:00Z", "data": '
        + b'{"a":' * 20000
        + b"1"
        + b"}" * 20001,
        b'{"type": "usage.reported", "timestamp": "2026-01-15T10:00:00Z", "data": {"x": NaN}}',
        b'{"type": "usage.reported", "timestamp": "2026-01-15T10:00:00Z", "data": {"x": Infinity}}',
        envelope(
            "usage.reported",
            {
                "subscription_id": "sub_1",
                "observed_at": "2026-01-15T10:00:00Z",
                "billable_users": 10**30,
            },
        ),
        b'{"type": "usage.reported", "timestamp": "2026-01-15T10:00:00Z", '
        b'"data": {"x": "\xff\xfe"}}',
        envelope(
            "subscription.seats_added",
            {"subscription_id": "s" * 10_000, "seats": 1, "effective_date": "2026-02-01"},
        ),
    ],
    ids=["deep-array", "deep-object", "nan", "infinity", "huge-int", "invalid-utf8", "long-id"],
)
async def test_hostile_bodies_get_4xx_never_5xx(client: Client, body: bytes) -> None:
    status, answer, ctype = await post(client, body)
    assert 400 <= status < 500, answer
    assert ctype == "application/problem+json"
    assert await stored(client) == []


async def raw_post(client: Client, body: bytes, headers: dict[str, str]) -> int:
    """POST with headers exactly as given (the HTTP client would refuse some of them)."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    writer.write(
        f"POST /webhooks HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        f"Content-Length: {len(body)}\r\n{head}\r\n".encode("utf-8", "surrogateescape")
        + body
    )
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    return int(status_line.split()[1])


@pytest.mark.parametrize(
    "msg_id",
    ["m" * 10_000, "msg\x00nul", "a\x01b", "tab\tid", "ümlaut", " lead"],
    ids=["10000-chars", "nul", "control", "tab", "non-ascii", "leading-space"],
)
async def test_hostile_webhook_ids_get_4xx(client: Client, msg_id: str) -> None:
    """Ids that are too long or not printable ASCII are refused; a NUL or control byte is
    refused by the HTTP parser itself, before any handler runs."""
    body = envelope("subscription.created", created_data())
    status = await raw_post(client, body, signed_headers(body, msg_id=msg_id))
    assert 400 <= status < 500
    assert await stored(client) == []


async def test_same_event_posted_50_times_in_parallel_is_stored_once(client: Client) -> None:
    body = envelope("subscription.created", created_data())
    headers = signed_headers(body, msg_id="msg_parallel")
    results = await asyncio.gather(
        *(client.post("/webhooks", data=body, headers=headers) for _ in range(50))
    )
    statuses = sorted(r.status for r in results)
    assert statuses == [200] * 49 + [202]
    assert len(await stored(client)) == 1


async def test_many_distinct_events_in_parallel_are_all_stored(client: Client) -> None:
    bodies = [
        envelope("subscription.created", created_data(subscription_id=f"sub_{i}"))
        for i in range(200)
    ]
    results = await asyncio.gather(
        *(client.post("/webhooks", data=b, headers=signed_headers(b)) for b in bodies)
    )
    assert {r.status for r in results} == {202}
    assert len(await stored(client)) == 200


async def test_any_of_several_secrets_is_accepted(aiohttp_client: Any, settings: Settings) -> None:
    """Secret rotation: a signature by either the old or the new secret is valid."""
    old, new = b"old-secret-old-secret-old-secret", b"new-secret-new-secret-new-secret"
    app = create_app(
        dataclasses.replace(settings, webhook_secrets=(old, new)), run_migrations=False
    )
    client = await aiohttp_client(app)
    for secret in (old, new):
        body = envelope("subscription.created", created_data(subscription_id=new_id()))
        assert (await post(client, body, secret=secret))[0] == 202


async def test_database_down_is_503_and_readyz_says_so(aiohttp_client: Any, tmp_path: Any) -> None:
    """With no database to commit to, nothing is acknowledged: 503, and /readyz is 503 too."""
    dead = Settings(
        database_url="postgresql+asyncpg://postgres@127.0.0.1:1/none",
        webhook_secrets=(SECRET,),
        mail_dir=tmp_path,
    )
    client = await aiohttp_client(create_app(dead, run_migrations=False, run_worker=False))
    body = envelope("subscription.created", created_data())
    status, answer, ctype = await post(client, body)
    assert status == 503, answer
    assert ctype == "application/problem+json"
    assert (await client.get("/readyz")).status == 503
    assert (await client.get("/healthz")).status == 200
