"""The inbox: durable receipt of webhooks, deduplicated, with group commit.

Concurrent requests hand their receipts to one writer task, which inserts everything waiting in a
single transaction and then answers every request of that batch. A commit costs the same for one
row or a few hundred, so under load the batches grow and throughput follows the disk's
bandwidth rather than its commit latency. Nothing is answered before its commit.

Deduplication is the primary key on the webhook id, enforced inside the same insert
(``ON CONFLICT DO NOTHING``); for ids that were there already the stored body hash tells a
duplicate (same body) from a conflict (different body). Several processes may write the same
database: the database's unique key, not this process, is the arbiter.

Errors::

    StorageUnavailable   the batch could not be committed (database down); the sender retries
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import cast

from sqlalchemy import Connection, Executable, Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from notify import codec
from notify.db.clauses import one_of
from notify.db.engine import dialect_insert, write_in_one_call
from notify.db.models import EventStatus, InboxEvent
from notify.intake import Intake
from webhooks.receipt import Answer, Receipt, StorageUnavailable

log = logging.getLogger(__name__)

_TABLE = cast(Table, InboxEvent.__table__)
# The stored body hash of ids already received (a sender's retry, or the same id twice).
_STORED_HASHES = select(_TABLE.c.id, _TABLE.c.body_sha256).where(one_of(_TABLE.c.id, "ids"))
# Bounded so one transaction stays short even under a flood; the rest waits for the next batch.
MAX_BATCH = 1000


def _row(receipt: Receipt) -> dict[str, object]:
    return {
        "id": receipt.id,
        "type": receipt.type,
        "occurred_at": receipt.occurred_at,
        "received_at": receipt.received_at,
        "body": receipt.body,
        "body_sha256": receipt.body_sha256,
        "status": EventStatus.ACCEPTED if receipt.known else EventStatus.IGNORED,
        "subscription_id": receipt.subscription_id,
        "customer_id": receipt.customer_id,
        "command": None if receipt.command is None else codec.dumps(receipt.command),
    }


_Pending = tuple[Receipt, "asyncio.Future[Answer]"]


class Inbox:
    """Stores receipts in shared transactions. Run :meth:`run` as a task for its lifetime."""

    def __init__(
        self,
        engine: AsyncEngine,
        on_stored: Callable[[], None] = lambda: None,
        intake: Intake | None = None,
    ) -> None:
        self._engine = engine
        self._on_stored = on_stored
        self._intake = intake or Intake()
        self._pending: list[_Pending] = []
        self._wakeup = asyncio.Event()
        self._insert = _insert_statement(engine.dialect.name)
        self._inflight: asyncio.Future[None] | None = None
        self.batches = 0

    async def submit(self, receipt: Receipt) -> Answer:
        """Store ``receipt`` (or recognise it as a duplicate) and return the answer once durable."""
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._pending.append((receipt, future))
        self._intake.arrived()
        self._intake.waiting += 1
        self._wakeup.set()
        try:
            return await future
        finally:
            self._intake.waiting -= 1

    async def run(self) -> None:
        """Write batches until cancelled; a batch in flight is finished before stopping."""
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                batch = self._pending[:MAX_BATCH]
                del self._pending[:MAX_BATCH]
                # Shielded: cancelling the writer mid-commit must not leave requests hanging;
                # stop_writer() waits for this write before the engine goes away.
                self._inflight = asyncio.ensure_future(self._write(batch))
                await asyncio.shield(self._inflight)

    async def drain(self) -> None:
        """Write whatever is waiting (used at shutdown, after the HTTP server stops)."""
        while self._pending:
            batch = self._pending[:MAX_BATCH]
            del self._pending[:MAX_BATCH]
            await self._write(batch)

    async def _write(self, batch: Sequence[_Pending]) -> None:
        first: dict[str, Receipt] = {}
        for receipt, _ in batch:
            first.setdefault(receipt.id, receipt)
        try:
            stored = await self._store(list(first.values()))
        except Exception as exc:
            log.warning("inbox.write_failed", exc_info=True)
            for _, future in batch:
                if not future.done():
                    future.set_exception(StorageUnavailable(str(exc)))
            return
        self.batches += 1
        self._on_stored()
        inserted_by: dict[str, Receipt] = {}
        for receipt, future in batch:
            if future.done():  # the request went away; its row is stored all the same
                continue
            inserted, sha = stored[receipt.id]
            if inserted and first[receipt.id] is receipt and receipt.id not in inserted_by:
                inserted_by[receipt.id] = receipt
                future.set_result(Answer.ACCEPTED if receipt.known else Answer.IGNORED)
            elif receipt.body_sha256 == sha:
                future.set_result(Answer.DUPLICATE)
            else:
                future.set_result(Answer.CONFLICT)

    async def _store(self, receipts: list[Receipt]) -> dict[str, tuple[bool, str]]:
        """Insert new receipts; return id → (inserted now, stored body hash) for every id."""
        rows = [_row(r) for r in receipts]

        def insert(conn: Connection) -> dict[str, tuple[bool, str]]:
            inserted = set(conn.execute(self._insert, rows).scalars().all())
            outcome = {r.id: (True, r.body_sha256) for r in receipts if r.id in inserted}
            missing = [r.id for r in receipts if r.id not in inserted]
            if missing:
                for event_id, sha in conn.execute(_STORED_HASHES, {"ids": missing}):
                    outcome[event_id] = (False, sha)
            return outcome

        return await write_in_one_call(self._engine, insert)


def _insert_statement(dialect: str) -> Executable:
    statement: Executable = (
        dialect_insert(dialect)(_TABLE)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(_TABLE.c.id)
    )
    return statement


async def stop_writer(task: asyncio.Task[None], inbox: Inbox) -> None:
    """Cancel the writer task and store whatever is still waiting."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    if inbox._inflight is not None:
        await inbox._inflight
    await inbox.drain()
