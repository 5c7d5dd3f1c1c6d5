"""The outbox table seen from delivery: claim due rows under a lease, check opt-outs, record.

A claim is ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING``, once for rows
whose lease expired and once for due pending rows: on PostgreSQL concurrent workers skip each
other's rows; on SQLite, which has no row locks and where SQLAlchemy drops the clause, the
statements run inside ``BEGIN IMMEDIATE`` and so hold the write lock from the first read. Each
claim writes a claim token (worker and pass) into ``lease_owner``; a record only applies while
the row is still ``sending`` under that token, so a worker whose lease lapsed and whose row was
claimed again cannot overwrite the newer attempt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Connection, Integer, Select, Table, Update, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from billingcore.notices import REMINDER_KINDS
from notify.db.clauses import one_of
from notify.db.engine import dialect_insert, write_in_one_call
from notify.db.models import OutboxRow, OutboxStatus, Suppression, Unsubscribe
from notify.mail.compose import Letter

OUTBOX = cast(Table, OutboxRow.__table__)
SUPPRESSIONS = cast(Table, Suppression.__table__)
UNSUBSCRIBES = cast(Table, Unsubscribe.__table__)
# Statuses the depth gauge reports: waiting, in flight, and given up (an operator's attention).
DEPTH_STATUSES = (OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.DEAD)


def normalize_address(address: str) -> str:
    """Suppressions and opt-outs are kept per lower-cased address."""
    return address.strip().lower()


@dataclass(frozen=True, slots=True, kw_only=True)
class Claimed:
    """A row this worker holds for one pass; ``attempts`` already counts this pass's first."""

    id: int
    idempotency_key: str
    kind: str
    subscription_id: str
    recipient: str
    context: str
    message_id: str
    attempts: int

    def letter(self) -> Letter:
        return Letter(
            kind=self.kind,
            subscription_id=self.subscription_id,
            recipient=self.recipient,
            context=self.context,
            message_id=self.message_id,
            idempotency_key=self.idempotency_key,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """What became of one claimed row in this pass."""

    id: int
    kind: str
    status: OutboxStatus
    # Tries beyond the first, which the claim counted already (−1: the transport never ran).
    extra_tries: int = 0
    last_error: str | None = None
    sent_at: datetime | None = None
    next_attempt_at: datetime | None = None
    suppress: tuple[str, str] | None = None  # (address, reason)


def _claiming(ids: Select[tuple[int]]) -> Update:
    """Claim the rows ``ids`` selects for this pass, returning what delivery needs of them."""
    t = OUTBOX
    return (
        update(t)
        .where(t.c.id.in_(ids.with_for_update(skip_locked=True)))
        .values(
            status=OutboxStatus.SENDING,
            lease_owner=bindparam("token"),
            lease_expires_at=bindparam("until"),
            attempts=t.c.attempts + 1,
        )
        .returning(
            t.c.id,
            t.c.idempotency_key,
            t.c.kind,
            t.c.subscription_id,
            t.c.recipient,
            t.c.context,
            t.c.message_id,
            t.c.attempts,
        )
    )


# Two claims, each one index range read in index order: rows whose lease expired (few: at
# most what crashed workers held), then pending rows that are due. One statement with OR would
# collect and sort every due row, the whole backlog, on each claim.
_CLAIM_EXPIRED = _claiming(
    select(OUTBOX.c.id)
    .where(
        (OUTBOX.c.status == OutboxStatus.SENDING) & (OUTBOX.c.lease_expires_at <= bindparam("now"))
    )
    .order_by(OUTBOX.c.id)
    .limit(bindparam("limit"))
)
_CLAIM_DUE = _claiming(
    select(OUTBOX.c.id)
    .where(
        (OUTBOX.c.status == OutboxStatus.PENDING) & (OUTBOX.c.next_attempt_at <= bindparam("now"))
    )
    .order_by(OUTBOX.c.next_attempt_at, OUTBOX.c.id)
    .limit(bindparam("limit"))
)


@dataclass(frozen=True, slots=True)
class Claim:
    """One pass's rows, and those of them that must not be sent with the reason kept as their
    ``last_error`` (suppressed, or opted out)."""

    rows: list[Claimed]
    blocked: dict[int, str]
    lapsed: int  # how many of the rows were taken over from an expired lease


async def claim(
    engine: AsyncEngine,
    token: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    *,
    expired: bool = True,
) -> Claim:
    """Take up to ``limit`` due rows: sending under an expired lease (unless ``expired`` is
    False), then pending and due; what blocks some of them is read in the same transaction."""
    params = {"token": token, "until": now + lease, "now": now, "limit": limit}

    def take(conn: Connection) -> Claim:
        rows = list(conn.execute(_CLAIM_EXPIRED, params).all()) if expired else []
        lapsed = len(rows)
        if len(rows) < limit:
            params["limit"] = limit - len(rows)
            rows += conn.execute(_CLAIM_DUE, params).all()
        claimed = [
            Claimed(
                id=row.id,
                idempotency_key=row.idempotency_key,
                kind=row.kind,
                subscription_id=row.subscription_id,
                recipient=row.recipient,
                context=row.context,
                message_id=row.message_id,
                attempts=row.attempts,
            )
            for row in rows
        ]
        blocked = _blocked(conn, claimed)
        claimed.sort(key=lambda c: c.id)
        return Claim(rows=claimed, blocked=blocked, lapsed=lapsed)

    return await write_in_one_call(engine, take)


_SUPPRESSED = select(SUPPRESSIONS.c.address, SUPPRESSIONS.c.reason).where(
    one_of(SUPPRESSIONS.c.address, "addresses")
)
_OPTED_OUT = select(UNSUBSCRIBES.c.subscription_id, UNSUBSCRIBES.c.address).where(
    one_of(UNSUBSCRIBES.c.subscription_id, "subscriptions"),
    one_of(UNSUBSCRIBES.c.address, "addresses"),
)


def _blocked(conn: Connection, rows: Sequence[Claimed]) -> dict[int, str]:
    """The rows that must not be sent, each with the reason kept as its ``last_error``."""
    if not rows:
        return {}
    address_of = {r.id: normalize_address(r.recipient) for r in rows}
    reminders = [r for r in rows if r.kind in REMINDER_KINDS]
    result = conn.execute(_SUPPRESSED, {"addresses": sorted(set(address_of.values()))})
    suppressed = {address: reason for address, reason in result}
    opted_out: set[tuple[str, str]] = set()
    if reminders:
        pairs = conn.execute(
            _OPTED_OUT,
            {
                "subscriptions": sorted({r.subscription_id for r in reminders}),
                "addresses": sorted({address_of[r.id] for r in reminders}),
            },
        )
        opted_out = {(sub, address) for sub, address in pairs}
    reasons: dict[int, str] = {}
    for row in rows:
        address = address_of[row.id]
        if address in suppressed:
            reasons[row.id] = f"suppressed: {suppressed[address]}"
        elif row.kind in REMINDER_KINDS and (row.subscription_id, address) in opted_out:
            reasons[row.id] = "unsubscribed"
    return reasons


_RECORD = (
    update(OUTBOX)
    .where(OUTBOX.c.id == bindparam("b_id"))
    .values(
        status=bindparam("b_status"),
        attempts=OUTBOX.c.attempts + bindparam("b_extra", type_=Integer),
        last_error=bindparam("b_error"),
        lease_expires_at=None,
        sent_at=func.coalesce(
            bindparam("b_sent_at", type_=OUTBOX.c.sent_at.type), OUTBOX.c.sent_at
        ),
        next_attempt_at=func.coalesce(
            bindparam("b_next", type_=OUTBOX.c.next_attempt_at.type), OUTBOX.c.next_attempt_at
        ),
    )
)


_HELD = (
    select(OUTBOX.c.id)
    .where(
        one_of(OUTBOX.c.id, "ids"),
        OUTBOX.c.lease_owner == bindparam("token"),
        OUTBOX.c.status == OutboxStatus.SENDING,
    )
    .with_for_update()
)


async def record(
    engine: AsyncEngine, token: str, outcomes: Sequence[Outcome], now: datetime
) -> set[int]:
    """Write the outcomes in one transaction; return the ids whose lease was still ours.

    The rows still held under ``token`` are read first (locked on PostgreSQL), then all of them
    are written with one executemany; a row whose lease lapsed and was claimed again is left to
    its new holder.
    """
    if not outcomes:
        return set()
    insert = dialect_insert(engine.dialect.name)

    def write(conn: Connection) -> set[int]:
        held = conn.execute(_HELD, {"ids": [o.id for o in outcomes], "token": token})
        applied = set(held.scalars())
        suppressions = {
            normalize_address(o.suppress[0]): o.suppress[1]
            for o in outcomes
            if o.suppress is not None
        }
        if suppressions:
            conn.execute(
                insert(SUPPRESSIONS).on_conflict_do_nothing(index_elements=["address"]),
                [
                    {"address": address, "reason": reason, "created_at": now}
                    for address, reason in suppressions.items()
                ],
            )
        rows = [
            {
                "b_id": o.id,
                "b_status": o.status,
                "b_extra": o.extra_tries,
                "b_error": o.last_error,
                "b_sent_at": o.sent_at,
                "b_next": o.next_attempt_at,
            }
            for o in outcomes
            if o.id in applied
        ]
        if rows:
            conn.execute(_RECORD, rows)
        return applied

    return await write_in_one_call(engine, write)


async def depth(engine: AsyncEngine) -> dict[str, int]:
    """Rows per waiting status (pending, sending, dead), zeros included."""
    t = OUTBOX
    async with engine.connect() as conn:
        result = await conn.execute(
            select(t.c.status, func.count())
            .where(t.c.status.in_(DEPTH_STATUSES))
            .group_by(t.c.status)
        )
        counts = {status: count for status, count in result}
    return {str(status): int(counts.get(status, 0)) for status in DEPTH_STATUSES}
