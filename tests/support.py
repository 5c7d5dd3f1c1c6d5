"""Builders for test data: signed webhook requests and valid event bodies, with overrides."""

from __future__ import annotations

import base64
import itertools
import json
import time
from typing import Any

from webhooks.signature import sign

SECRET_TEXT = "whsec_" + base64.b64encode(b"notify-test-secret-0123456789abc").decode()
SECRET = base64.b64decode(SECRET_TEXT.removeprefix("whsec_"))
_ids = itertools.count(1)


def new_id() -> str:
    return f"msg_{next(_ids):08d}"


def signed_headers(
    body: bytes, *, msg_id: str | None = None, secret: bytes = SECRET, timestamp: int | None = None
) -> dict[str, str]:
    msg_id = msg_id or new_id()
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(secret, msg_id, ts, body),
    }


def envelope(type_: str, data: dict[str, Any], timestamp: str = "2026-01-15T10:00:00Z") -> bytes:
    return json.dumps({"type": type_, "timestamp": timestamp, "data": data}).encode()


def created_data(**overrides: Any) -> dict[str, Any]:
    """A valid subscription.created payload; keys given as overrides replace the defaults."""
    data: dict[str, Any] = {
        "subscription_id": "sub_1",
        "customer": {"id": "cus_1", "name": "Acme Corp", "email": "billing@acme.example"},
        "deployment": "saas",
        "namespace_id": "ns_1",
        "tier": "premium",
        "seats": 10,
        "term_start": "2026-01-15",
        "term_end": "2027-01-15",
    }
    data.update(overrides)
    return data


class FixedClock:
    """A business clock that stands still until moved (the processor reads it per pass)."""

    def __init__(self, now: str = "2026-01-15T12:00:00+00:00") -> None:
        from datetime import datetime

        self.current = datetime.fromisoformat(now)

    async def now(self) -> Any:
        return self.current

    def set(self, when: str) -> None:
        from datetime import datetime

        self.current = datetime.fromisoformat(when)
