"""The service under test in the whole-year scenarios, driven only through its outside interfaces.

The real application runs with its background work (processor, scheduler, delivery) and the
test clock on. A scenario posts signed webhooks, moves business time with
``POST /admin/api/v1/clock`` (a barrier: the work due by then is in the outbox when it answers),
reads what a real SMTP server accepted, and asks the admin API what the service did.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

from aiohttp.test_utils import TestClient
from sqlalchemy import Table, func, select

from notify.config import Settings
from notify.db.models import OutboxRow, OutboxStatus
from notify.keys import ENGINE, SERVICES
from tests.notify.test_admin import ADMIN
from tests.notify.test_delivery import settings_for
from tests.smtp import Received, SmtpServer
from tests.support import SECRET, created_data, envelope, new_id, signed_headers

OUTBOX = cast(Table, OutboxRow.__table__)
UNDER_WAY = (OutboxStatus.PENDING, OutboxStatus.SENDING)
DELIVERY_TIMEOUT = 60  # seconds; a bound for a failing test, not a measure of speed
CUSTOMER_NAME = created_data()["customer"]["name"]
# CONTRACT §4: the kinds that carry List-Unsubscribe; no other kind may.
REMINDERS = frozenset({"renewal_reminder", "auto_renewal_upcoming", "payment_method_expiring"})
_AMOUNT = re.compile(r"-?\$[0-9][0-9,]*\.[0-9]{2}")  # en: $1,234.56
# A label, two or more spaces, a value: the aligned summary lines of the text part.
_FIELD = re.compile(r"^(\S[^:\n]*?):[ \t]{2,}(\S.*)$", re.MULTILINE)


def scenario_settings(db_url: str, smtp: SmtpServer) -> Settings:
    """Settings of a service that delivers to ``smtp`` and has the test clock on."""
    return settings_for(
        db_url,
        smtp,
        webhook_secrets=(SECRET,),
        admin_token=ADMIN["Authorization"].removeprefix("Bearer "),
        test_clock=True,
    )


@dataclass(frozen=True)
class Mail:
    """One message the SMTP server accepted."""

    kind: str
    recipient: str
    subscription_id: str
    message_id: str
    idempotency_key: str
    subject: str
    text: str
    unsubscribe: str | None  # the List-Unsubscribe header

    @classmethod
    def of(cls, received: Received) -> Mail:
        """The message as a scenario reads it, once it is checked against CONTRACT §4."""
        message = received.message
        assert message.get_content_type() == "multipart/alternative"
        text, html = (cast(Any, part) for part in message.iter_parts())
        assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
        assert message["To"] == received.recipient
        plain, rich = text.get_content(), html.get_content()
        assert CUSTOMER_NAME in plain and CUSTOMER_NAME in rich
        assert {a for a in _AMOUNT.findall(plain) if a not in rich} == set()  # in both parts
        kind = str(message["X-Notify-Kind"])
        unsubscribe = message["List-Unsubscribe"]
        assert (unsubscribe is not None) == (kind in REMINDERS), kind
        if unsubscribe is not None:
            assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        return cls(
            kind=kind,
            recipient=received.recipient,
            subscription_id=str(message["X-Notify-Subscription"]),
            message_id=received.message_id,
            idempotency_key=str(message["X-Notify-Idempotency-Key"]),
            subject=str(message["Subject"]),
            text=plain.replace("\r\n", "\n"),
            unsubscribe=None if unsubscribe is None else str(unsubscribe),
        )

    @property
    def fields(self) -> dict[str, str]:
        """The summary lines of the text part (``Amount:   $783.00``) as label → value."""
        return {label: value.strip() for label, value in _FIELD.findall(self.text)}


def invoices(view: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(number, purpose, issued on, total) of each invoice in the admin view."""
    return [(i["number"], i["purpose"], i["issued_on"], i["total"]) for i in view["invoices"]]


def lines(invoice: dict[str, Any]) -> list[tuple[int, str, str, str]]:
    """(quantity, unit price, amount, service period) of each line of one invoice."""
    return [
        (
            line["quantity"],
            line["unit_price"]["amount"],
            line["amount"]["amount"],
            f"{line['service_period']['start']}..{line['service_period']['end']}",
        )
        for line in invoice["lines"]
    ]


def kinds(mails: Iterable[Mail]) -> list[str]:
    """The kinds of ``mails``, sorted: what arrived, whatever the order of delivery."""
    return sorted(mail.kind for mail in mails)


def sent_to(mails: Iterable[Mail]) -> list[tuple[str, str]]:
    """(kind, recipient) of ``mails``, sorted."""
    return sorted((mail.kind, mail.recipient) for mail in mails)


def one(mails: Iterable[Mail], kind: str, recipient: str | None = None) -> Mail:
    """The only mail of ``kind`` (to ``recipient``, if given) among ``mails``."""
    [found] = [m for m in mails if m.kind == kind and recipient in (None, m.recipient)]
    return found


class Service:
    """The application over HTTP, its test clock, and the SMTP server it delivers to."""

    def __init__(self, client: TestClient[Any, Any], smtp: SmtpServer) -> None:
        self.client = client
        self.smtp = smtp
        self.now: str | None = None
        self._handed_out = 0

    async def move_to(self, when: str) -> None:
        """Set the business clock; it answers once the work due by then is in the outbox."""
        resp = await self.client.post("/admin/api/v1/clock", json={"now": when}, headers=ADMIN)
        assert resp.status == 200, await resp.text()
        self.now = when

    async def post(self, type_: str, data: dict[str, Any], at: str) -> str:
        """Move the clock to the event's time, post the event signed; return its webhook id."""
        await self.move_to(at)
        msg_id = new_id()
        body = envelope(type_, data, timestamp=at)
        resp = await self.client.post(
            "/webhooks", data=body, headers=signed_headers(body, msg_id=msg_id)
        )
        assert resp.status == 202, await resp.text()
        return msg_id

    async def create(self, at: str, **overrides: Any) -> str:
        return await self.post("subscription.created", created_data(**overrides), at)

    async def usage(self, subscription_id: str, users: int, at: str) -> str:
        data = {"subscription_id": subscription_id, "observed_at": at, "billable_users": users}
        return await self.post("usage.reported", data, at)

    async def unsubscribe(self, mail: Mail) -> None:
        """What a mail client's one-click unsubscribe does with the message's header."""
        assert mail.unsubscribe is not None
        path = urlsplit(mail.unsubscribe.strip("<>")).path
        resp = await self.client.post(path, data=b"List-Unsubscribe=One-Click")
        assert resp.status == 200, await resp.text()

    async def view(self, subscription_id: str) -> dict[str, Any]:
        resp = await self.client.get(
            f"/admin/api/v1/subscriptions/{subscription_id}", headers=ADMIN
        )
        assert resp.status == 200, await resp.text()
        view: dict[str, Any] = await resp.json()
        return view

    async def new_mail(self) -> list[Mail]:
        """Every message accepted by the SMTP server since the last call, once the events
        posted so far are processed and the outbox has nothing left under way."""
        if self.now is not None:
            await self.move_to(self.now)  # the barrier, without moving time
        try:
            async with asyncio.timeout(DELIVERY_TIMEOUT):
                await self._outbox_settled()
        except TimeoutError:
            raise AssertionError(f"outbox rows still under way after {DELIVERY_TIMEOUT}s") from None
        received = self.smtp.received[self._handed_out :]
        self._handed_out += len(received)
        return [Mail.of(item) for item in received]

    def received(self) -> list[Mail]:
        """Every message the SMTP server accepted so far."""
        return [Mail.of(item) for item in self.smtp.received]

    async def _outbox_settled(self) -> None:
        deliverer = self.client.app[SERVICES].background.deliverer
        while await self._under_way():
            if deliverer is not None:
                await deliverer.pass_finished()
            else:
                # Worker processes send the rows: no event of this process tells of their
                # passes, so the outbox is read again every 20 ms.
                await asyncio.sleep(0.02)

    async def _under_way(self) -> int:
        query = select(func.count()).select_from(OUTBOX).where(OUTBOX.c.status.in_(UNDER_WAY))
        async with self.client.app[ENGINE].connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    def assert_each_message_once(self) -> None:
        """No Message-ID reached the SMTP server twice."""
        copies = Counter(self.smtp.message_ids())
        assert {mid: n for mid, n in copies.items() if n > 1} == {}


def explains(view: dict[str, Any], mails: Iterable[Mail]) -> None:
    """Every message received is one of the view's notifications, delivered, with attempts."""
    notes = {n["message_id"]: n for n in view["notifications"]}
    for mail in mails:
        note = notes.get(mail.message_id)
        assert note is not None, f"{mail.kind} to {mail.recipient} is not in the view"
        assert (note["kind"], note["recipient"]) == (mail.kind, mail.recipient)
        assert note["status"] == "sent"
        assert note["attempts"] >= 1 and note["last_error"] is None
