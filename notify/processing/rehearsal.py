"""A rehearsal of the processor's transaction, so the real one computes almost nothing.

While webhooks arrive, the processor's write transaction is what a webhook's commit waits
for on SQLite (one write lock), and its computing is what the event loop waits for on both
backends (docs/delivery.md, "Accepting webhooks while delivering"). So the processor first
runs the very same transaction code on a read snapshot with its writes left out
(``Rehearsal``): off the write lock, and on SQLite in a thread of its own. What that run works
out with pure functions (decoded states and events, the timeline's results, the email rows,
the JSON of states and invoices, the feed rows) is kept in a ``Worked``; the real transaction
then runs the same code again and, wherever it meets the same inputs, takes the result
instead of computing it.

Nothing is decided by the rehearsal: the real transaction reads everything again under its
locks and decides all of it anew. A result is reused only for the very same inputs (the same
stored text, or the very objects the rehearsal's own results were made of), so a row that
changed in between is simply computed again.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from sqlalchemy import Dialect, Executable
from sqlalchemy.sql.dml import UpdateBase

from notify.db.engine import Statements

T = TypeVar("T")


class Worked:
    """Results of pure functions, each under the identity of what it was computed from."""

    def __init__(self) -> None:
        self._results: dict[tuple[Any, ...], tuple[tuple[object, ...], Any]] = {}

    def reuse(
        self, key: tuple[Any, ...], inputs: tuple[object, ...], make: Callable[..., T], *args: Any
    ) -> T:
        """``make(*args)``, or what it returned before for ``key`` made of the very same
        ``inputs``.

        ``key`` holds values and ``id()``s of ``inputs``; the inputs themselves are kept with
        the result, so an id is never that of a newer object at a recycled address."""
        found = self._results.get(key)
        if found is not None and all(a is b for a, b in zip(found[0], inputs, strict=True)):
            result: T = found[1]
            return result
        made = make(*args)
        self._results[key] = (inputs, made)
        return made


_WORKED: contextvars.ContextVar[Worked | None] = contextvars.ContextVar("worked", default=None)


def reuse(
    key: tuple[Any, ...], inputs: tuple[object, ...], make: Callable[..., T], *args: Any
) -> T:
    """``make(*args)``, through the current ``Worked`` while a rehearsal and its transaction
    are on.

    Only for pure functions of what ``key`` and ``inputs`` name: the result may be one
    computed earlier for the same ones."""
    worked = _WORKED.get()
    return make(*args) if worked is None else worked.reuse(key, inputs, make, *args)


@contextlib.contextmanager
def rehearsed() -> Iterator[Worked]:
    """Keep what is worked out inside (a rehearsal and then its transaction) for reuse."""
    worked = Worked()
    token = _WORKED.set(worked)
    try:
        yield worked
    finally:
        _WORKED.reset(token)


class Rehearsal:
    """``Statements`` that read through ``conn`` and leave every write out."""

    def __init__(self, conn: Statements) -> None:
        self._conn = conn

    @property
    def dialect(self) -> Dialect:
        return self._conn.dialect

    async def execute(self, statement: Executable, parameters: Any = None) -> Any:
        if isinstance(statement, UpdateBase):
            return None  # what the transaction writes is its own business, not the rehearsal's
        return await self._conn.execute(statement, parameters)


def rehearsing(conn: Statements) -> bool:
    """True in a rehearsal: the code may then skip what only a real transaction needs."""
    return isinstance(conn, Rehearsal)
