"""The real ``notify worker`` process: killed mid-delivery, and several sharing one outbox."""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from notify.db.engine import create_engine
from notify.db.models import OutboxStatus
from notify.delivery.policy import DEFAULT_POLICY
from tests.notify.test_delivery import OUTBOX, add_rows
from tests.notify.test_delivery_rendering import outbox_values, real_emails
from tests.processes import NOTIFY, _read_until
from tests.smtp import SmtpServer, smtp_server

pytestmark = pytest.mark.slow


@contextmanager
def running_workers(
    db_url: str,
    server: SmtpServer,
    cwd: Path,
    count: int = 1,
    settings: Mapping[str, str] | None = None,
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Start ``count`` ``notify worker`` processes together, with more ``NOTIFY_*`` settings if
    given; yield once every one runs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTIFY_")}
    env.update({"NOTIFY_DATABASE_URL": db_url, "NOTIFY_SMTP_URL": server.url, **(settings or {})})
    procs = [
        subprocess.Popen(
            [NOTIFY, "worker"], env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        for _ in range(count)
    ]
    try:
        for proc in procs:
            _read_until(proc, "running", [], timeout=60)
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
            assert proc.stdout is not None
            proc.stdout.close()


async def _fill(db_url: str, count: int) -> list[dict[str, Any]]:
    spec = real_emails()["subscription_confirmation"]
    engine = create_engine(db_url)
    try:
        return await add_rows(engine, count, **outbox_values(spec, "billing@acme.test"))
    finally:
        await engine.dispose()


async def _statuses(db_url: str) -> dict[str, int]:
    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            result = await conn.execute(
                select(OUTBOX.c.status, func.count()).group_by(OUTBOX.c.status)
            )
            return {status: count for status, count in result}
    finally:
        await engine.dispose()


async def _owners(db_url: str) -> set[str]:
    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            result = await conn.execute(select(OUTBOX.c.lease_owner).distinct())
            return {str(owner).rsplit("#", 1)[0] for (owner,) in result}
    finally:
        await engine.dispose()


async def _lapse_leases(db_url: str) -> None:
    """What waiting out the lease would do: the dead worker's rows become claimable."""
    engine = create_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                update(OUTBOX)
                .where(OUTBOX.c.status == OutboxStatus.SENDING)
                .values(lease_expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )
    finally:
        await engine.dispose()


def all_arrived(expected: set[str]) -> Any:
    return lambda server: expected <= set(server.message_ids())


def test_sigkill_during_delivery_then_restart_delivers_everything(
    db_url: str, tmp_path: Path
) -> None:
    """A worker killed with SIGKILL in the middle of an SMTP conversation loses nothing: after a
    restart every row is sent, and each message that arrived twice has one Message-ID."""
    rows = asyncio.run(_fill(db_url, 200))
    expected = {row["message_id"] for row in rows}
    killed = threading.Event()
    with smtp_server() as server, running_workers(db_url, server, tmp_path) as [first]:

        def kill_mid_conversation(_item: object) -> None:
            if len(server.received) >= 60 and not killed.is_set():
                killed.set()
                first.kill()  # before this message is answered

        server.on_message = kill_mid_conversation
        server.wait_until(lambda _: killed.is_set())
        first.wait(timeout=30)
        server.on_message = None
        statuses = asyncio.run(_statuses(db_url))
        assert statuses.get("sent", 0) < 200
        assert statuses.get("sending", 0) > 0

        asyncio.run(_lapse_leases(db_url))
        with running_workers(db_url, server, tmp_path):
            server.wait_until(all_arrived(expected), timeout=60)
        copies: dict[str, set[str]] = defaultdict(set)
        for item in server.received:
            copies[str(item.message["X-Notify-Idempotency-Key"])].add(item.message_id)

    assert asyncio.run(_statuses(db_url)) == {"sent": 200}
    assert {key: ids for key, ids in copies.items() if len(ids) != 1} == {}
    assert {row["idempotency_key"]: {row["message_id"]} for row in rows} == dict(copies)
    duplicates = len(server.received) - len(expected)
    assert 1 <= duplicates <= DEFAULT_POLICY.batch_size


def test_two_workers_deliver_each_message_once(db_url: str, tmp_path: Path) -> None:
    """Two workers on one database share 500 rows: every message arrives exactly once.

    On PostgreSQL both claim side by side, and both must have taken part. On SQLite claims take
    turns on the one write lock, and a worker that keeps up may take every row."""
    with smtp_server() as server, running_workers(db_url, server, tmp_path, count=2):
        rows = asyncio.run(_fill(db_url, 500))
        expected = {row["message_id"] for row in rows}
        server.wait_until(all_arrived(expected), timeout=60)
        received = server.message_ids()
    assert len(received) == len(set(received)) == 500
    assert asyncio.run(_statuses(db_url)) == {"sent": 500}
    owners = asyncio.run(_owners(db_url))
    assert len(owners) == 2 if db_url.startswith("postgresql") else len(owners) >= 1
