"""Admin API: bearer auth, a subscription's whole story, and the test clock as a barrier."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from notify.app import create_app
from notify.config import Settings
from tests.notify.conftest import Client
from tests.support import created_data, envelope, signed_headers

ADMIN = {"Authorization": "Bearer admin-token-for-tests-0001"}


@pytest.fixture
async def admin(aiohttp_client: Callable[..., Awaitable[Client]], settings: Settings) -> Client:
    test_settings = dataclasses.replace(settings, test_clock=True)
    return await aiohttp_client(create_app(test_settings, run_migrations=False, run_worker=False))


async def post_event(
    client: Client, type_: str, data: dict[str, Any], at: str, msg_id: str
) -> None:
    body = envelope(type_, data, timestamp=at)
    resp = await client.post("/webhooks", data=body, headers=signed_headers(body, msg_id=msg_id))
    assert resp.status == 202


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic admin-token-for-tests-0001"}],
)
async def test_anything_but_the_admin_token_is_401(admin: Client, headers: dict[str, str]) -> None:
    for path in ("/admin/api/v1/subscriptions/sub_1", "/admin/api/v1/clock"):
        resp = await admin.get(path, headers=headers)
        assert resp.status == 401
        assert resp.content_type == "application/problem+json"


async def test_without_a_configured_token_nobody_gets_in(
    aiohttp_client: Callable[..., Awaitable[Client]], settings: Settings
) -> None:
    app = create_app(
        dataclasses.replace(settings, admin_token=None), run_migrations=False, run_worker=False
    )
    client = await aiohttp_client(app)
    resp = await client.get("/admin/api/v1/subscriptions/x", headers={"Authorization": "Bearer "})
    assert resp.status == 401


async def test_clock_is_404_when_disabled(client: Client) -> None:
    assert (await client.get("/admin/api/v1/clock", headers=ADMIN)).status == 404
    assert (
        await client.post(
            "/admin/api/v1/clock", json={"now": "2030-01-01T00:00:00Z"}, headers=ADMIN
        )
    ).status == 404


async def test_clock_moves_forward_only_and_is_a_barrier(admin: Client) -> None:
    """Setting the clock processes what was accepted and runs the scheduler up to the new time:
    at term end the auto-renewal's invoice and confirmation are already there."""
    await post_event(admin, "subscription.created", created_data(), "2026-01-15T10:00:00Z", "e1")
    resp = await admin.post(
        "/admin/api/v1/clock", json={"now": "2026-01-15T12:00:00Z"}, headers=ADMIN
    )
    assert resp.status == 200
    assert (await resp.json())["now"] == "2026-01-15T12:00:00+00:00"
    assert (await (await admin.get("/admin/api/v1/clock", headers=ADMIN)).json())[
        "now"
    ] == "2026-01-15T12:00:00+00:00"

    view = await (await admin.get("/admin/api/v1/subscriptions/sub_1", headers=ADMIN)).json()
    assert view["events"][0]["status"] == "processed"
    assert [i["number"] for i in view["invoices"]] == ["INV-000001"]

    resp = await admin.post(
        "/admin/api/v1/clock", json={"now": "2027-01-15T00:00:00Z"}, headers=ADMIN
    )
    assert resp.status == 200
    view = await (await admin.get("/admin/api/v1/subscriptions/sub_1", headers=ADMIN)).json()
    state = view["state"]
    assert (state["term_start"], state["term_end"]) == ("2027-01-15", "2028-01-15")
    assert [i["purpose"] for i in view["invoices"]] == ["purchase", "renewal"]
    # 10 seats × 348.00 = 3,480.00 for the new term
    assert view["invoices"][1]["total"] == "3480.00"
    kinds = [n["kind"] for n in view["notifications"]]
    assert "auto_renewal_upcoming" in kinds and "renewal_confirmation" in kinds

    back = await admin.post(
        "/admin/api/v1/clock", json={"now": "2026-06-01T00:00:00Z"}, headers=ADMIN
    )
    assert back.status == 409
    bad = await admin.post("/admin/api/v1/clock", json={"now": "tomorrow"}, headers=ADMIN)
    assert bad.status == 422


async def test_subscription_view_explains_rejections_and_holds(admin: Client) -> None:
    await post_event(admin, "subscription.created", created_data(), "2026-01-15T10:00:00Z", "e1")
    upgrade = {"subscription_id": "sub_1", "tier": "premium", "effective_date": "2026-03-01"}
    await post_event(admin, "subscription.upgraded", upgrade, "2026-03-01T00:00:00Z", "e2")
    seats = {"subscription_id": "sub_9", "seats": 2, "effective_date": "2026-03-01"}
    await post_event(admin, "subscription.seats_added", seats, "2026-03-01T00:00:00Z", "e3")
    await admin.post("/admin/api/v1/clock", json={"now": "2026-03-02T00:00:00Z"}, headers=ADMIN)

    view = await (await admin.get("/admin/api/v1/subscriptions/sub_1", headers=ADMIN)).json()
    statuses = {e["id"]: (e["status"], e["reason"]) for e in view["events"]}
    assert statuses["e1"] == ("processed", None)
    assert statuses["e2"][0] == "rejected" and statuses["e2"][1]
    state = view["state"]
    for field in (
        "tier",
        "seats_paid_for",
        "term_start",
        "term_end",
        "max_users",
        "billable_users",
        "status",
        "auto_renew",
        "qsr_eligible",
    ):
        assert field in state
    assert [(n["kind"], n["recipient"], n["status"]) for n in view["notifications"]] == [
        ("subscription_confirmation", "billing@acme.example", "pending"),
        ("managing_users", "billing@acme.example", "pending"),
    ]

    held = await (await admin.get("/admin/api/v1/subscriptions/sub_9", headers=ADMIN)).json()
    assert held["state"] is None
    assert held["events"][0]["status"] == "held"
    missing = await admin.get("/admin/api/v1/subscriptions/nope", headers=ADMIN)
    assert missing.status == 404


async def test_every_charge_and_message_in_the_view_says_why(admin: Client) -> None:
    """Each invoice carries its cause and each line its rule, formula and inputs (the usage
    report that set the quarter's maximum included); each notification its cause and subject;
    each event its data as received."""
    await post_event(admin, "subscription.created", created_data(), "2026-01-15T10:00:00Z", "e1")
    usage = {
        "subscription_id": "sub_1",
        "observed_at": "2026-02-20T08:00:00Z",
        "billable_users": 14,
    }
    await post_event(admin, "usage.reported", usage, "2026-02-20T08:00:00Z", "e2")
    seats = {"subscription_id": "sub_1", "seats": 2, "effective_date": "2026-03-01"}
    await post_event(admin, "subscription.seats_added", seats, "2026-03-01T09:00:00Z", "e3")
    await admin.post("/admin/api/v1/clock", json={"now": "2026-04-23T00:00:00Z"}, headers=ADMIN)

    view = await (await admin.get("/admin/api/v1/subscriptions/sub_1", headers=ADMIN)).json()
    assert {e["id"]: e["data"] for e in view["events"]}["e2"] == usage
    invoices = {i["purpose"]: i for i in view["invoices"]}
    assert invoices["purchase"]["cause"] == {"event_id": "e1"}
    assert invoices["seats_added"]["cause"] == {"event_id": "e3"}
    assert invoices["qsr"]["cause"] == {"occasion": "qsr_invoice", "date": "2026-04-22"}
    for invoice in view["invoices"]:
        for line in invoice["lines"]:
            assert set(line["explanation"]) == {"rule", "formula", "inputs"}
    [purchase] = invoices["purchase"]["lines"]
    assert purchase["explanation"]["rule"] == "purchase"
    assert purchase["explanation"]["formula"] == "10 seats × $348.00"
    [added] = invoices["seats_added"]["lines"]
    assert added["explanation"]["rule"] == "proration.seats"
    # 2 × 348.00 × 320 / 365 = 610.19
    assert added["explanation"]["formula"] == "2 seats added × $348.00 × 320/365 days left"
    assert added["amount"]["amount"] == "610.19"
    [reconciled] = invoices["qsr"]["lines"]
    explanation = reconciled["explanation"]
    # max 14 users in quarter 1 on 12 seats paid for now: 2 × 348.00 × 3/4 = 522.00
    assert explanation["rule"] == "qsr.overage"
    assert explanation["formula"] == "2 users over × $348.00 × 3/4 quarters left"
    assert explanation["inputs"]["max_set_by"] == [
        {"observed_at": "2026-02-20T08:00:00+00:00", "users": 14}
    ]
    assert (explanation["inputs"]["quarter"], explanation["inputs"]["seats_paid_for"]) == (1, 12)
    assert reconciled["amount"]["amount"] == "522.00"

    by_kind = {n["kind"]: n for n in view["notifications"]}
    assert by_kind["subscription_confirmation"]["cause"] == {"event_id": "e1"}
    assert by_kind["managing_users"]["cause"] == {
        "occasion": "managing_users",
        "date": "2026-01-16",
    }
    assert by_kind["qsr_notice"]["cause"] == {"occasion": "qsr_notice", "date": "2026-04-15"}
    assert by_kind["qsr_notice"]["subject"] == (
        "Important information about your GitLab subscription"
    )
    assert all(n["subject"] and n["cause"] for n in view["notifications"])
