"""The webhook secret the service generates for itself when none is configured."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from notify.db.engine import dialect_insert, write_gate
from notify.db.models import ServiceSetting
from webhooks.signature import parse_secret

_NAME = "webhook_secret"


async def kept_setting(engine: AsyncEngine, name: str, candidate: str) -> tuple[str, bool]:
    """The value kept under ``name``, storing ``candidate`` if there is none yet.

    Returns the stored value and whether this call stored it. Several processes starting
    together agree on one value through the table's primary key.
    """
    table = cast(Table, ServiceSetting.__table__)
    async with write_gate(engine), engine.begin() as conn:
        created = await conn.execute(
            dialect_insert(engine.dialect.name)(table)
            .values(name=name, value=candidate)
            .on_conflict_do_nothing(index_elements=["name"])
            .returning(table.c.name)
        )
        inserted = created.first() is not None
        stored = (
            await conn.execute(select(table.c.value).where(table.c.name == name))
        ).scalar_one()
    return str(stored), inserted


async def webhook_secrets(
    engine: AsyncEngine, configured: tuple[bytes, ...], announce: Callable[[str], None]
) -> tuple[bytes, ...]:
    """The configured secrets, else the one kept in the database, generated on first start.

    The generated secret is announced (printed) once, by the process that created it.
    """
    if configured:
        return configured
    candidate = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    stored, inserted = await kept_setting(engine, _NAME, candidate)
    if inserted:
        announce(stored)
    return (parse_secret(stored),)
