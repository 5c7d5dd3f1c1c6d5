"""``UTCDateTime``: aware UTC in and out on both databases, SQLite's text as it always was."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, Table, select, text
from sqlalchemy.dialects import sqlite

from notify.db.engine import create_engine
from notify.db.types import UTCDateTime

PROBE = Table(
    "utc_probe",
    MetaData(),
    Column("n", Integer, primary_key=True),
    Column("at", UTCDateTime()),
    prefixes=["TEMPORARY"],
)
SQLITE = sqlite.dialect()
STOCK_BIND = sqlite.DATETIME().bind_processor(SQLITE)
STOCK_RESULT = sqlite.DATETIME().result_processor(SQLITE, None)
OFFSETS = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
MOMENTS = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=OFFSETS
)


@given(MOMENTS)
def test_sqlite_gets_the_text_sqlalchemys_datetime_stored_and_reads_it_back(at: datetime) -> None:
    # Databases written before hold the stock DATETIME text: the same moment must give the same
    # text (equality and ordering in SQL compare text) and that text must read back the same.
    kind = UTCDateTime()
    bound = kind.bind_processor(SQLITE)
    result = kind.result_processor(SQLITE, None)
    assert bound is not None and result is not None and STOCK_BIND is not None
    utc = at.astimezone(UTC)
    written = bound(at)
    assert written == STOCK_BIND(utc.replace(tzinfo=None))
    assert result(written) == utc
    assert result(written).tzinfo is UTC


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ("2026-02-28 23:59:59.999999", datetime(2026, 2, 28, 23, 59, 59, 999999, tzinfo=UTC)),
        # What SQLite's own CURRENT_TIMESTAMP and datetime() write: no fraction.
        ("2024-02-29 00:00:00", datetime(2024, 2, 29, tzinfo=UTC)),
    ],
)
def test_sqlite_text_in_either_stock_form_reads_as_the_stock_processor_reads_it(
    stored: str, expected: datetime
) -> None:
    result = UTCDateTime().result_processor(SQLITE, None)
    assert result is not None and STOCK_RESULT is not None
    assert result(stored) == expected
    assert result(stored) == STOCK_RESULT(stored).replace(tzinfo=UTC)


def test_a_naive_value_is_refused_before_it_reaches_the_database() -> None:
    bound = UTCDateTime().bind_processor(SQLITE)
    assert bound is not None
    with pytest.raises(ValueError, match="naive datetime"):
        bound(datetime(2026, 1, 1))


async def test_values_come_back_aware_utc_and_compare_as_moments(db_url: str) -> None:
    engine = create_engine(db_url)
    berlin = timezone(timedelta(hours=1))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(PROBE.metadata.create_all)
            await conn.execute(
                PROBE.insert(),
                [
                    {"n": 1, "at": datetime(2026, 3, 1, 0, 30, tzinfo=berlin)},
                    {"n": 2, "at": datetime(2026, 2, 28, 23, 45, tzinfo=UTC)},
                    {"n": 3, "at": None},
                ],
            )
            rows = (await conn.execute(select(PROBE).order_by(PROBE.c.n))).all()
            assert [(r.n, r.at) for r in rows] == [
                (1, datetime(2026, 2, 28, 23, 30, tzinfo=UTC)),
                (2, datetime(2026, 2, 28, 23, 45, tzinfo=UTC)),
                (3, None),
            ]
            assert all(r.at is None or r.at.tzinfo is UTC for r in rows)
            # 00:30 in Berlin is earlier than 23:45 UTC the day before.
            cutoff = datetime(2026, 2, 28, 23, 40, tzinfo=UTC)
            earlier = await conn.execute(select(PROBE.c.n).where(PROBE.c.at < cutoff))
            assert earlier.scalars().all() == [1]
            if engine.dialect.name == "sqlite":
                raw = await conn.execute(text("SELECT at FROM utc_probe WHERE n = 1"))
                assert raw.scalar_one() == "2026-02-28 23:30:00.000000"
    finally:
        await engine.dispose()
