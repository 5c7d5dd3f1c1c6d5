"""The admin API's lists: search by what support knows, the outbox by status, requeue."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import update

from notify.app import create_app
from notify.config import Settings
from notify.db.models import OutboxRow
from notify.keys import ENGINE
from tests.notify.conftest import Client
from tests.support import created_data, envelope, signed_headers

ADMIN = {"Authorization": "Bearer admin-token-for-tests-0001"}


@pytest.fixture
async def admin(aiohttp_client: Callable[..., Awaitable[Client]], settings: Settings) -> Client:
    test_settings = dataclasses.replace(settings, test_clock=True)
    return await aiohttp_client(create_app(test_settings, run_migrations=False, run_worker=False))


async def post_event(client: Client, type_: str, data: dict[str, Any], msg: str) -> None:
    body = envelope(type_, data, timestamp="2026-01-15T10:00:00Z")
    resp = await client.post("/webhooks", data=body, headers=signed_headers(body, msg_id=msg))
    assert resp.status == 202, await resp.text()


async def settle(client: Client, now: str = "2026-01-15T12:00:00Z") -> None:
    resp = await client.post("/admin/api/v1/clock", json={"now": now}, headers=ADMIN)
    assert resp.status == 200, await resp.text()


async def three_customers(client: Client) -> None:
    """Acme (two subscriptions, one a self-managed instance), Globex, and a 50%_off Co."""
    await post_event(client, "subscription.created", created_data(), "e1")
    await post_event(
        client,
        "subscription.created",
        created_data(
            subscription_id="sub_2",
            deployment="self_managed",
            namespace_id=None,
            instance_id="inst_acme_eu",
            contacts=["Finance@Acme.example"],
        ),
        "e2",
    )
    await post_event(
        client,
        "subscription.created",
        created_data(
            subscription_id="sub_3",
            customer={"id": "cus_9", "name": "Globex", "email": "ap@globex.example"},
            namespace_id="ns_globex",
        ),
        "e3",
    )
    await post_event(
        client,
        "subscription.created",
        created_data(
            subscription_id="sub_4",
            customer={"id": "cus_5", "name": "50%_off Co", "email": "pay@fifty.example"},
            namespace_id="ns_fifty",
        ),
        "e4",
    )
    await settle(client)


async def found(client: Client, q: str) -> list[str]:
    resp = await client.get("/admin/api/v1/subscriptions", params={"q": q}, headers=ADMIN)
    assert resp.status == 200, await resp.text()
    return [item["subscription_id"] for item in (await resp.json())["items"]]


async def test_search_finds_by_name_email_namespace_instance_and_id(admin: Client) -> None:
    """Case-insensitive, in any of the fields support knows; exact matches first."""
    await three_customers(admin)
    assert await found(admin, "acme corp") == ["sub_1", "sub_2"]
    assert await found(admin, "GLOBEX") == ["sub_3"]
    assert await found(admin, "finance@acme.example") == ["sub_2"]
    assert await found(admin, "ap@globex") == ["sub_3"]
    assert await found(admin, "inst_acme") == ["sub_2"]
    assert await found(admin, "ns_globex") == ["sub_3"]
    assert await found(admin, "cus_9") == ["sub_3"]
    # sub_1 is the id exactly; the others merely contain "sub_1"… none here, so one result.
    assert await found(admin, "sub_1") == ["sub_1"]
    assert await found(admin, "nobody") == []


async def test_search_ranks_exact_then_prefix_then_contains(admin: Client) -> None:
    """ "acme" is contained in Acme's contacts and name; an exact id comes first."""
    await three_customers(admin)
    # Every id starts with "sub_": all four are prefix matches, by customer name then id.
    assert await found(admin, "sub_") == ["sub_4", "sub_1", "sub_2", "sub_3"]
    items = (await (await admin.get("/admin/api/v1/subscriptions?q=sub_3", headers=ADMIN)).json())[
        "items"
    ]
    assert items[0] == {
        "subscription_id": "sub_3",
        "customer": {"id": "cus_9", "name": "Globex", "email": "ap@globex.example"},
        "tier": "premium",
        "seats_paid_for": 10,
        "status": "active",
        "term_end": "2027-01-15",
    }


async def test_search_takes_wildcards_literally_and_refuses_bad_queries(admin: Client) -> None:
    """A % or _ in the query is that character, not a wildcard; empty, long or control
    characters are 422."""
    await three_customers(admin)
    assert await found(admin, "50%_") == ["sub_4"]
    assert await found(admin, "%") == ["sub_4"]
    for q in ("", "   ", "x" * 201, "a\x00b", "a\nb"):
        resp = await admin.get("/admin/api/v1/subscriptions", params={"q": q}, headers=ADMIN)
        assert resp.status == 422, q
        assert resp.content_type == "application/problem+json"
    assert (await admin.get("/admin/api/v1/subscriptions?q=acme")).status == 401


async def make_dead(client: Client, kind: str) -> int:
    async with client.app[ENGINE].begin() as conn:
        rows = await conn.execute(
            update(OutboxRow.__table__)
            .where(OutboxRow.__table__.c.kind == kind)
            .values(status="dead", attempts=30, last_error="out of attempts")
            .returning(OutboxRow.__table__.c.id)
        )
        [row_id] = rows.scalars().all()
    return int(row_id)


async def test_the_outbox_lists_by_status_and_requeues_dead_and_failed(admin: Client) -> None:
    """A dead email is listed as dead; requeue makes it pending with no attempts, once."""
    await post_event(admin, "subscription.created", created_data(), "e1")
    await settle(admin, "2026-01-16T12:00:00Z")
    dead = await make_dead(admin, "managing_users")
    listed = await (await admin.get("/admin/api/v1/outbox?status=dead", headers=ADMIN)).json()
    [item] = listed["items"]
    assert (item["id"], item["kind"], item["attempts"], item["last_error"]) == (
        dead,
        "managing_users",
        30,
        "out of attempts",
    )
    assert item["subject"] == "Managing users in your subscription"
    assert item["cause"] == {"occasion": "managing_users", "date": "2026-01-16"}

    resp = await admin.post(f"/admin/api/v1/outbox/{dead}/requeue", headers=ADMIN)
    assert resp.status == 202 and (await resp.json()) == {"id": dead, "status": "pending"}
    pending = await (await admin.get("/admin/api/v1/outbox?status=pending", headers=ADMIN)).json()
    assert {(i["id"], i["attempts"]) for i in pending["items"]} >= {(dead, 0)}
    assert (await admin.get("/admin/api/v1/outbox?status=dead", headers=ADMIN)).status == 200
    again = await admin.post(f"/admin/api/v1/outbox/{dead}/requeue", headers=ADMIN)
    assert again.status == 409 and again.content_type == "application/problem+json"


async def test_outbox_refusals(admin: Client) -> None:
    """An unknown status or limit is 422; an unknown or odd id is 404; no token is 401."""
    for query in ("", "?status=sent", "?status=dead&limit=0", "?status=dead&limit=1001",
                  "?status=dead&before=x"):  # fmt: skip
        assert (await admin.get(f"/admin/api/v1/outbox{query}", headers=ADMIN)).status == 422
    for row in ("999", "abc", "-1", "1" * 30):
        resp = await admin.post(f"/admin/api/v1/outbox/{row}/requeue", headers=ADMIN)
        assert resp.status == 404, row
    assert (await admin.get("/admin/api/v1/outbox?status=dead")).status == 401


async def test_pages_of_the_outbox_go_back_with_before(admin: Client) -> None:
    """``limit`` and ``before`` page through the newest first."""
    for n in range(3):
        await post_event(
            admin, "subscription.created", created_data(subscription_id=f"sub_{n}"), f"e{n}"
        )
    await settle(admin)
    first = (
        await (await admin.get("/admin/api/v1/outbox?status=pending&limit=2", headers=ADMIN)).json()
    )["items"]
    ids = [i["id"] for i in first]
    assert ids == sorted(ids, reverse=True) and len(ids) == 2
    rest = await admin.get(f"/admin/api/v1/outbox?status=pending&before={ids[-1]}", headers=ADMIN)
    assert [i["id"] for i in (await rest.json())["items"]] == [ids[-1] - 1]


async def test_the_view_includes_customer_events_and_opt_outs(admin: Client) -> None:
    """A new card of the customer is in the subscription's events; an opt-out is listed."""
    await post_event(admin, "subscription.created", created_data(), "e1")
    card = {
        "customer_id": "cus_1",
        "card": {"brand": "visa", "last4": "4242", "exp_month": 1, "exp_year": 2030},
    }
    await post_event(admin, "payment_method.updated", card, "c1")
    await settle(admin)
    from notify.db.models import Unsubscribe

    async with admin.app[ENGINE].begin() as conn:
        await conn.execute(
            Unsubscribe.__table__.insert().values(
                subscription_id="sub_1",
                address="billing@acme.example",
                created_at=__import__("datetime").datetime(
                    2026, 1, 20, tzinfo=__import__("datetime").UTC
                ),
            )
        )
    view = await (await admin.get("/admin/api/v1/subscriptions/sub_1", headers=ADMIN)).json()
    levels = {e["id"]: (e["level"], e["status"]) for e in view["events"]}
    assert levels == {"e1": ("subscription", "processed"), "c1": ("customer", "processed")}
    assert view["opt_outs"] == [
        {"address": "billing@acme.example", "created_at": "2026-01-20T00:00:00+00:00"}
    ]


async def test_an_opt_out_is_lifted_once_and_only_for_its_subscription(admin: Client) -> None:
    """DELETE …/opt-outs/{address} (any letter case) is 204 and the view lists it no more; the
    same address's opt-out of another subscription stays; again, or unknown, is 404."""
    await three_customers(admin)
    from notify.db.models import Unsubscribe

    when = __import__("datetime").datetime(2026, 1, 20, tzinfo=__import__("datetime").UTC)
    async with admin.app[ENGINE].begin() as conn:
        await conn.execute(
            Unsubscribe.__table__.insert(),
            [
                {"subscription_id": sub, "address": "billing@acme.example", "created_at": when}
                for sub in ("sub_1", "sub_2")
            ],
        )
    path = "/admin/api/v1/subscriptions/sub_1/opt-outs/Billing@Acme.example"
    assert (await admin.delete(path, headers=ADMIN)).status == 204
    again = await admin.delete(path, headers=ADMIN)
    assert again.status == 404 and again.content_type == "application/problem+json"
    assert (await admin.delete(path)).status == 401
    one = await (await admin.get("/admin/api/v1/subscriptions/sub_1", headers=ADMIN)).json()
    other = await (await admin.get("/admin/api/v1/subscriptions/sub_2", headers=ADMIN)).json()
    assert one["opt_outs"] == []
    assert [o["address"] for o in other["opt_outs"]] == ["billing@acme.example"]
