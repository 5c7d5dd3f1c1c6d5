"""Column types shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.dialects.sqlite import DATETIME as SQLITE_DATETIME
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class _SQLiteUTCText(SQLITE_DATETIME):
    """A DATETIME column on SQLite whose values :class:`UTCDateTime` writes and reads itself.

    The text is the one SQLAlchemy's SQLite DATETIME stores (``YYYY-MM-DD HH:MM:SS.ffffff``,
    UTC, no offset), so rows written before read the same and ordering by the text is ordering
    by time. The C methods ``datetime.isoformat`` and ``fromisoformat`` do in one call what the
    stock processors do in Python with a format dict and a regular expression: a timestamp is
    bound on every write of every row, and a batch binds thousands.
    """

    def bind_processor(self, dialect: Dialect) -> None:
        return None

    def result_processor(self, dialect: Dialect, coltype: object) -> None:
        return None


# SQLAlchemy's SQLite DATETIME leaves its constructor untyped.
_SQLITE_TEXT = _SQLiteUTCText()  # type: ignore[no-untyped-call]


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC timestamp on every backend.

    SQLite has no time zone type and hands back naive values; PostgreSQL's timestamptz keeps the
    offset. Values are normalized to UTC on the way in and come back aware on the way out, so
    comparisons never mix naive and aware datetimes.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return _SQLITE_TEXT if dialect.name == "sqlite" else self.impl_instance

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware UTC timestamp is required")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None).isoformat(" ", "microseconds")
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # SQLite's text
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
