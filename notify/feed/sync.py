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
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, select, update

from billingcore.feed import FeedItem, feed_items, next_feed_change
from billingcore.state import Deployment, Subscription
from notify.db.clauses import one_of
from notify.db.engine import Statements, dialect_insert
from notify.feed.tables import FeedItemRow, FeedVersion
from notify.feed.texts import render
from notify.handlers.common import Branding
from notify.processing.writes import ChangeHook
from notify.timing import wall_clock

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


def audience_of(state: Subscription) -> str | None:
    """``namespace:<id>`` for GitLab.com, ``instance:<id>`` for self-managed; None without one."""
    if state.deployment is Deployment.SAAS:
        return f"namespace:{state.namespace_id}" if state.namespace_id else None
    return f"instance:{state.instance_id}" if state.instance_id else None


def item_id(subscription_id: str, key: str) -> str:
    """The public id of an item: stable for as long as the billing core keeps its key."""
    digest = hashlib.sha256(f"{subscription_id}\n{key}".encode()).hexdigest()
    return f"fi_{digest[:24]}"


def feed_hook(branding: Branding) -> ChangeHook:
    """The change hook to give the processor (``Processor(on_change=[feed_hook(branding)])``)."""

    async def hook(
        conn: Statements, states: Sequence[Subscription], now: datetime
    ) -> list[datetime | None]:
        return await sync_feed(conn, states, now, branding=branding)

    return hook


_STORED = select(ITEMS).where(
    one_of(ITEMS.c.subscription_id, "ids")
    & (ITEMS.c.withdrawn_at.is_(None) | one_of(ITEMS.c.id, "wanted"))
)


async def sync_feed(
    conn: Statements,
    states: Sequence[Subscription],
    now: datetime,
    *,
    branding: Branding,
) -> list[datetime | None]:
    """Bring the subscriptions' feed rows in line with their states at ``now``; return, for
    each, when its feed may next change by time alone (strictly after ``now``), or None.

    One read for the whole batch, then at most one statement per kind of write: new items,
    rewritten items, withdrawn items, and the versions of the audiences touched."""
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
    changes = _Changes()
    seen: set[str] = set()
    for row in existing:
        seen.add(row.id)
        changes.reconcile(row, desired.get(row.id), now)
    new = [
        {"id": id_, "subscription_id": owner[id_], "created_at": now, "updated_at": now, **content}
        for id_, content in desired.items()
        if id_ not in seen
    ]
    if new:
        await conn.execute(ITEMS.insert(), new)
        changes.audiences.update(row["audience"] for row in new)
    if changes.rewritten:
        await conn.execute(_REWRITE, changes.rewritten)
    if changes.withdrawn:
        await conn.execute(_WITHDRAW, [{"b_id": id_, "b_at": now} for id_ in changes.withdrawn])
    await bump_versions(conn, changes.audiences, now)
    return [
        next_feed_change(state, now) if audience_of(state) is not None else None for state in states
    ]


def _content(
    state: Subscription, item: FeedItem, audience: str, branding: Branding
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


_REWRITE = (
    update(ITEMS)
    .where(ITEMS.c.id == bindparam("b_id"))
    .values(
        withdrawn_at=None,
        updated_at=bindparam("b_at"),
        **{name: bindparam(f"b_{name}") for name in _CONTENT},
        key=bindparam("b_key"),
    )
)
_WITHDRAW = (
    update(ITEMS).where(ITEMS.c.id == bindparam("b_id")).values(withdrawn_at=bindparam("b_at"))
)


class _Changes:
    """The writes that bring stored items in line, and the audiences whose visible items they
    change."""

    def __init__(self) -> None:
        self.rewritten: list[dict[str, Any]] = []
        self.withdrawn: list[str] = []
        self.audiences: set[str] = set()

    def reconcile(self, row: Row[Any], content: dict[str, Any] | None, now: datetime) -> None:
        """Bring one stored item to its desired content (None: withdraw it)."""
        was_visible = visible(row, now)
        if content is None:
            self.withdrawn.append(row.id)
            if was_visible:
                self.audiences.add(row.audience)
            return
        differs = any(getattr(row, name) != content[name] for name in _CONTENT)
        if not differs and row.withdrawn_at is None:
            return
        self.rewritten.append(
            {"b_id": row.id, "b_at": now, **{f"b_{name}": value for name, value in content.items()}}
        )
        is_visible = row.dismissed_at is None and (
            content["expires_at"] is None or content["expires_at"] > now
        )
        if was_visible:
            self.audiences.add(row.audience)
        if is_visible:
            self.audiences.add(content["audience"])


_AHEAD = (
    select(ITEMS.c.audience, ITEMS.c.expires_at)
    .where(
        one_of(ITEMS.c.audience, "audiences")
        & ITEMS.c.withdrawn_at.is_(None)
        & ITEMS.c.dismissed_at.is_(None)
        & (ITEMS.c.expires_at > bindparam("now"))
    )
    .order_by(ITEMS.c.audience, ITEMS.c.expires_at)
)
_SET_EXPIRIES = (
    update(VERSIONS)
    .where(VERSIONS.c.audience == bindparam("b_audience"))
    .values(expiries=bindparam("b_expiries"))
)


async def bump_versions(conn: Statements, audiences: Iterable[str], now: datetime) -> None:
    """Count a change of each audience's visible items and record the expiries still ahead.

    The version rows are written first, in sorted order: on PostgreSQL their row locks make a
    concurrent bump of the same audience wait for this commit (so the expiries read afterwards
    include its items), and two transactions take them in the same order.
    """
    names = sorted(set(audiences))
    if not names:
        return
    wall = wall_clock()
    await conn.execute(
        dialect_insert(conn.dialect.name)(VERSIONS)
        .values(
            audience=bindparam("b_audience"), version=1, expiries="", updated_at=bindparam("b_at")
        )
        .on_conflict_do_update(
            index_elements=["audience"],
            set_={"version": VERSIONS.c.version + 1, "updated_at": wall},
        ),
        [{"b_audience": name, "b_at": wall} for name in names],
    )
    ahead: dict[str, list[datetime]] = {name: [] for name in names}
    for audience, expires_at in await conn.execute(_AHEAD, {"audiences": names, "now": now}):
        ahead[audience].append(expires_at)
    await conn.execute(
        _SET_EXPIRIES,
        [{"b_audience": name, "b_expiries": encode_expiries(ahead[name])} for name in names],
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
