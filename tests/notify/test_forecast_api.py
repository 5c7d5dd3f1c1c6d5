"""The forecast and the preview through HTTP: what the forecast says is what then happens."""

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
SUB = "/admin/api/v1/subscriptions/sub_1"


@pytest.fixture
async def admin(aiohttp_client: Callable[..., Awaitable[Client]], settings: Settings) -> Client:
    test_settings = dataclasses.replace(settings, test_clock=True)
    return await aiohttp_client(create_app(test_settings, run_migrations=False, run_worker=False))


async def post_event(client: Client, type_: str, data: dict[str, Any], at: str, msg: str) -> None:
    body = envelope(type_, data, timestamp=at)
    resp = await client.post("/webhooks", data=body, headers=signed_headers(body, msg_id=msg))
    assert resp.status == 202, await resp.text()


async def set_clock(client: Client, now: str) -> None:
    resp = await client.post("/admin/api/v1/clock", json={"now": now}, headers=ADMIN)
    assert resp.status == 200, await resp.text()


async def get(client: Client, path: str) -> Any:
    resp = await client.get(path, headers=ADMIN)
    assert resp.status == 200, await resp.text()
    return await resp.json()


def charges_of(view: dict[str, Any], after: str) -> list[dict[str, Any]]:
    """The admin view's invoices issued after ``after``, as the forecast shows a charge."""
    return [
        {
            "date": i["issued_on"],
            "purpose": i["purpose"],
            "currency": i["currency"],
            "total": i["total"],
            "lines": [
                {
                    "description": line["description"],
                    "amount": line["amount"]["amount"],
                    "explanation": line["explanation"],
                }
                for line in i["lines"]
            ],
        }
        for i in view["invoices"]
        if i["issued_on"] > after
    ]


def sent_after(view: dict[str, Any], after: str) -> list[dict[str, str]]:
    """The view's notifications of occasions after ``after``: one per notice, not per address."""
    seen: dict[tuple[str, str], None] = {}
    for n in view["notifications"]:
        cause = n["cause"]
        if "occasion" in cause and cause["date"] > after:
            seen[(cause["date"], n["kind"])] = None
    return [{"date": day, "kind": kind} for day, kind in seen]


async def live_through(client: Client, ahead: dict[str, Any]) -> None:
    """Move the clock to each date the forecast names, as time passes, with no other input."""
    for day in sorted(
        {n["date"] for n in ahead["notifications"]} | {c["date"] for c in ahead["charges"]}
    ):
        await set_clock(client, f"{day}T00:00:00Z")
    await set_clock(client, f"{ahead['through']}T23:59:59Z")


async def test_a_qsr_year_bills_what_its_forecast_said(admin: Client) -> None:
    """14 users on 10 seats in quarter 1: the forecast taken in February names the
    reconciliation invoice of 2026-04-22 (4 × $348.00 × 3/4 = $1,044.00) and every email to
    come; living through the year with no other input produces exactly those."""
    await post_event(admin, "subscription.created", created_data(), "2026-01-15T10:00:00Z", "e1")
    usage = {
        "subscription_id": "sub_1",
        "observed_at": "2026-02-20T08:00:00Z",
        "billable_users": 14,
    }
    await post_event(admin, "usage.reported", usage, "2026-02-20T08:00:00Z", "e2")
    await set_clock(admin, "2026-02-21T00:00:00Z")
    ahead = await get(admin, f"{SUB}/forecast?through=2027-02-01")
    assert ahead["as_of"] == "2026-02-21T00:00:00+00:00" and ahead["through"] == "2027-02-01"
    [qsr] = ahead["charges"]
    assert (qsr["date"], qsr["purpose"], qsr["total"]) == ("2026-04-22", "qsr", "1044.00")
    assert qsr["lines"][0]["explanation"]["formula"] == "4 users over × $348.00 × 3/4 quarters left"
    assert [n["kind"] for n in ahead["notifications"]] == [
        "qsr_notice",
        "qsr_reconciled",
        "auto_renewal_blocked",
        "subscription_expired",
    ]
    await live_through(admin, ahead)
    view = await get(admin, SUB)
    assert charges_of(view, "2026-02-21") == ahead["charges"]
    assert sent_after(view, "2026-02-21") == ahead["notifications"]


async def test_an_auto_renewing_year_bills_what_its_forecast_said(admin: Client) -> None:
    """No usage: the forecast names the renewal of 2027-01-15 (10 × $348.00) and its emails;
    the year then brings exactly those."""
    await post_event(admin, "subscription.created", created_data(), "2026-01-15T10:00:00Z", "e1")
    await set_clock(admin, "2026-01-20T00:00:00Z")
    ahead = await get(admin, f"{SUB}/forecast?through=2027-02-01")
    assert [(c["date"], c["purpose"], c["total"]) for c in ahead["charges"]] == [
        ("2027-01-15", "renewal", "3480.00")
    ]
    assert ahead["notifications"] == [
        {"date": "2026-12-31", "kind": "auto_renewal_upcoming"},
        {"date": "2027-01-15", "kind": "renewal_confirmation"},
        {"date": "2027-01-16", "kind": "managing_users"},
    ]
    assert len(ahead["assumptions"]) >= 4
    await live_through(admin, ahead)
    view = await get(admin, SUB)
    assert charges_of(view, "2026-01-20") == ahead["charges"]
    assert sent_after(view, "2026-01-20") == ahead["notifications"]


async def test_the_default_forecast_reaches_24_months_and_no_further(admin: Client) -> None:
    """Without ``through`` the forecast runs 24 months; later, earlier or odd dates are 422."""
    await post_event(admin, "subscription.created", created_data(), "2026-01-15T10:00:00Z", "e1")
    await set_clock(admin, "2026-01-20T00:00:00Z")
    ahead = await get(admin, f"{SUB}/forecast")
    assert ahead["through"] == "2028-01-20"
    assert [c["date"] for c in ahead["charges"]] == ["2027-01-15", "2028-01-15"]
    for through in ("2028-01-21", "2026-01-19", "20270101", "tomorrow", "2027-02-30"):
        resp = await admin.get(f"{SUB}/forecast?through={through}", headers=ADMIN)
        assert resp.status == 422, through
        assert resp.content_type == "application/problem+json"
        assert (await resp.json())["errors"][0]["field"] == "through"
    missing = await admin.get("/admin/api/v1/subscriptions/nope/forecast", headers=ADMIN)
    assert missing.status == 404


async def test_a_preview_shows_what_an_event_would_do_and_leaves_no_trace(admin: Client) -> None:
    """Seats added now: the prorated invoice and the confirmation, nothing stored or sent; the
    next real invoice still gets the next number of the gapless sequence."""
    await post_event(admin, "subscription.created", created_data(), "2026-01-15T10:00:00Z", "e1")
    await set_clock(admin, "2026-07-15T00:00:00Z")
    before = await get(admin, SUB)
    seats = {"seats": 2, "effective_date": "2026-07-15"}
    resp = await admin.post(
        f"{SUB}/preview", json={"type": "subscription.seats_added", "data": seats}, headers=ADMIN
    )
    assert resp.status == 200, await resp.text()
    seen = await resp.json()
    # 2 × 348.00 × 184 / 365 = 350.86
    assert seen["invoice"]["total"] == "350.86"
    assert seen["invoice"]["lines"][0]["explanation"]["rule"] == "proration.seats"
    assert (seen["rejected"], seen["notifications"]) == (None, ["seats_added"])
    assert await get(admin, SUB) == before
    data = {"subscription_id": "sub_1", **seats}
    await post_event(admin, "subscription.seats_added", data, "2026-07-15T09:00:00Z", "e2")
    await set_clock(admin, "2026-07-16T00:00:00Z")
    numbers = [i["number"] for i in (await get(admin, SUB))["invoices"]]
    assert numbers == ["INV-000001", "INV-000002"]


async def test_a_preview_names_a_refusal_and_resolves_invoice_numbers(admin: Client) -> None:
    """A downgrade is refused with its code; a payment of the purchase invoice by its number
    is shown as accepted, with its receipt, one of a number that does not exist as refused."""
    await post_event(admin, "subscription.created", created_data(), "2026-01-15T10:00:00Z", "e1")
    await set_clock(admin, "2026-02-01T00:00:00Z")
    down = {
        "type": "subscription.upgraded",
        "data": {"tier": "premium", "effective_date": "2026-02-01"},
    }
    seen = await (await admin.post(f"{SUB}/preview", json=down, headers=ADMIN)).json()
    assert seen["rejected"]["code"] == "not_an_upgrade" and seen["invoice"] is None
    paid = {"invoice_number": "INV-000001", "amount": "3480.00", "currency": "USD"}
    seen = await (
        await admin.post(
            f"{SUB}/preview", json={"type": "payment.succeeded", "data": paid}, headers=ADMIN
        )
    ).json()
    # Paying sends the receipt; nothing is invoiced.
    assert (seen["rejected"], seen["invoice"], seen["notifications"]) == (
        None,
        None,
        ["payment_receipt"],
    )
    wrong = {**paid, "invoice_number": "INV-000042"}
    seen = await (
        await admin.post(
            f"{SUB}/preview", json={"type": "payment.succeeded", "data": wrong}, headers=ADMIN
        )
    ).json()
    assert seen["rejected"]["code"] == "invoice_not_open"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (b"not json", 400, None),
        (b'{"type": "subscription.seats_added"}', 400, None),
        (b'{"type": "subscription.seats_added", "data": {"seats": 0}}', 422, "data.seats"),
        (
            b'{"type": "subscription.seats_added", "data": {"subscription_id": "sub_2",'
            b' "seats": 1, "effective_date": "2026-02-01"}}',
            422,
            "data.subscription_id",
        ),
        (b'{"type": "subscription.seats_added", "data": {}, "extra": 1}', 400, None),
    ],
)
async def test_bad_preview_bodies_get_the_webhook_answers(
    admin: Client, body: bytes, status: int, field: str | None
) -> None:
    """Not JSON, a malformed envelope, invalid data, another subscription: problem+json."""
    await post_event(admin, "subscription.created", created_data(), "2026-01-15T10:00:00Z", "e1")
    await set_clock(admin, "2026-02-01T00:00:00Z")
    resp = await admin.post(
        f"{SUB}/preview", data=body, headers={**ADMIN, "Content-Type": "application/json"}
    )
    assert resp.status == status
    assert resp.content_type == "application/problem+json"
    if field is not None:
        assert field in [e["field"] for e in (await resp.json())["errors"]]


async def test_a_preview_of_an_unknown_subscription_is_404_unless_it_creates_it(
    admin: Client,
) -> None:
    """A subscription that does not exist can only be previewed being created."""
    seats = {
        "type": "subscription.seats_added",
        "data": {"seats": 1, "effective_date": "2026-02-01"},
    }
    assert (await admin.post(f"{SUB}/preview", json=seats, headers=ADMIN)).status == 404
    data = created_data()
    del data["subscription_id"]
    seen = await (
        await admin.post(
            f"{SUB}/preview", json={"type": "subscription.created", "data": data}, headers=ADMIN
        )
    ).json()
    assert seen["invoice"]["purpose"] == "purchase" and seen["invoice"]["total"] == "3480.00"
    assert seen["notifications"] == ["subscription_confirmation"]
    assert (await admin.get(SUB, headers=ADMIN)).status == 404
