"""The processor's SQL, built once: what a batch reads and how it writes, one statement a kind.

Statements that take a batch of keys match them with ``one_of`` (one array parameter on
PostgreSQL, an expanding IN list on SQLite), so each is prepared once whatever the batch size.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, bindparam, select, update

from notify.db.clauses import one_of
from notify.db.models import (
    Counter,
    EventStatus,
    InboxEvent,
    InvoiceRow,
    OutboxRow,
    SubscriptionRow,
)

INBOX = cast(Table, InboxEvent.__table__)
SUBSCRIPTIONS = cast(Table, SubscriptionRow.__table__)
INVOICES = cast(Table, InvoiceRow.__table__)
OUTBOX = cast(Table, OutboxRow.__table__)
COUNTERS = cast(Table, Counter.__table__)

EVENT_COLUMNS = (
    INBOX.c.id,
    INBOX.c.type,
    INBOX.c.command,
    INBOX.c.occurred_at,
    INBOX.c.received_at,
    INBOX.c.subscription_id,
    INBOX.c.customer_id,
)
# The oldest accepted events, in index order: their subscriptions (or customers) are the batch.
# Reading a bounded run of the index keeps the cost of a batch independent of the backlog.
OLDEST = (
    select(INBOX.c.subscription_id, INBOX.c.customer_id)
    .where(INBOX.c.status == EventStatus.ACCEPTED)
    .order_by(INBOX.c.occurred_at)
    .limit(bindparam("limit"))
)
# A batch's pending events, by subscription or by customer, unordered: the caller puts them in
# ``StoredEvent.order``. Asked to sort, SQLite prefers the (status, occurred_at) index, which
# hands the rows over in nearly that order but walks every accepted event of the backlog to
# find the batch's few; unsorted, it takes the (subscription_id | customer_id, status) index
# straight to them.
PENDING_OF_SUBSCRIPTIONS = select(*EVENT_COLUMNS).where(
    one_of(INBOX.c.subscription_id, "ids") & (INBOX.c.status == EventStatus.ACCEPTED)
)
PENDING_OF_CUSTOMER = select(*EVENT_COLUMNS).where(
    (INBOX.c.customer_id == bindparam("customer"))
    & INBOX.c.subscription_id.is_(None)
    & (INBOX.c.status == EventStatus.ACCEPTED)
)
# Customers, among those of a batch, with customer-level events not applied yet.
CUSTOMERS_WAITING = (
    select(INBOX.c.customer_id)
    .where(
        one_of(INBOX.c.customer_id, "customers")
        & INBOX.c.subscription_id.is_(None)
        & (INBOX.c.status == EventStatus.ACCEPTED)
    )
    .distinct()
)
# Events that waited for subscriptions about to be created: their own, and their customers'.
HELD_FOR = select(*EVENT_COLUMNS).where(
    (INBOX.c.status == EventStatus.HELD)
    & (
        one_of(INBOX.c.subscription_id, "ids")
        | (one_of(INBOX.c.customer_id, "customers") & INBOX.c.subscription_id.is_(None))
    )
)
MARK = (
    update(INBOX)
    .where(INBOX.c.id == bindparam("b_id"))
    .values(
        status=bindparam("b_status"), error=bindparam("b_error"), processed_at=bindparam("b_at")
    )
)
ANY_ACCEPTED = select(INBOX.c.id).where(INBOX.c.status == EventStatus.ACCEPTED).limit(1)

STATES = select(SUBSCRIPTIONS.c.id, SUBSCRIPTIONS.c.state, SUBSCRIPTIONS.c.occasions_through).where(
    one_of(SUBSCRIPTIONS.c.id, "ids")
)
SUBSCRIPTIONS_OF_CUSTOMER = (
    select(SUBSCRIPTIONS.c.id)
    .where(SUBSCRIPTIONS.c.customer_id == bindparam("customer"))
    .order_by(SUBSCRIPTIONS.c.id)
)
DUE = (
    select(SUBSCRIPTIONS.c.id)
    .where(SUBSCRIPTIONS.c.next_due_at <= bindparam("now"))
    .order_by(SUBSCRIPTIONS.c.next_due_at)
    .limit(bindparam("limit"))
)
_SAVE_COLUMNS = (
    "customer_id",
    "customer_name",
    "contact_emails",
    "namespace_id",
    "instance_id",
    "state",
    "next_due_at",
    "occasions_through",
    "updated_at",
)
INSERT_SUBSCRIPTION = SUBSCRIPTIONS.insert().values(
    id=bindparam("b_id"),
    version=1,
    created_at=bindparam("b_updated_at"),
    **{name: bindparam(f"b_{name}") for name in _SAVE_COLUMNS},
)
# Time passed but nothing happened (a feed boundary, say): only the cursor and the wake-up move.
MOVE_CURSOR = (
    update(SUBSCRIPTIONS)
    .where(SUBSCRIPTIONS.c.id == bindparam("b_id"))
    .values(
        next_due_at=bindparam("b_next_due_at"),
        occasions_through=bindparam("b_occasions_through"),
        updated_at=bindparam("b_updated_at"),
    )
)
UPDATE_SUBSCRIPTION = (
    update(SUBSCRIPTIONS)
    .where(SUBSCRIPTIONS.c.id == bindparam("b_id"))
    .values(
        version=SUBSCRIPTIONS.c.version + 1,
        **{name: bindparam(f"b_{name}") for name in _SAVE_COLUMNS},
    )
)

EXISTING_INVOICES = select(INVOICES.c.key).where(one_of(INVOICES.c.key, "keys"))
# The invoices payment events name: by number, within the subscriptions of the batch.
INVOICES_BY_NUMBER = select(INVOICES.c.number, INVOICES.c.subscription_id, INVOICES.c.key).where(
    one_of(INVOICES.c.number, "numbers") & one_of(INVOICES.c.subscription_id, "ids")
)
NUMBERS_BY_KEY = select(INVOICES.c.key, INVOICES.c.number).where(one_of(INVOICES.c.key, "keys"))
SET_COUNTER = (
    update(COUNTERS).where(COUNTERS.c.name == bindparam("b_name")).values(value=bindparam("b_v"))
)
