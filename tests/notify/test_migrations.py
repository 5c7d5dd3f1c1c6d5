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


OLD_PURCHASE_LINE = {
    "amount": {"amount": "3480.00", "currency": "USD"},
    "description": "Premium, 10 seats, 2026-01-15..2027-01-15",
    "quantity": 10,
    "service_period": {"end": "2027-01-15", "start": "2026-01-15"},
    "unit_price": {"amount": "348.00", "currency": "USD"},
}
OLD_QSR_LINE = {
    "amount": {"amount": "1044.00", "currency": "USD"},
    "description": "Quarterly reconciliation, quarter 1: 4 seats, 2026-04-15..2027-01-15",
    "quantity": 4,
    "service_period": {"end": "2027-01-15", "start": "2026-04-15"},
    "unit_price": {"amount": "348.00", "currency": "USD"},
}


async def test_rows_written_before_explanations_are_brought_up(db_url: str) -> None:
    """Revision 0004 gives a waiting event its command, old invoice lines a reconstructed
    explanation, and old invoices and notifications the cause their keys name."""
    import json
    from datetime import UTC, datetime

    from sqlalchemy import text

    from billingcore.commands import AddSeats
    from notify import codec
    from tests.support import created_data, envelope

    engine = create_engine(db_url)
    now = datetime(2026, 4, 30, tzinfo=UTC)
    try:
        async with engine.connect() as conn:
            # A fresh database: the suite's template is at head already, so start from scratch.
            for table in ("outbox", "invoices", "inbox_events", "subscriptions"):
                await conn.execute(text(f"DELETE FROM {table}"))
            await conn.commit()
        async with engine.connect() as conn:
            await conn.run_sync(_downgrade_to("0003"))
            await conn.commit()
        rows = {
            "inbox_events": [
                {
                    "id": "e1",
                    "type": "subscription.created",
                    "body": envelope("subscription.created", created_data()).decode(),
                    "status": "processed",
                    "subscription_id": "sub_1",
                },
                {
                    "id": "e2",
                    "type": "subscription.seats_added",
                    "body": envelope(
                        "subscription.seats_added",
                        {"subscription_id": "sub_1", "seats": 2, "effective_date": "2026-05-01"},
                    ).decode(),
                    "status": "accepted",
                    "subscription_id": "sub_1",
                },
            ],
        }
        async with engine.begin() as conn:
            for event in rows["inbox_events"]:
                await conn.execute(
                    text(
                        "INSERT INTO inbox_events (id, type, occurred_at, received_at, body,"
                        " body_sha256, status, subscription_id) VALUES (:id, :type, :at, :at,"
                        " :body, 'x', :status, :subscription_id)"
                    ),
                    {**event, "at": now},
                )
            await conn.execute(
                text(
                    "INSERT INTO subscriptions (id, customer_id, state, version,"
                    " occasions_through, created_at, updated_at)"
                    " VALUES ('sub_1', 'cus_1', :state, 1, :at, :at, :at)"
                ),
                {"state": json.dumps({"deployment": "self_managed"}), "at": now},
            )
            for number, key, purpose, line in (
                ("INV-000001", "sub_1:purchase:2026-01-15", "purchase", OLD_PURCHASE_LINE),
                ("INV-000002", "sub_1:qsr:2026-04-15", "qsr", OLD_QSR_LINE),
            ):
                await conn.execute(
                    text(
                        "INSERT INTO invoices (number, key, subscription_id, purpose, currency,"
                        " total, lines, issued_on, created_at) VALUES (:number, :key, 'sub_1',"
                        " :purpose, 'USD', '0', :lines, :issued, :at)"
                    ),
                    {
                        "number": number,
                        "key": key,
                        "purpose": purpose,
                        "lines": json.dumps([line]),
                        "issued": now.date(),
                        "at": now,
                    },
                )
            for key, kind in (
                (
                    "sub_1:subscription_confirmation:2026-01-15:b@acme.example",
                    "subscription_confirmation",
                ),
                ("sub_1:qsr_notice:2026-04-15:b@acme.example", "qsr_notice"),
            ):
                await conn.execute(
                    text(
                        "INSERT INTO outbox (idempotency_key, kind, subscription_id, recipient,"
                        " context, message_id, status, attempts, next_attempt_at, created_at)"
                        " VALUES (:key, :kind, 'sub_1', 'B@acme.example', '{}', '<m>', 'sent',"
                        " 1, :at, :at)"
                    ),
                    {"key": key, "kind": kind, "at": now},
                )
        await migrate(engine)
        async with engine.connect() as conn:
            command = (
                await conn.execute(text("SELECT command FROM inbox_events WHERE id = 'e2'"))
            ).scalar_one()
            found = await conn.execute(text("SELECT number, lines || '|' || cause FROM invoices"))
            invoices = {number: both for number, both in found}
            found = await conn.execute(text("SELECT kind, cause FROM outbox"))
            causes = {kind: cause for kind, cause in found}
    finally:
        await engine.dispose()
    seats = codec.loads(AddSeats, command)
    assert (seats.key, seats.seats, seats.subscription_id) == ("e2", 2, "sub_1")
    purchase_lines, purchase_cause = invoices["INV-000001"].split("|")
    [explained] = json.loads(purchase_lines)
    assert explained["explanation"]["rule"] == "purchase"
    assert explained["explanation"]["formula"] == "10 seats × $348.00"
    assert explained["explanation"]["inputs"]["reconstructed"] is True
    assert json.loads(purchase_cause) == {"event_id": "e1", "reconstructed": True}
    qsr_lines, qsr_cause = invoices["INV-000002"].split("|")
    [qsr] = json.loads(qsr_lines)
    assert qsr["explanation"]["formula"] == "4 users over × $348.00 × 3/4 quarters left"
    assert json.loads(qsr_cause)["occasion"] == "qsr_invoice"
    assert json.loads(causes["subscription_confirmation"]) == {
        "event_id": "e1",
        "reconstructed": True,
    }
    # A self-managed subscription's QSR notice goes out 6 days after the reconciliation date.
    assert json.loads(causes["qsr_notice"]) == {
        "occasion": "qsr_notice",
        "date": "2026-04-21",
        "reconstructed": True,
    }


def _downgrade_to(revision: str) -> Any:
    from alembic import command

    from notify.db.migrate import alembic_config

    def run(sync_conn: Any) -> None:
        command.downgrade(alembic_config(sync_conn), revision)

    return run


async def test_subscriptions_stored_before_the_search_columns_are_findable(db_url: str) -> None:
    """Revision 0005 fills each stored subscription's customer name and contact addresses."""
    from dataclasses import replace
    from datetime import UTC, datetime

    from sqlalchemy import text

    from notify import codec
    from tests.billingcore.factories import subscription

    state = subscription()
    state = replace(
        state,
        customer=replace(state.customer, contacts=("Finance@Acme.test", "billing@acme.test")),
    )
    now = datetime(2026, 4, 30, tzinfo=UTC)
    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            await conn.run_sync(_downgrade_to("0004"))
            await conn.commit()
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO subscriptions (id, customer_id, state, version,"
                    " occasions_through, created_at, updated_at)"
                    " VALUES ('S-1', 'C-1', :state, 1, :at, :at, :at)"
                ),
                {"state": codec.dumps(state), "at": now},
            )
        await migrate(engine)
        async with engine.connect() as conn:
            found = await conn.execute(
                text("SELECT customer_name, contact_emails FROM subscriptions")
            )
            assert found.all() == [("Acme", "billing@acme.test finance@acme.test")]
    finally:
        await engine.dispose()
