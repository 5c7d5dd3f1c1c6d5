"""When to try a failed email again: a pure policy that returns a decision.

``attempts`` counts every hand-over to the transport, the quick in-process retries included, so
the row's count tells an operator how often the server was actually asked. After a pass that
ended in a transient failure the next pass waits ``base × 2^(attempts−1)`` (capped), with equal
jitter: at least half of that, at most all of it, so a crowd of rows that failed together
spreads out instead of returning at the same instant.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryPolicy:
    """The knobs of delivery. The defaults give up after about seven hours of failures."""

    batch_size: int = 32
    concurrency: int = 8
    # Passes run side by side (each claims batch_size / lanes rows), so the connections stay
    # busy while a pass records and claims.
    lanes: int = 2
    # A pass sends at most batch_size / concurrency rounds of at most tries × (timeout + wait):
    # with the defaults 4 × 3 × ~21 s, inside the lease, so a live worker never loses its rows.
    lease: timedelta = timedelta(minutes=5)
    send_timeout: float = 20.0
    tries: int = 3
    retry_wait: float = 0.2
    retry_wait_max: float = 1.0
    max_attempts: int = 30
    backoff_base: timedelta = timedelta(seconds=5)
    backoff_cap: timedelta = timedelta(hours=1)
    poll_interval: float = 1.0


DEFAULT_POLICY = DeliveryPolicy()


def quick_retry_wait(tries: int, policy: DeliveryPolicy = DEFAULT_POLICY) -> float:
    """Seconds before the next quick try of a pass, ``tries`` having failed in it so far:
    ``retry_wait × 2^(tries−1)``, at most ``retry_wait_max``."""
    return min(policy.retry_wait_max, policy.retry_wait * 2.0 ** (tries - 1))


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryDecision:
    """Give up (the row goes ``dead``), or try again at ``next_attempt_at``."""

    give_up: bool
    next_attempt_at: datetime | None


def retry_decision(
    attempts: int, now: datetime, rng: random.Random, policy: DeliveryPolicy = DEFAULT_POLICY
) -> RetryDecision:
    """What to do after a transient failure, ``attempts`` tries having been made in all."""
    if attempts >= policy.max_attempts:
        return RetryDecision(give_up=True, next_attempt_at=None)
    exponent = min(max(attempts - 1, 0), 30)
    delay = min(policy.backoff_cap, policy.backoff_base * (2**exponent))
    jittered = delay / 2 + delay / 2 * rng.random()
    return RetryDecision(give_up=False, next_attempt_at=now + jittered)
