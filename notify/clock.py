"""One clock for business time: the real time, or the test clock kept in the database.

Business time decides reminders, reconciliations, renewals and expiry. Signature tolerance and
delivery backoff always use the real time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    async def now(self) -> datetime:
        """The current business time, aware UTC."""
        ...


class SystemClock:
    """Business time is the real time."""

    async def now(self) -> datetime:
        return datetime.now(UTC)
