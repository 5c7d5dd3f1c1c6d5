"""Keeping the feed tables current: the processor's change hook, and the audience versions.

``sync_feed`` runs in the transaction that saves a batch of subscriptions. It asks the billing
core which items each state makes active now, renders them, and brings the rows in line:
new items are inserted, changed ones rewritten, items no longer active withdrawn; a dismissal
is never undone. When what an audience's tokens would see changes, the audience's version is
bumped, which changes its ETag. It returns the next moment the feed may change by time alone,
so the scheduler brings the subscription back then.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from billingcore.feed import FeedItemState, feed_items, next_feed_change
from billingcore.state import Deployment, Subscription
from notify.db.engine import dialect_insert
from notify.feed.tables import FeedItemRow, FeedVersion
from notify.feed.texts import render
from notify.handlers.common import Branding

ITEMS = cast(Table, FeedItemRow.__table__)
VERSIONS = cast(Table, FeedVersion.__table__)
# What a reader sees of an item: a change to any of these is a change of the feed.
_CONTENT = (
    "audience",
    "kind",
    "severity",
    "title",
    "body",
    "cta_label",
    "cta_url",
    "dismissible",
    "expires_at",
)

FeedHook = Callable[
    [AsyncConnection, Sequence[Subscription], datetime], Awaitable[list[datetime | None]]
]


def audience_of(state: Subscription) -> str | None:
    """``namespace:<id>`` for GitLab.com, ``instance:<id>`` for self-managed; None without one."""
    if state.deployment is Deployment.SAAS:
        return f"namespace:{state.namespace_id}" if state.namespace_id else None
    return f"instance:{state.instance_id}" if state.instance_id else None


def item_id(subscription_id: str, key: str) -> str:
    """The public id of an item: stable for as long as the billing core keeps its key."""
    digest = hashlib.sha256(f"{subscription_id}\n{key}".encode()).hexdigest()
    return f"fi_{digest[:24]}"


def feed_hook(branding: Branding) -> FeedHook:
    """The change hook to give the processor (``Processor(on_change=[feed_hook(branding)])``)."""

    async def hook(
        conn: AsyncConnection, states: Sequence[Subscription], now: datetime
    ) -> list[datetime | None]:
        return await sync_feed(conn, states, now, branding=branding)

    return hook


_STORED = select(ITEMS).where(
    ITEMS.c.subscription_id.in_(bindparam("ids", expanding=True))
    & (ITEMS.c.withdrawn_at.is_(None) | ITEMS.c.id.in_(bindparam("wanted", expanding=True)))
)


async def sync_feed(
    conn: AsyncConnection,
    states: Sequence[Subscription],
    now: datetime,
    *,
    branding: Branding,
) -> list[datetime | None]:
    """Bring the subscriptions' feed rows in line with their states at ``now``; return, for
    each, when its feed may next change by time alone (strictly after ``now``), or None.

    One read for the whole batch, one insert for all new items; changed items and the version
    of each audience touched are written one by one (audiences in sorted order, so concurrent
    transactions lock them in the same order)."""
    desired: dict[str, dict[str, Any]] = {}
    owner: dict[str, str] = {}
    for state in states:
        audience = audience_of(state)
        if audience is None:
            continue
        for item in feed_items(state, now):
            id_ = item_id(state.id, item.key)
            desired[id_] = _content(state, item, audience, branding)
            owner[id_] = state.id
    existing = await conn.execute(
        _STORED, {"ids": [state.id for state in states], "wanted": list(desired)}
    )
    changed: set[str] = set()
    seen: set[str] = set()
    for row in existing:
        seen.add(row.id)
        changed.update(await _reconcile(conn, row, desired.get(row.id), now))
    new = [
        {"id": id_, "subscription_id": owner[id_], "created_at": now, "updated_at": now, **content}
        for id_, content in desired.items()
        if id_ not in seen
    ]
    if new:
        await conn.execute(ITEMS.insert(), new)
        changed.update(row["audience"] for row in new)
    for name in sorted(changed):
        await bump_version(conn, name, now)
    return [
        next_feed_change(state, now) if audience_of(state) is not None else None for state in states
    ]


def _content(
    state: Subscription, item: FeedItemState, audience: str, branding: Branding
) -> dict[str, Any]:
    text = render(state, item, branding)
    return {
        "key": item.key,
        "audience": audience,
        "kind": item.kind.value,
        "severity": item.severity.value,
        "title": text.title,
        "body": text.body,
        "cta_label": text.cta.label if text.cta else None,
        "cta_url": text.cta.url if text.cta else None,
        "dismissible": item.dismissible,
        "expires_at": item.expires_at,
    }


def visible(row: Any, now: datetime) -> bool:
    """Listed by ``GET /api/v1/feed`` at ``now``: not withdrawn, not dismissed, not expired."""
    return (
        row.withdrawn_at is None
        and row.dismissed_at is None
        and (row.expires_at is None or row.expires_at > now)
    )


async def _reconcile(
    conn: AsyncConnection, row: Row[Any], content: dict[str, Any] | None, now: datetime
) -> set[str]:
    """Update one stored item to its desired content (None: withdraw it); return the audiences
    whose visible items this changed."""
    was_visible = visible(row, now)
    if content is None:
        await conn.execute(update(ITEMS).where(ITEMS.c.id == row.id).values(withdrawn_at=now))
        return {row.audience} if was_visible else set()
    differs = any(getattr(row, name) != content[name] for name in _CONTENT)
    if not differs and row.withdrawn_at is None:
        return set()
    await conn.execute(
        update(ITEMS)
        .where(ITEMS.c.id == row.id)
        .values(withdrawn_at=None, updated_at=now, **content)
    )
    is_visible = row.dismissed_at is None and (
        content["expires_at"] is None or content["expires_at"] > now
    )
    touched: set[str] = set()
    if was_visible:
        touched.add(row.audience)
    if is_visible:
        touched.add(content["audience"])
    return touched


async def bump_version(conn: AsyncConnection, audience: str, now: datetime) -> None:
    """Count a change of the audience's visible items and record the expiries still ahead.

    The version row is written first: on PostgreSQL its row lock makes a concurrent bump of
    the same audience wait for this commit, so the expiries read afterwards include its items.
    """
    await conn.execute(
        dialect_insert(conn.dialect.name)(VERSIONS)
        .values(audience=audience, version=1, expiries="", updated_at=_wall())
        .on_conflict_do_update(
            index_elements=["audience"],
            set_={"version": VERSIONS.c.version + 1, "updated_at": _wall()},
        )
    )
    ahead = await conn.execute(
        select(ITEMS.c.expires_at)
        .where(
            (ITEMS.c.audience == audience)
            & ITEMS.c.withdrawn_at.is_(None)
            & ITEMS.c.dismissed_at.is_(None)
            & (ITEMS.c.expires_at > now)
        )
        .order_by(ITEMS.c.expires_at)
    )
    await conn.execute(
        update(VERSIONS)
        .where(VERSIONS.c.audience == audience)
        .values(expiries=encode_expiries(at for (at,) in ahead))
    )


def encode_expiries(moments: Iterable[datetime]) -> str:
    return " ".join(str(_micros(at)) for at in moments)


def _micros(at: datetime) -> int:
    delta = at - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def etag(version: int, expiries: str, now: datetime) -> str:
    """The strong ETag of an audience's feed at ``now``.

    The version changes with every write that changes the visible items; between writes an
    item can only disappear by expiring, so the number of recorded expiries passed tells the
    rest. Two different visible sets never share a tag.
    """
    passed = 0
    if expiries:
        cutoff = _micros(now)
        passed = sum(1 for value in expiries.split() if int(value) <= cutoff)
    return f'"{version}.{passed}"'


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _wall() -> datetime:
    return datetime.now(UTC)
