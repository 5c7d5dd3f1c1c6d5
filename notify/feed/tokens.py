"""Feed tokens: made once, shown once, stored as a SHA-256 hash with the audience they read.

A token is ``nft_`` and 43 characters of URL-safe base64 (32 random bytes). SHA-256 without a
salt is enough for 256 random bits: there is nothing to guess or to look up in a table.
Lookups go through ``TokenCache``, so a polling instance costs no query for its token.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from notify.feed.tables import FeedToken
from notify.timing import wall_clock

PREFIX = "nft_"
TOKEN_LENGTH = len(PREFIX) + 43
MAX_ID_LENGTH = 128
TOKENS = cast(Table, FeedToken.__table__)


class InvalidAudience(ValueError):
    """Neither or both of namespace and instance, or an id the service cannot store."""


def audience_key(namespace_id: str | None = None, instance_id: str | None = None) -> str:
    """``namespace:<id>`` or ``instance:<id>``; exactly one of the two must be given."""
    if (namespace_id is None) == (instance_id is None):
        raise InvalidAudience("give exactly one of namespace_id and instance_id")
    kind = "namespace" if namespace_id is not None else "instance"
    value = namespace_id or instance_id or ""
    if not value or len(value) > MAX_ID_LENGTH or not value.isprintable() or value != value.strip():
        raise InvalidAudience(
            f"{kind}_id must be 1 to {MAX_ID_LENGTH} printable characters without surrounding "
            "spaces"
        )
    return f"{kind}:{value}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_token(token: str) -> bool:
    """A cheap shape check that spares the cache and the database obvious garbage."""
    return len(token) == TOKEN_LENGTH and token.startswith(PREFIX)


async def create_token(
    engine: AsyncEngine, namespace_id: str | None = None, instance_id: str | None = None
) -> str:
    """Store a new token's hash for the audience and return the token, which is not kept."""
    audience = audience_key(namespace_id, instance_id)
    token = PREFIX + secrets.token_urlsafe(32)
    async with engine.begin() as conn:
        await conn.execute(
            TOKENS.insert().values(
                token_hash=hash_token(token), audience=audience, created_at=wall_clock()
            )
        )
    return token


class Missing:
    """Not in the cache (distinct from a remembered "no such token")."""


MISSING = Missing()


class TokenCache:
    """token hash → audience (None: no such token), remembered for ``ttl`` seconds.

    Unknown hashes are remembered too, so a client with a wrong token costs one query per
    ``ttl``. The cache is emptied when it reaches ``max_entries``: random tokens cannot make it
    grow without bound.
    """

    def __init__(self, engine: AsyncEngine, *, ttl: float = 30.0, max_entries: int = 100_000):
        self._engine = engine
        self._ttl = ttl
        self._max = max_entries
        self._entries: dict[str, tuple[str | None, float]] = {}

    def cached(self, token_hash: str) -> str | Missing | None:
        """The remembered answer without waiting, or ``MISSING`` when it must be looked up."""
        entry = self._entries.get(token_hash)
        if entry is not None and entry[1] > time.monotonic():
            return entry[0]
        return MISSING

    async def audience(self, token_hash: str) -> str | None:
        known = self.cached(token_hash)
        if not isinstance(known, Missing):
            return known
        now = time.monotonic()
        async with self._engine.connect() as conn:
            found = await conn.execute(
                select(TOKENS.c.audience).where(TOKENS.c.token_hash == token_hash)
            )
            audience: str | None = found.scalar_one_or_none()
        if len(self._entries) >= self._max:
            self._entries.clear()
        self._entries[token_hash] = (audience, now + self._ttl)
        return audience
