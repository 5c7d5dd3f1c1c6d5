"""Advisory locks that keep two workers off the same subscription (or customer) on PostgreSQL.

On SQLite a write transaction begins with BEGIN IMMEDIATE and so already holds the only write
lock; there every name is "taken" at once.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

from sqlalchemy import text

from notify.db.engine import Statements

_TRY_LOCKS = text(
    "SELECT k FROM unnest(CAST(:keys AS bigint[])) AS k WHERE pg_try_advisory_xact_lock(k)"
)


async def take(conn: Statements, names: Sequence[str], kind: str) -> list[str]:
    """Take, for this transaction, the locks of ``names`` no other transaction holds; return
    those taken, in the order given. One statement tries them all."""
    if conn.dialect.name != "postgresql" or not names:
        return list(names)
    keys = {zlib.crc32(f"{kind}:{name}".encode()) - 2**31: name for name in names}
    taken = await conn.execute(_TRY_LOCKS, {"keys": sorted(keys)})
    got = {keys[k] for (k,) in taken}
    return [name for name in names if name in got]
