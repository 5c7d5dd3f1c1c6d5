"""The feed over HTTP (CONTRACT §5) and the admin route that makes feed tokens (§6).

``GET /api/v1/feed`` answers a conditional request from the token's audience version alone:
the token is looked up in memory (``TokenCache``), the version with one query shared by the
requests waiting at that moment (``VersionReader``); items are loaded only for a ``200``.
Every error is RFC 9457 problem+json.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from aiohttp import web
from sqlalchemy import Table, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from notify.clock import Clock
from notify.db.engine import write_transaction
from notify.feed.ratelimit import DEFAULT_LIMIT, RateLimit, TokenBuckets
from notify.feed.sync import bump_versions, etag, visible
from notify.feed.tables import FeedItemRow
from notify.feed.tokens import (
    InvalidAudience,
    Missing,
    TokenCache,
    create_token,
    hash_token,
    looks_like_token,
)
from notify.feed.versions import VersionReader
from notify.web.auth import admin_refusal
from notify.web.bodies import json_body
from webhooks.problems import problem

log = logging.getLogger(__name__)

ITEMS = cast(Table, FeedItemRow.__table__)
POLL_INTERVAL = 300
_SEVERITY_ORDER = {"danger": 0, "warning": 1, "info": 2}
_LISTED = (
    ITEMS.c.id,
    ITEMS.c.kind,
    ITEMS.c.severity,
    ITEMS.c.title,
    ITEMS.c.body,
    ITEMS.c.cta_label,
    ITEMS.c.cta_url,
    ITEMS.c.subscription_id,
    ITEMS.c.created_at,
    ITEMS.c.updated_at,
    ITEMS.c.expires_at,
    ITEMS.c.dismissible,
)


@dataclass(slots=True)
class Feed:
    """What the feed routes share in one process: engine, clock, token cache, buckets."""

    engine: AsyncEngine
    clock: Clock
    tokens: TokenCache
    versions: VersionReader
    buckets: TokenBuckets


FEED = web.AppKey("feed", Feed)


def install(
    app: web.Application,
    *,
    engine: Callable[[], AsyncEngine],
    clock: Callable[[], Clock],
    limit: RateLimit = DEFAULT_LIMIT,
    token_ttl: float = 30.0,
) -> None:
    """Add the feed routes to ``app``. ``engine`` and ``clock`` are read once the app starts
    (after the app factory's own startup has made them)."""

    async def start(app: web.Application) -> AsyncIterator[None]:
        built = engine()
        app[FEED] = Feed(
            engine=built,
            clock=clock(),
            tokens=TokenCache(built, ttl=token_ttl),
            versions=VersionReader(built),
            buckets=TokenBuckets(limit),
        )
        yield
        await app[FEED].versions.close()

    app.cleanup_ctx.append(start)
    app.router.add_get("/api/v1/feed", get_feed)
    app.router.add_post("/api/v1/feed/{id}/dismiss", dismiss)
    app.router.add_post("/admin/api/v1/feed-tokens", create_feed_token)


# -- the feed ----------------------------------------------------------------------------------


async def get_feed(request: web.Request) -> web.StreamResponse:
    feed = request.app[FEED]
    audience = await _authorize(request, feed)
    if isinstance(audience, web.Response):
        return audience
    try:
        version, expiries = await feed.versions.read(audience)
        # The clock is read only when an expiry could matter: the test clock costs a query.
        now = await feed.clock.now() if expiries else None
        tag = etag(version, expiries, now) if now is not None else f'"{version}.0"'
        headers = {"ETag": tag, "Poll-Interval": str(POLL_INTERVAL), "Cache-Control": "no-cache"}
        if _matches(request.headers.get("If-None-Match"), tag):
            return web.Response(status=304, headers=headers)
        items = await _visible_items(feed, audience, now or await feed.clock.now())
    except (DBAPIError, OSError) as exc:
        return _unavailable(exc)
    body = json.dumps({"items": items}, separators=(",", ":")).encode()
    return web.Response(body=body, content_type="application/json", headers=headers)


async def _visible_items(feed: Feed, audience: str, now: datetime) -> list[dict[str, Any]]:
    async with feed.engine.connect() as conn:
        rows = await conn.execute(
            select(*_LISTED).where(
                (ITEMS.c.audience == audience)
                & ITEMS.c.withdrawn_at.is_(None)
                & ITEMS.c.dismissed_at.is_(None)
                & (ITEMS.c.expires_at.is_(None) | (ITEMS.c.expires_at > now))
            )
        )
        listed = sorted(rows, key=_display_order)
    return [
        {
            "id": r.id,
            "kind": r.kind,
            "severity": r.severity,
            "title": r.title,
            "body": r.body,
            "cta": None if r.cta_url is None else {"label": r.cta_label, "url": r.cta_url},
            "subscription_id": r.subscription_id,
            "created_at": r.created_at.isoformat(),
            "updated_at": r.updated_at.isoformat(),
            "expires_at": None if r.expires_at is None else r.expires_at.isoformat(),
            "dismissible": bool(r.dismissible),
        }
        for r in listed
    ]


def _display_order(row: Any) -> tuple[int, float, str]:
    """Most severe first, then the most recently changed."""
    return (_SEVERITY_ORDER.get(row.severity, 3), -row.updated_at.timestamp(), row.id)


def _matches(header: str | None, tag: str) -> bool:
    """If-None-Match: ``*`` or any listed tag, compared weakly (RFC 9110 §13.1.2)."""
    if header is None:
        return False
    if header == tag:
        return True
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == tag:
            return True
    return False


async def dismiss(request: web.Request) -> web.StreamResponse:
    feed = request.app[FEED]
    audience = await _authorize(request, feed)
    if isinstance(audience, web.Response):
        return audience
    item_id = request.match_info["id"]
    try:
        now = await feed.clock.now()
        async with write_transaction(feed.engine) as conn:
            query = select(ITEMS).where(ITEMS.c.id == item_id).with_for_update()
            row = (await conn.execute(query)).first()
            if row is None or row.audience != audience:
                return problem(404, "feed-item-not-found", f"no feed item {item_id!r} here")
            if not row.dismissible:
                return problem(409, "not-dismissible", "this item stays until its cause ends")
            if row.dismissed_at is None:
                await conn.execute(
                    update(ITEMS).where(ITEMS.c.id == item_id).values(dismissed_at=now)
                )
                if visible(row, now):
                    await bump_versions(conn, [audience], now)
    except (DBAPIError, OSError) as exc:
        return _unavailable(exc)
    return web.Response(status=204)


async def _authorize(request: web.Request, feed: Feed) -> str | web.Response:
    """The token's audience, or the 401 / 429 / 503 answer."""
    header = request.headers.get("Authorization", "")
    token = header[7:].strip()
    if header[:7].lower() != "bearer " or not looks_like_token(token):
        return _unauthorized()
    token_hash = hash_token(token)
    audience = feed.tokens.cached(token_hash)
    if isinstance(audience, Missing):
        try:
            audience = await feed.tokens.audience(token_hash)
        except (DBAPIError, OSError) as exc:
            return _unavailable(exc)
    if audience is None:
        return _unauthorized()
    wait = feed.buckets.take(token_hash)
    if wait > 0.0:
        return problem(
            429,
            "rate-limited",
            "too many requests with this feed token; retry after the given seconds",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    return audience


def _unauthorized() -> web.Response:
    return problem(
        401,
        "unauthorized",
        "this endpoint needs Authorization: Bearer <feed token>",
        headers={"WWW-Authenticate": 'Bearer realm="notify-feed"'},
    )


def _unavailable(exc: BaseException) -> web.Response:
    log.warning("feed.database_unavailable error=%s", exc)
    return problem(
        503, "database-unavailable", "the database did not answer", headers={"Retry-After": "5"}
    )


# -- admin ---------------------------------------------------------------------------------


async def create_feed_token(request: web.Request) -> web.StreamResponse:
    refusal = admin_refusal(request)
    if refusal is not None:
        return refusal
    body = await json_body(request)
    fields = ("namespace_id", "instance_id")
    if (
        not isinstance(body, dict)
        or set(body) - set(fields)
        or not all(isinstance(body.get(f), str | None) for f in fields)
    ):
        return _invalid_audience('the body must be {"namespace_id": "…"} or {"instance_id": "…"}')
    try:
        token = await create_token(
            request.app[FEED].engine,
            namespace_id=body.get("namespace_id"),
            instance_id=body.get("instance_id"),
        )
    except InvalidAudience as exc:
        return _invalid_audience(str(exc))
    except (DBAPIError, OSError) as exc:
        return _unavailable(exc)
    audience = {f: body[f] for f in fields if body.get(f) is not None}
    return web.json_response({"token": token, **audience}, status=201)


def _invalid_audience(message: str) -> web.Response:
    return problem(
        422,
        "invalid-data",
        message,
        errors=[{"field": "namespace_id|instance_id", "message": message}],
    )
