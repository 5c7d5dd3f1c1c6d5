"""The real ``notify`` process: first start on the embedded defaults, and crash durability."""

from __future__ import annotations

import base64
import sqlite3
from pathlib import Path

import pytest

from tests.processes import http, running_service
from tests.support import SECRET_TEXT, created_data, envelope, signed_headers

pytestmark = pytest.mark.slow


def test_first_start_on_defaults_generates_a_secret_once(tmp_path: Path) -> None:
    """A new user's first start: SQLite in the working directory, a secret printed once and
    kept; a webhook signed with it is accepted, a forged one refused; the next start reuses the
    secret without printing it."""
    with running_service({}, tmp_path) as service:
        printed = [line.strip() for line in service.output if line.startswith("whsec_")]
        assert len(printed) == 1
        secret = base64.b64decode(printed[0].removeprefix("whsec_"))
        body = envelope("subscription.created", created_data())
        status, answer = http(
            "POST", service.url + "/webhooks", body, signed_headers(body, secret=secret)
        )
        assert (status, answer["status"]) == (202, "accepted")
        forged = signed_headers(body, secret=b"forged-secret-forged-secret-0000")
        assert http("POST", service.url + "/webhooks", body, forged)[0] == 401
        assert http("GET", service.url + "/readyz")[0] == 200
        # The contract's default sender works, but is said to be one no mail server trusts.
        assert any("notify.mail_from_default" in line for line in service.output)
    assert (tmp_path / "notify.db").exists()

    with running_service({}, tmp_path) as again:
        assert not [line for line in again.output if "whsec_" in line]
        body = envelope("subscription.created", created_data(subscription_id="sub_2"))
        status, _ = http("POST", again.url + "/webhooks", body, signed_headers(body, secret=secret))
        assert status == 202


def test_accepted_event_survives_sigkill(tmp_path: Path, db_url: str) -> None:
    """An event answered 202 is still there after the process is killed with SIGKILL at once."""
    url = db_url
    env = {"NOTIFY_DATABASE_URL": url, "NOTIFY_WEBHOOK_SECRETS": SECRET_TEXT}
    ids = [f"msg_kill_{i}" for i in range(20)]
    with running_service(env, tmp_path) as service:
        for i, msg_id in enumerate(ids):
            body = envelope("subscription.created", created_data(subscription_id=f"sub_{i}"))
            status, _ = http(
                "POST", service.url + "/webhooks", body, signed_headers(body, msg_id=msg_id)
            )
            assert status == 202
        service.kill()
    assert sorted(stored_ids(url)) == sorted(ids)


def stored_ids(url: str) -> list[str]:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1]
        with sqlite3.connect(path) as conn:
            return [r[0] for r in conn.execute("SELECT id FROM inbox_events")]
    import asyncio

    import asyncpg

    from tests.conftest import _dsn

    async def fetch() -> list[str]:
        conn = await asyncpg.connect(_dsn(url))
        try:
            return [r["id"] for r in await conn.fetch("SELECT id FROM inbox_events")]
        finally:
            await conn.close()

    return asyncio.run(fetch())
