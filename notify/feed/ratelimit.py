"""Per-token rate limiting: one token bucket per feed token, in the memory of each process.

A bucket holds up to ``burst`` requests and refills at ``per_second``; a request takes one or
is refused with the seconds until one is back. Buckets are independent, so one noisy token
never slows another. A full bucket is the same as no bucket, which is what lets idle ones be
dropped when the table grows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class RateLimit:
    per_second: float
    burst: int


# A GitLab instance polling at the advertised interval makes one request in 300 s; this limit
# sits far above that and only stops runaway loops, while keeping any one token to a small
# share of a process (docs/feed.md, "Rate limit").
DEFAULT_LIMIT = RateLimit(per_second=20.0, burst=200)


class TokenBuckets:
    def __init__(
        self,
        limit: RateLimit = DEFAULT_LIMIT,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        max_entries: int = 100_000,
    ) -> None:
        self._rate = limit.per_second
        self._burst = float(limit.burst)
        self._monotonic = monotonic
        self._max = max_entries
        # key → [tokens left, when counted]
        self._buckets: dict[str, list[float]] = {}

    def take(self, key: str) -> float:
        """Take one request from ``key``'s bucket: 0.0 when allowed, else the seconds to wait."""
        now = self._monotonic()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max:
                self._drop_full(now)
            self._buckets[key] = [self._burst - 1.0, now]
            return 0.0
        tokens = self._tokens(bucket, now)
        bucket[1] = now
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            return 0.0
        bucket[0] = tokens
        return (1.0 - tokens) / self._rate

    def waiting(self, key: str) -> float:
        """The seconds until ``key``'s bucket holds a request again (0.0: it does); takes none."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return 0.0
        return max(0.0, (1.0 - self._tokens(bucket, self._monotonic())) / self._rate)

    def _tokens(self, bucket: list[float], now: float) -> float:
        return min(self._burst, bucket[0] + (now - bucket[1]) * self._rate)

    def __len__(self) -> int:
        return len(self._buckets)

    def _drop_full(self, now: float) -> None:
        full = [
            key
            for key, (tokens, at) in self._buckets.items()
            if tokens + (now - at) * self._rate >= self._burst
        ]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) >= self._max:
            # Every bucket is busy: start over rather than grow; the limit forgives once.
            self._buckets.clear()
