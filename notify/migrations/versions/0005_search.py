"""Subscriptions findable by the customer's name and billing contacts.

Revision ID: 0005
Revises: 0004

The admin search (CONTRACT §6) matches a subscription's id, its customer's id and name, any
billing contact's email, and its namespace or instance id. The name and the addresses live in
the stored state; they are kept beside it, lower-cased, so the search is one query. Existing
rows are filled from their states.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_subscriptions = sa.table(
    "subscriptions",
    sa.column("id", sa.String),
    sa.column("state", sa.Text),
    sa.column("customer_name", sa.String),
    sa.column("contact_emails", sa.Text),
)


def upgrade() -> None:
    op.add_column("subscriptions", sa.Column("customer_name", sa.String(200), nullable=True))
    op.add_column("subscriptions", sa.Column("contact_emails", sa.Text(), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(sa.select(_subscriptions.c.id, _subscriptions.c.state)).all()
    for subscription_id, state in rows:
        customer = json.loads(state).get("customer")
        if not isinstance(customer, dict):
            continue  # not a state this service wrote: nothing to find it by
        addresses = [customer.get("email", ""), *customer.get("contacts", ())]
        emails = " ".join(dict.fromkeys(a.strip().lower() for a in addresses if a))
        conn.execute(
            sa.update(_subscriptions)
            .where(_subscriptions.c.id == subscription_id)
            .values(customer_name=customer.get("name"), contact_emails=emails)
        )


def downgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("contact_emails")
        batch.drop_column("customer_name")
