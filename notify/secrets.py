"""The webhook secret the service generates for itself when none is configured."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from notify.db.models import ServiceSetting
from webhooks.signature import parse_secret

_NAME = "webhook_secret"


async def webhook_secrets(
    engine: AsyncEngine, configured: tuple[bytes, ...], announce: Callable[[str], None]
) -> tuple[bytes, ...]:
    """The configured secrets, else the one kept in the database, generated on first start.

    The generated secret is announced (printed) once, by the process that created it; several
    processes starting together agree on one secret through the table's primary key.
    """
    if configured:
        return configured
    table = cast(Table, ServiceSetting.__table__)
    candidate = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    async with engine.begin() as conn:
        created = await conn.execute(
            insert(table)
            .values(name=_NAME, value=candidate)
            .on_conflict_do_nothing(index_elements=["name"])
            .returning(table.c.name)
        )
        inserted = created.first() is not None
        stored = (
            await conn.execute(select(table.c.value).where(table.c.name == _NAME))
        ).scalar_one()
    if inserted:
        announce(stored)
    return (parse_secret(stored),)
