"""Migrations: they reach head, are idempotent, and match the models exactly."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from notify.db.engine import create_engine
from notify.db.migrate import current_revision, head_revision, migrate
from notify.db.models import Base
from notify.feed import tables as _feed_tables  # noqa: F401  (puts the feed tables on Base)


async def test_database_is_at_head_and_models_match(db_url: str) -> None:
    """Running the migrations again changes nothing, and autogenerate finds no difference
    between the migrated schema and the models."""
    engine = create_engine(db_url)
    try:
        await migrate(engine)
        assert await current_revision(engine) == head_revision()

        def diff(sync_conn: Any) -> list[Any]:
            return compare_metadata(MigrationContext.configure(sync_conn), Base.metadata)

        async with engine.connect() as conn:
            assert await conn.run_sync(diff) == []
    finally:
        await engine.dispose()
