"""Alembic environment: runs on the connection notify.db.migrate hands over.

The service migrates through its own async engine (``notify migrate``, ``notify serve``), so this
file only supports that path: ``config.attributes["connection"]`` is a synchronous connection
opened by ``AsyncConnection.run_sync``.
"""

from __future__ import annotations

from alembic import context

from notify.db.models import Base
from notify.feed import tables as _feed_tables  # noqa: F401  (puts the feed tables on Base)

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `notify migrate`, which provides the connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
