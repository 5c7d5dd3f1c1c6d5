"""Invoice numbers: one gapless sequence, ``INV-000001``, ``INV-000002``, … (CONTRACT §3).

The first invoice a transaction numbers locks the counter row (concurrent issuers on PostgreSQL
wait for this commit) and reads it; the rest count on from there, and the flush writes the last
number taken. A rollback gives every number back, so the sequence has no gaps. The lock is
taken only by a transaction that issues an invoice, while it applies; feed version rows are
locked later, when it writes, so two workers never take the two in opposite orders.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam

from notify.db.engine import Statements, dialect_insert
from notify.processing.statements import COUNTERS, NUMBERS_BY_KEY, SET_COUNTER

COUNTER = "invoice"


def number_text(value: int) -> str:
    """``INV-000042`` for 42."""
    return f"INV-{value:06d}"


class Numbers:
    """The invoice numbers one transaction knows: those it gave and those it looked up."""

    def __init__(self, conn: Statements) -> None:
        self._conn = conn
        self.by_key: dict[str, str] = {}
        self.last: int | None = None  # the last number taken, once the counter is locked
        # Locks the counter row for the rest of the transaction and reads it (creating it at 0).
        self._take = (
            dialect_insert(conn.dialect.name)(COUNTERS)
            .values(name=bindparam("b_name"), value=0)
            .on_conflict_do_update(index_elements=["name"], set_={"value": COUNTERS.c.value})
            .returning(COUNTERS.c.value)
        )

    async def give(self, key: str) -> str:
        """The number of the invoice ``key``, taking the next one if it has none yet."""
        if key in self.by_key:
            return self.by_key[key]
        if self.last is None:
            taken = await self._conn.execute(self._take, {"b_name": COUNTER})
            self.last = int(taken.scalar_one())
        self.last += 1
        self.by_key[key] = number_text(self.last)
        return self.by_key[key]

    def know(self, key: str, number: str) -> None:
        """Remember the number of an invoice stored before."""
        self.by_key.setdefault(key, number)

    async def look_up(self, keys: Iterable[str]) -> None:
        """Read the numbers of stored invoices not known yet (one query)."""
        missing = sorted({key for key in keys if key not in self.by_key})
        if missing:
            for key, number in await self._conn.execute(NUMBERS_BY_KEY, {"keys": missing}):
                self.by_key[key] = number

    async def flush(self) -> None:
        """Write the last number taken back to the counter row."""
        if self.last is not None:
            await self._conn.execute(SET_COUNTER, {"b_name": COUNTER, "b_v": self.last})
