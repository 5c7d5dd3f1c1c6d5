"""Sample data for the console, sent to a running ``notify serve`` as upstream would send it.

Signed webhooks and the test clock only, through HTTP: three customers and what their first
months bring. Acme Corp (saas, 10 seats, a billing contact besides) reports 14 users and is
reconciled in April; Globex's address is refused by the mail server (a failed email, a
suppressed address); Initech (self-managed, not renewing) gets a renewal reminder, from which
its contact unsubscribes. The browser tests and ``scripts/screenshots`` use it alike.
"""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

from tests.processes import http
from tests.smtp import Received, SmtpServer
from tests.support import created_data, envelope, new_id, signed_headers

ADMIN_TOKEN = "admin-token-for-the-console"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"}
REFUSED = "ap@globex.example"
ACME = "sub_acme"


def env(url: str, smtp: SmtpServer, cwd: str) -> dict[str, str]:
    """The service's environment: the test clock, a real SMTP server, the admin token."""
    from tests.support import SECRET_TEXT

    return {
        "NOTIFY_DATABASE_URL": url,
        "NOTIFY_WEBHOOK_SECRETS": SECRET_TEXT,
        "NOTIFY_ADMIN_TOKEN": ADMIN_TOKEN,
        "NOTIFY_TEST_CLOCK": "1",
        "NOTIFY_SMTP_URL": smtp.url,
        "NOTIFY_MAIL_DIR": f"{cwd}/mail",
    }


def _clock(base: str, now: str) -> None:
    status, body = http(
        "POST", f"{base}/admin/api/v1/clock", json.dumps({"now": now}).encode(), ADMIN
    )
    assert status == 200, body


def _post(base: str, type_: str, data: dict[str, Any], at: str) -> None:
    _clock(base, at)
    body = envelope(type_, data, timestamp=at)
    request = urllib.request.Request(
        f"{base}/webhooks", data=body, method="POST", headers=signed_headers(body, msg_id=new_id())
    )
    with urllib.request.urlopen(request, timeout=30) as resp:
        assert resp.status == 202


def settle(base: str) -> None:
    """Wait (bounded) until nothing is pending or being sent."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        _status, body = http("GET", f"{base}/admin/api/v1/outbox?status=pending", headers=ADMIN)
        if not body["items"]:
            return
        time.sleep(0.05)
    raise TimeoutError("the outbox did not settle")


def _is_reminder(item: Received) -> bool:
    return item.message["X-Notify-Kind"] == "renewal_reminder"


def seed(base: str, smtp: SmtpServer) -> None:
    smtp.refuse(REFUSED, "550 5.1.1 <ap@globex.example>: no such user")
    start = "2026-01-15T10:00:00Z"
    acme = created_data(
        subscription_id=ACME,
        customer={"id": "cus_acme", "name": "Acme Corp", "email": "billing@acme.example"},
        contacts=["ap@acme.example"],
        namespace_id="acme-group",
        card={"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030},
    )
    _post(base, "subscription.created", acme, start)
    globex = created_data(
        subscription_id="sub_globex",
        customer={"id": "cus_globex", "name": "Globex", "email": REFUSED},
        namespace_id="globex",
        tier="ultimate",
        seats=25,
    )
    _post(base, "subscription.created", globex, "2026-01-20T09:00:00Z")
    initech = created_data(
        subscription_id="sub_initech",
        customer={"id": "cus_initech", "name": "Initech", "email": "billing@initech.example"},
        deployment="self_managed",
        namespace_id=None,
        instance_id="initech-eu-1",
        auto_renew=False,
        term_start="2025-07-01",
        term_end="2026-07-01",
        seats=40,
    )
    _post(base, "subscription.created", initech, "2026-01-25T09:00:00Z")
    usage = {"subscription_id": ACME, "observed_at": "2026-02-10T00:00:00Z", "billable_users": 12}
    _post(base, "usage.reported", usage, "2026-02-10T00:00:00Z")
    usage = {"subscription_id": ACME, "observed_at": "2026-03-01T00:00:00Z", "billable_users": 14}
    _post(base, "usage.reported", usage, "2026-03-01T00:00:00Z")
    _clock(base, "2026-04-23T00:00:00Z")
    smtp.wait_until(lambda server: any(_is_reminder(item) for item in server.received))
    reminder = next(item for item in smtp.received if _is_reminder(item))
    link = str(reminder.message["List-Unsubscribe"]).strip("<>")
    path = link.split("/unsubscribe/", 1)[1]
    request = urllib.request.Request(
        f"{base}/unsubscribe/{path}", data=b"List-Unsubscribe=One-Click", method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as resp:
        assert resp.status == 200
    usage = {"subscription_id": ACME, "observed_at": "2026-05-05T00:00:00Z", "billable_users": 15}
    _post(base, "usage.reported", usage, "2026-05-05T00:00:00Z")
    settle(base)
