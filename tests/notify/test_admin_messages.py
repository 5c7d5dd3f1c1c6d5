"""A notification's message as sent: the admin API composes it again, byte for byte."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator

import pytest
from sqlalchemy import select, update

from notify.app import create_app
from notify.db.models import OutboxStatus
from notify.delivery.outbox import OUTBOX
from notify.keys import ENGINE, SERVICES
from tests.notify.conftest import Client
from tests.notify.test_admin import ADMIN
from tests.scenarios import Service, scenario_settings
from tests.smtp import SmtpServer, smtp_server


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture
async def service(
    smtp: SmtpServer, aiohttp_client: Callable[..., Awaitable[Client]], db_url: str
) -> Service:
    app = create_app(scenario_settings(db_url, smtp), run_migrations=False, run_worker=True)
    return Service(await aiohttp_client(app), smtp)


async def message(service: Service, row_id: int | str) -> tuple[int, str, bytes]:
    resp = await service.client.get(f"/admin/api/v1/notifications/{row_id}/message", headers=ADMIN)
    return resp.status, resp.content_type, await resp.read()


async def rows(service: Service) -> list[tuple[int, str, str]]:
    async with service.client.app[ENGINE].connect() as conn:
        found = await conn.execute(
            select(OUTBOX.c.id, OUTBOX.c.kind, OUTBOX.c.message_id).order_by(OUTBOX.c.id)
        )
        return [(i, kind, mid) for i, kind, mid in found]


async def test_a_sent_message_is_answered_byte_for_byte_as_the_server_received_it(
    service: Service, smtp: SmtpServer
) -> None:
    """Confirmation and reminder alike (a List-Unsubscribe URL signed per recipient): the
    endpoint's message is the bytes a real SMTP server accepted."""
    await service.create("2026-01-15T10:00:00Z", contacts=["ap@acme.example"], auto_renew=False)
    await service.move_to("2026-10-17T00:00:00Z")  # 90 days before term end: a reminder
    await service.new_mail()
    received = {item.message_id: item.raw for item in smtp.received}
    listed = await rows(service)
    assert {kind for _, kind, _ in listed} >= {"subscription_confirmation", "renewal_reminder"}
    assert len(received) == len(listed)
    for row_id, _kind, message_id in listed:
        status, content_type, data = await message(service, row_id)
        assert (status, content_type) == (200, "message/rfc822")
        assert data == received[message_id]


async def test_a_message_not_sent_yet_is_composed_as_its_next_attempt_will_be(
    service: Service, smtp: SmtpServer
) -> None:
    """While the server refuses for now, the row is pending: the endpoint shows it with its
    Message-ID; once it goes out, the endpoint shows what the server received."""
    smtp.fail_next(3)  # every try of the first pass
    await service.create("2026-01-15T10:00:00Z")
    await service.move_to("2026-01-15T10:00:00Z")  # the barrier: the row is in the outbox
    [(row_id, _kind, message_id)] = await rows(service)
    await until_attempts(service, row_id, 3)
    status, _type, pending = await message(service, row_id)
    assert status == 200
    assert f"Message-ID: {message_id}\r\n".encode() in pending
    assert smtp.received == []

    async with service.client.app[ENGINE].begin() as conn:
        await conn.execute(
            update(OUTBOX).where(OUTBOX.c.id == row_id).values(next_attempt_at=OUTBOX.c.created_at)
        )
    service.client.app[SERVICES].background.delivery_wakeup.set()
    [received] = await service.new_mail()
    assert (await message(service, row_id))[2] == smtp.received[0].raw
    assert received.message_id == message_id


async def until_attempts(service: Service, row_id: int, attempts: int) -> None:
    """Wait (bounded) until the worker has recorded ``attempts`` tries of the pending row."""
    query = select(OUTBOX.c.status, OUTBOX.c.attempts).where(OUTBOX.c.id == row_id)
    deliverer = service.client.app[SERVICES].background.deliverer
    assert deliverer is not None
    async with asyncio.timeout(60):
        while True:
            async with service.client.app[ENGINE].connect() as conn:
                status, tried = (await conn.execute(query)).one()
            if status == OutboxStatus.PENDING and tried == attempts:
                return
            await deliverer.pass_finished()


async def test_unknown_ids_are_404_and_a_context_that_no_longer_renders_is_409(
    service: Service,
) -> None:
    """Nothing is composed for an id that names no row; a row whose stored context the
    templates cannot render answers why, as problem+json."""
    await service.create("2026-01-15T10:00:00Z")
    await service.new_mail()
    for given in ("999999", "0", "abc", "99999999999"):
        status, content_type, _ = await message(service, given)
        assert (status, content_type) == (404, "application/problem+json")
    [(row_id, _kind, _mid), *_] = await rows(service)
    async with service.client.app[ENGINE].begin() as conn:
        await conn.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id == row_id)
            .values(context=json.dumps({"customer_name": "Acme"}), status=OutboxStatus.FAILED)
        )
    status, content_type, body = await message(service, row_id)
    assert (status, content_type) == (409, "application/problem+json")
    assert "does not render" in json.loads(body)["detail"]


async def test_the_message_needs_the_admin_token(service: Service) -> None:
    await service.create("2026-01-15T10:00:00Z")
    await service.new_mail()
    [(row_id, _kind, _mid), *_] = await rows(service)
    resp = await service.client.get(f"/admin/api/v1/notifications/{row_id}/message")
    assert resp.status == 401
