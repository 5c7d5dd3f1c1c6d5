"""The processor's look-ups of a batch's pending events read the batch's rows, not the backlog.

Each batch of a burst asks for the accepted events of its own subscriptions and customers. A
plan that walks every accepted event and filters them costs each batch the whole backlog; these
tests ask each database how it runs those statements over a real backlog.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event

from notify.db.engine import create_engine
from notify.db.models import EventStatus
from notify.processing.statements import (
    CUSTOMERS_WAITING,
    INBOX,
    PENDING_OF_CUSTOMER,
    PENDING_OF_SUBSCRIPTIONS,
)

BACKLOG = 2000
START = datetime(2026, 1, 1, tzinfo=UTC)


def _row(n: int, *, subscription: bool = True) -> dict[str, Any]:
    at = START + timedelta(seconds=n)
    return {
        "id": f"evt_{n}",
        "type": "subscription.created" if subscription else "customer.payment_method_updated",
        "occurred_at": at,
        "received_at": at,
        "body": "{}",
        "body_sha256": "0" * 64,
        "command": None,
        "status": EventStatus.ACCEPTED,
        "subscription_id": f"sub_{n}" if subscription else None,
        "customer_id": f"cus_{n}",
    }


async def test_a_batch_reads_its_own_pending_events_whatever_the_backlog(db_url: str) -> None:
    engine = create_engine(db_url)
    sqlite = engine.dialect.name == "sqlite"
    ran: list[tuple[str, Any]] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            ran.append((statement, parameters))

    rows = [_row(n) for n in range(BACKLOG)] + [_row(BACKLOG + 1, subscription=False)]
    try:
        async with engine.begin() as conn:
            await conn.execute(INBOX.insert(), rows)
            if not sqlite:
                await conn.exec_driver_sql("ANALYZE inbox_events")
        async with engine.connect() as conn:
            found = await conn.execute(PENDING_OF_SUBSCRIPTIONS, {"ids": ["sub_7", "sub_1500"]})
            assert sorted(r.id for r in found) == ["evt_1500", "evt_7"]
            waiting = await conn.execute(
                CUSTOMERS_WAITING, {"customers": ["cus_7", f"cus_{BACKLOG + 1}"]}
            )
            assert [r[0] for r in waiting] == [f"cus_{BACKLOG + 1}"]
            of_customer = await conn.execute(
                PENDING_OF_CUSTOMER, {"customer": f"cus_{BACKLOG + 1}"}
            )
            assert [r.id for r in of_customer] == [f"evt_{BACKLOG + 1}"]
            asked, ran[:] = list(ran), []
            assert len(asked) == 3
            for statement, parameters in asked:
                explain = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
                plan = " | ".join(
                    str(line[-1])
                    for line in await conn.exec_driver_sql(explain + statement, parameters)
                )
                # The subscription's or customer's index, never a walk of every accepted event.
                assert "status_occurred_at" not in plan, (statement, plan)
                assert "Seq Scan" not in plan and "SCAN inbox_events" not in plan, (statement, plan)
                assert "_id_status" in plan or "_id_occurred_at" in plan, (statement, plan)
    finally:
        await engine.dispose()
