"""``one_of``: a list parameter matched on both databases, one statement text on PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, event, select

from notify.db.clauses import one_of
from notify.db.engine import create_engine

PROBE = Table(
    "one_of_probe",
    MetaData(),
    Column("n", Integer, primary_key=True),
    Column("s", String(20)),
    prefixes=["TEMPORARY"],
)
BY_NUMBER = select(PROBE.c.n).where(one_of(PROBE.c.n, "numbers")).order_by(PROBE.c.n)
BY_TEXT_OR_NUMBER = (
    select(PROBE.c.n)
    .where(
        one_of(PROBE.c.s, "texts")
        | (one_of(PROBE.c.n, "numbers") & (PROBE.c.n > bindparam("above")))
    )
    .order_by(PROBE.c.n)
)
NEGATED = select(PROBE.c.n).where(~one_of(PROBE.c.n, "numbers")).order_by(PROBE.c.n)


async def test_one_of_matches_lists_of_any_length(db_url: str) -> None:
    engine = create_engine(db_url)
    statements: list[str] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "one_of_probe" in statement and statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    try:
        async with engine.begin() as conn:
            await conn.run_sync(PROBE.create)
            await conn.execute(PROBE.insert(), [{"n": n, "s": f"s{n}"} for n in range(1, 201)])

            async def numbers(statement: Any, **params: Any) -> list[int]:
                return list((await conn.execute(statement, params)).scalars())

            assert await numbers(BY_NUMBER, numbers=[]) == []
            assert await numbers(BY_NUMBER, numbers=[7]) == [7]
            assert await numbers(BY_NUMBER, numbers=[9, 3, 999, 3]) == [3, 9]
            wanted = list(range(2, 301, 2))  # 150 values, half of them absent
            assert await numbers(BY_NUMBER, numbers=wanted) == list(range(2, 201, 2))
            assert await numbers(
                BY_TEXT_OR_NUMBER, texts=["s5", "s6", "nope"], numbers=[1, 2, 150, 160], above=100
            ) == [5, 6, 150, 160]
            assert await numbers(BY_TEXT_OR_NUMBER, texts=[], numbers=[], above=0) == []
            assert await numbers(NEGATED, numbers=list(range(3, 201))) == [1, 2]
    finally:
        await engine.dispose()

    by_number = [s for s in statements if " OR " not in s and "NOT" not in s.upper()]
    assert len(by_number) == 4
    if engine.dialect.name == "postgresql":
        # One text whatever the list's length: asyncpg prepares it once.
        assert len(set(by_number)) == 1
    else:
        assert len(set(by_number)) >= 3
