"""Delivery of the outbox through a real SMTP server, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import random
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from notify.config import Settings, SmtpSettings
from notify.db.engine import create_engine
from notify.db.models import OutboxRow, OutboxStatus, Suppression
from notify.delivery import outbox as outbox_db
from notify.delivery.outbox import Outcome
from notify.delivery.policy import (
    DEFAULT_POLICY,
    DeliveryPolicy,
    quick_retry_wait,
    retry_decision,
)
from notify.delivery.transports import FileTransport, SmtpTransport, Transport, eml_name
from notify.delivery.worker import Deliverer
from notify.mail.compose import Renders
from notify.metrics import Metrics
from tests.smtp import SmtpServer, smtp_server

OUTBOX = cast(Table, OutboxRow.__table__)
# Quick in-process retries without real waiting; everything else as in production.
FAST = DeliveryPolicy(retry_wait=0.0, retry_wait_max=0.0)
_numbers = itertools.count(1)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


class PlainRenderer:
    """A small renderer with the real one's shape: names the customer, shows the opt-out link."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def render(self, kind: str, context: Mapping[str, Any]) -> Rendered:
        self.calls.append((kind, dict(context)))
        if kind == "broken":
            raise KeyError("customer")
        name = str(context.get("customer_name", "Customer"))
        link = context.get("unsubscribe_url")
        footer = f"\nUnsubscribe: {link}" if link else ""
        return Rendered(
            subject=f"{kind.replace('_', ' ').capitalize()} for {name}",
            text=f"Hello {name},\nyour {kind} notice.{footer}\n",
            html=f"<p>Hello {html.escape(name)}, ünïcode ✓</p>",
        )


def settings_for(db_url: str, server: SmtpServer | None = None, **overrides: Any) -> Settings:
    smtp = None
    if server is not None:
        smtp = SmtpSettings(
            host=server.host,
            port=server.port,
            username=None,
            password=None,
            implicit_tls=False,
            starttls=False,
        )
    return Settings(database_url=db_url, smtp=smtp, public_url="http://notify.test", **overrides)


def now() -> datetime:
    return datetime.now(UTC)


async def add_rows(engine: AsyncEngine, count: int = 1, **overrides: Any) -> list[dict[str, Any]]:
    """Insert pending outbox rows shaped as the processor writes them; return their values."""
    rows = []
    for _ in range(count):
        n = next(_numbers)
        row: dict[str, Any] = {
            "idempotency_key": f"sub_1:subscription_confirmation:2026-01-15:{n}:a@example.com",
            "kind": "subscription_confirmation",
            "subscription_id": "sub_1",
            "recipient": "a@example.com",
            "context": json.dumps({"customer_name": "Acme Corp", "n": n}),
            "message_id": f"<n{n}.{random.getrandbits(32)}@notify.test>",
            "status": OutboxStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": now(),
            "created_at": now(),
        }
        row.update(overrides)
        if "recipient" in overrides and "idempotency_key" not in overrides:
            row["idempotency_key"] = f"sub_1:{row['kind']}:{n}:{row['recipient']}"
        rows.append(row)
    async with engine.begin() as conn:
        await conn.execute(OUTBOX.insert(), rows)
    return rows


async def row_of(engine: AsyncEngine, message_id: str) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(select(OUTBOX).where(OUTBOX.c.message_id == message_id))).one()


async def suppressed_addresses(engine: AsyncEngine) -> dict[str, str]:
    table = cast(Table, Suppression.__table__)
    async with engine.connect() as conn:
        result = await conn.execute(select(table.c.address, table.c.reason))
        return {address: reason for address, reason in result}


async def make_all_due(engine: AsyncEngine) -> None:
    """Stand in for the passing of time: every waiting row is due now."""
    async with engine.begin() as conn:
        await conn.execute(
            update(OUTBOX)
            .where(OUTBOX.c.status == OutboxStatus.PENDING)
            .values(next_attempt_at=now() - timedelta(seconds=1))
        )


async def drain(deliverer: Deliverer, limit: int = 50) -> int:
    """Run passes until one finds nothing due; return how many rows were handled."""
    total = 0
    for _ in range(limit):
        handled = await deliverer.run_once()
        if handled == 0:
            return total
        total += handled
    raise AssertionError("the outbox did not drain")


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    with smtp_server() as running:
        yield running


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    yield engine
    await engine.dispose()


class World:
    """A deliverer wired to the real SMTP server, and what a test inspects afterwards."""

    def __init__(self, engine: AsyncEngine, settings: Settings, transport: Transport) -> None:
        self.engine = engine
        self.settings = settings
        self.transport = transport
        self.renderer: Renders = PlainRenderer()
        self.metrics = Metrics()

    def deliverer(self, owner: str = "worker-a", **kwargs: Any) -> Deliverer:
        kwargs.setdefault("policy", FAST)
        return Deliverer(
            self.engine,
            self.renderer,
            self.transport,
            self.settings,
            self.metrics,
            owner,
            rng=random.Random(7),
            **kwargs,
        )

    def metric(self, name: str, **labels: str) -> float:
        value = self.metrics.registry.get_sample_value(name, labels)
        return 0.0 if value is None else float(value)


@asynccontextmanager
async def smtp_world(db_url: str, server: SmtpServer, **overrides: Any) -> AsyncIterator[World]:
    """A World on its own engine, delivering to ``server`` (settings as ``overrides`` say)."""
    engine = create_engine(db_url)
    settings = settings_for(db_url, server, **overrides)
    assert settings.smtp is not None
    transport = SmtpTransport(settings.smtp, timeout=10)
    try:
        yield World(engine, settings, transport)
    finally:
        await transport.close()
        await engine.dispose()


@pytest.fixture
async def world(db_url: str, server: SmtpServer) -> AsyncIterator[World]:
    async with smtp_world(db_url, server) as world:
        yield world


async def test_one_email_is_delivered_with_every_header(world: World, server: SmtpServer) -> None:
    """A pending row goes out once as multipart/alternative (text first), with the row's
    Message-ID and the kind, subscription and idempotency headers; the row is sent."""
    [row] = await add_rows(world.engine)
    assert await drain(world.deliverer()) == 1

    [received] = server.received
    message = received.message
    assert received.recipient == "a@example.com"
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    assert "Hello Acme Corp" in parts[0].get_content()
    assert "ünïcode ✓" in parts[1].get_content()
    assert message["From"] == "GitLab <billing@localhost>"
    assert message["To"] == "a@example.com"
    assert message["Subject"] == "Subscription confirmation for Acme Corp"
    assert message["Date"]
    assert message["Message-ID"] == row["message_id"]
    assert message["X-Notify-Kind"] == "subscription_confirmation"
    assert message["X-Notify-Subscription"] == "sub_1"
    assert message["X-Notify-Idempotency-Key"] == row["idempotency_key"]
    assert message["List-Unsubscribe"] is None
    assert message["List-Unsubscribe-Post"] is None

    stored = await row_of(world.engine, row["message_id"])
    assert (stored.status, stored.attempts, stored.last_error) == ("sent", 1, None)
    assert stored.sent_at is not None and stored.lease_expires_at is None
    assert (
        world.metric("notify_notifications_total", kind="subscription_confirmation", status="sent")
        == 1
    )
    assert world.metric("notify_delivery_attempts_total", result="sent") == 1
    assert world.metric("notify_delivery_seconds_count") == 1
    assert world.metric("notify_outbox_depth", status="pending") == 0


async def test_a_waiter_on_the_next_pass_returns_when_a_pass_ends(
    world: World, server: SmtpServer
) -> None:
    """``pass_finished`` returns once the next pass has recorded what it claimed, and not
    before a pass ends; a pass that found nothing ends too."""
    [row] = await add_rows(world.engine)
    deliverer = world.deliverer()
    waiter = asyncio.create_task(deliverer.pass_finished())
    await asyncio.sleep(0)  # the waiter is waiting now
    assert not waiter.done()
    assert await deliverer.run_once() == 1
    await asyncio.wait_for(waiter, 5)
    assert len(server.received) == 1
    assert (await row_of(world.engine, row["message_id"])).status == OutboxStatus.SENT

    idle = asyncio.create_task(deliverer.pass_finished())
    await asyncio.sleep(0)
    assert await deliverer.run_once() == 0
    await asyncio.wait_for(idle, 5)


async def test_a_451_then_success_delivers_once(world: World, server: SmtpServer) -> None:
    """A temporary refusal is retried in the same pass; the message arrives once and the row
    counts both tries."""
    server.fail_next(1, "451 4.3.0 Greylisted")
    [row] = await add_rows(world.engine)
    assert await drain(world.deliverer()) == 1

    assert server.message_ids() == [row["message_id"]]
    assert server.offered == 2
    stored = await row_of(world.engine, row["message_id"])
    assert (stored.status, stored.attempts, stored.last_error) == ("sent", 2, None)
    assert world.metric("notify_delivery_attempts_total", result="transient") == 1
    assert world.metric("notify_delivery_attempts_total", result="sent") == 1


async def test_quick_retries_wait_between_tries_as_the_policy_says(
    world: World, server: SmtpServer
) -> None:
    """Two temporary refusals, then success, all in one pass: it waited after each refusal."""
    server.fail_next(2, "451 4.3.0 Greylisted")
    [row] = await add_rows(world.engine)
    policy_ = DeliveryPolicy(tries=3, retry_wait=0.15, retry_wait_max=0.2)
    started = time.monotonic()
    assert await drain(world.deliverer(policy=policy_)) == 1
    waited = time.monotonic() - started

    assert waited >= quick_retry_wait(1, policy_) + quick_retry_wait(2, policy_)
    assert server.offered == 3 and server.message_ids() == [row["message_id"]]
    stored = await row_of(world.engine, row["message_id"])
    assert (stored.status, stored.attempts) == ("sent", 3)


def test_quick_retry_waits_double_up_to_their_cap() -> None:
    policy_ = DeliveryPolicy(retry_wait=0.2, retry_wait_max=1.0)
    assert [quick_retry_wait(n, policy_) for n in (1, 2, 3, 4, 5)] == [0.2, 0.4, 0.8, 1.0, 1.0]


async def test_a_550_fails_suppresses_and_is_never_retried(
    world: World, server: SmtpServer
) -> None:
    """A permanent refusal marks the row failed and suppresses the address; a later email to
    that address is recorded as suppressed without contacting the server."""
    server.refuse("gone@example.com", "550 5.1.1 No such user")
    [row] = await add_rows(world.engine, recipient="gone@example.com")
    deliverer = world.deliverer()
    assert await drain(deliverer) == 1

    stored = await row_of(world.engine, row["message_id"])
    assert (stored.status, stored.attempts) == ("failed", 1)
    assert "550" in stored.last_error
    assert "550" in (await suppressed_addresses(world.engine))["gone@example.com"]
    assert server.rcpt_seen == ["gone@example.com"]

    await make_all_due(world.engine)
    assert await drain(deliverer) == 0

    [later] = await add_rows(world.engine, recipient="Gone@Example.com")
    assert await drain(deliverer) == 1
    stored = await row_of(world.engine, later["message_id"])
    assert (stored.status, stored.attempts) == ("suppressed", 0)
    assert stored.last_error.startswith("suppressed: 550")
    assert server.rcpt_seen == ["gone@example.com"]
    assert (
        world.metric(
            "notify_notifications_total", kind="subscription_confirmation", status="suppressed"
        )
        == 1
    )


async def test_server_down_keeps_rows_pending_then_delivers_them_all(
    world: World, server: SmtpServer
) -> None:
    """While the server is down rows wait with growing backoff and their error; once it is back
    and they are due, every one is delivered exactly once."""
    rows = await add_rows(world.engine, 5)
    server.stop()
    deliverer = world.deliverer()
    first_pass = now()
    assert await deliverer.run_once() == 5
    first_waits = []
    for row in rows:
        stored = await row_of(world.engine, row["message_id"])
        assert (stored.status, stored.attempts) == ("pending", FAST.tries)
        assert stored.last_error.startswith("SMTPConnectError")
        first_waits.append(stored.next_attempt_at - first_pass)
    assert min(first_waits) > timedelta(0)
    assert await deliverer.run_once() == 0  # not due yet: the backoff holds
    assert world.metric("notify_outbox_depth", status="pending") == 5

    await make_all_due(world.engine)
    second_pass = now()
    assert await deliverer.run_once() == 5  # still down: a second pass, a longer wait
    for row in rows:
        stored = await row_of(world.engine, row["message_id"])
        assert stored.attempts == 2 * FAST.tries
        assert stored.next_attempt_at - second_pass > max(first_waits)

    server.start()
    await make_all_due(world.engine)
    assert await drain(deliverer) == 5
    assert sorted(server.message_ids()) == sorted(r["message_id"] for r in rows)
    for row in rows:
        assert (await row_of(world.engine, row["message_id"])).status == "sent"
    assert world.metric("notify_outbox_depth", status="pending") == 0


async def test_the_connection_is_reused_and_reopened_after_the_server_closed_it(
    world: World, server: SmtpServer
) -> None:
    """Messages share one SMTP connection; after a server restart the next message goes out on
    a new connection without failing."""
    rows = await add_rows(world.engine, 3)
    await drain(world.deliverer(policy=DeliveryPolicy(concurrency=1, retry_wait=0.0)))
    assert len({r.peer for r in server.received}) == 1

    server.stop()
    server.start()
    [late] = await add_rows(world.engine)
    await drain(world.deliverer(policy=DeliveryPolicy(concurrency=1, tries=1)))
    assert server.message_ids()[-1] == late["message_id"]
    assert len(server.received) == len(rows) + 1


async def test_a_lapsed_lease_is_claimed_again_and_the_late_record_is_refused(
    world: World, server: SmtpServer
) -> None:
    """A row whose worker's lease expired goes to another worker; the first worker's late
    result does not overwrite the newer attempt."""
    [row] = await add_rows(world.engine)
    start = now()
    lease = DEFAULT_POLICY.lease
    [first] = (await outbox_db.claim(world.engine, "worker-a#1", start, lease, 10)).rows
    assert (await outbox_db.claim(world.engine, "worker-b#1", start, lease, 10)).rows == []

    later = start + lease + timedelta(seconds=1)
    second = world.deliverer("worker-b", clock=lambda: later)
    assert await second.run_once() == 1
    assert server.message_ids() == [row["message_id"]]

    late = Outcome(
        id=first.id, kind=first.kind, status=OutboxStatus.PENDING, last_error="late worker"
    )
    assert await outbox_db.record(world.engine, "worker-a#1", [late], start) == set()
    stored = await row_of(world.engine, row["message_id"])
    assert (stored.status, stored.lease_owner, stored.attempts) == ("sent", "worker-b#1", 2)
    assert stored.last_error is None


async def test_lapsed_leases_are_looked_for_a_tenth_of_a_lease_apart_until_none_are_left(
    world: World, server: SmtpServer
) -> None:
    """A pass looks for expired leases when a tenth of a lease has gone by since it last found
    none; while it finds some, the next pass looks again, so a crashed worker's rows are all
    taken over however many passes that takes."""
    rows = await add_rows(world.engine, 5)
    start = now()
    lease = DEFAULT_POLICY.lease
    taken = await outbox_db.claim(world.engine, "crashed#1", start, lease, 5)
    assert len(taken.rows) == 5
    at = start + lease + timedelta(seconds=1)
    survivor = world.deliverer("survivor", clock=lambda: at)
    assert [await survivor.run_once(2) for _ in range(4)] == [2, 2, 1, 0]
    assert sorted(server.message_ids()) == sorted(row["message_id"] for row in rows)

    # Found none on its last pass: the next crash's rows wait for the next look.
    [late] = await add_rows(world.engine)
    await outbox_db.claim(world.engine, "crashed#2", at, timedelta(0), 1)
    assert await survivor.run_once(2) == 0
    at += lease / 10
    assert await survivor.run_once(2) == 1
    assert late["message_id"] in server.message_ids()


async def test_a_render_failure_fails_the_row_without_suppressing(
    world: World, server: SmtpServer
) -> None:
    """A template that cannot render fails its row; the address is not suppressed."""
    [row] = await add_rows(world.engine, kind="broken")
    assert await drain(world.deliverer()) == 1
    stored = await row_of(world.engine, row["message_id"])
    assert stored.status == "failed"
    assert stored.last_error.startswith("render failed: KeyError")
    assert await suppressed_addresses(world.engine) == {}
    assert server.received == []


async def test_rows_out_of_attempts_go_dead(world: World, server: SmtpServer) -> None:
    """The last allowed attempt failing transiently leaves the row dead, its error kept."""
    server.stop()
    tight = DeliveryPolicy(tries=1, max_attempts=2, retry_wait=0.0)
    [row] = await add_rows(world.engine)
    deliverer = world.deliverer(policy=tight)
    assert await deliverer.run_once() == 1
    assert (await row_of(world.engine, row["message_id"])).status == "pending"
    await make_all_due(world.engine)
    assert await deliverer.run_once() == 1
    stored = await row_of(world.engine, row["message_id"])
    assert (stored.status, stored.attempts) == ("dead", 2)
    assert stored.last_error
    assert world.metric("notify_outbox_depth", status="dead") == 1


async def test_file_transport_writes_one_eml_per_message(
    engine: AsyncEngine, tmp_path: Path, db_url: str
) -> None:
    """Without SMTP each email becomes a parseable .eml named after its Message-ID; sending the
    same message again replaces the file instead of adding one."""
    mail_dir = tmp_path / "mail" / "nested"
    world = World(engine, settings_for(db_url, mail_dir=mail_dir), FileTransport(mail_dir))
    rows = await add_rows(engine, 2)
    assert await drain(world.deliverer()) == 2

    files = sorted(mail_dir.glob("*.eml"))
    assert len(files) == 2
    parsed = [message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]
    assert sorted(str(m["Message-ID"]) for m in parsed) == sorted(r["message_id"] for r in rows)
    assert all(m.get_content_type() == "multipart/alternative" for m in parsed)

    async with engine.begin() as conn:
        await conn.execute(update(OUTBOX).values(status=OutboxStatus.PENDING))
    await make_all_due(engine)
    assert await drain(world.deliverer()) == 2
    assert sorted(mail_dir.glob("*.eml")) == files
    assert not list(mail_dir.glob(".*"))
    assert files[0].name == eml_name(str(parsed[0]["Message-ID"]))


def test_retry_decision_backs_off_with_jitter_and_gives_up() -> None:
    """Waits double per attempt within [half, full] of the nominal delay, stop growing at the
    cap, and the last attempt gives up."""
    rng = random.Random(1)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    policy_ = DeliveryPolicy(
        backoff_base=timedelta(seconds=10), backoff_cap=timedelta(minutes=10), max_attempts=12
    )
    for attempts, nominal in [(1, 10), (2, 20), (3, 40), (4, 80), (7, 600), (11, 600)]:
        for _ in range(20):
            decision = retry_decision(attempts, start, rng, policy_)
            assert not decision.give_up and decision.next_attempt_at is not None
            wait = (decision.next_attempt_at - start).total_seconds()
            assert nominal / 2 <= wait <= nominal
    waits = {retry_decision(3, start, rng, policy_).next_attempt_at for _ in range(20)}
    assert len(waits) > 10  # jitter spreads rows that failed together
    final = retry_decision(12, start, rng, policy_)
    assert final.give_up and final.next_attempt_at is None


class _Lines:
    """A renderer whose text has lines a 7bit part carries with care: SMTP's end-of-data
    line, a leading dot, trailing spaces, a bare CR."""

    TEXT = "Hello,\n.\n.hidden line\ntrailing spaces   \nbare\rreturn\n-- \nsignature\n"

    def render(self, kind: str, context: Mapping[str, Any]) -> Rendered:
        return Rendered(subject="Lines", text=self.TEXT, html="<p>\n.\n</p>")


async def test_a_7bit_part_arrives_through_smtp_line_for_line(
    world: World, server: SmtpServer
) -> None:
    """Through a real SMTP server: a line that is a lone dot does not end the data early, and
    every line arrives as rendered (a bare CR becomes a line end, as in every part)."""
    world.renderer = _Lines()
    await add_rows(world.engine)
    assert await drain(world.deliverer()) == 1
    [received] = server.received
    message = received.message
    assert [str(p["Content-Transfer-Encoding"]) for p in message.iter_parts()] == ["7bit", "7bit"]
    text, html = message.iter_parts()
    assert text.get_content().replace("\r\n", "\n") == _Lines.TEXT.replace("\r", "\n")
    assert html.get_content().replace("\r\n", "\n").rstrip("\n") == "<p>\n.\n</p>"
