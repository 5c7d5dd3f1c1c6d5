"""SQL constructs that render differently on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ARRAY, Boolean, any_, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal


def one_of(column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
    """``column`` equals one of the values passed as the list parameter ``name``."""
    return OneOf(column, name)


class OneOf(ColumnElement[bool]):
    """See :func:`one_of`.

    On PostgreSQL ``column = ANY(:name)`` with the list as one array parameter, so the statement
    text is the same whatever the list's length: asyncpg prepares it once per connection. An
    ``IN`` list renders one placeholder per value, so every new length is a new statement to
    render and prepare, and the batches here range from 1 to 100 values. On SQLite, which has no
    arrays, ``column IN (…)`` (an expanding parameter).
    """

    inherit_cache = True
    type = Boolean()
    # A predicate, as a comparison is: SQLite must not render it as ``(…) = 1``.
    _is_implicitly_boolean = True
    # What the compiled SQL depends on, so that the statement cache tells instances apart.
    _traverse_internals = [  # noqa: RUF012 - SQLAlchemy's own declaration is a list
        ("column", InternalTraversal.dp_clauseelement),
        ("name", InternalTraversal.dp_string),
    ]

    def __init__(self, column: ColumnElement[Any], name: str) -> None:
        self.column = column
        self.name = name


@compiles(OneOf)
def _in_list(element: OneOf, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.column.in_(bindparam(element.name, expanding=True)), **kw))


@compiles(OneOf, "postgresql")
def _any_array(element: OneOf, compiler: Any, **kw: Any) -> str:
    values = bindparam(element.name, type_=ARRAY(element.column.type))
    return str(compiler.process(element.column == any_(values), **kw))
