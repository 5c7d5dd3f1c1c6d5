"""The one JSON parser of request bodies: strict, so that every parser reads a body alike.

A body whose object repeats a key (at any depth, also when one spelling is escaped:
``{"a": 1, "\\u0061": 2}``) is not JSON here. Parsers disagree on such bodies (most keep the last
value, some the first, some refuse), so a signed body with a repeated key means one thing to
this service and another to the next reader of the same bytes. ``NaN`` and ``Infinity`` are
refused, and so is nesting deeper than the parser's limit, without recursing in Python.

jiter is the parser inside pydantic-core, so it reads everything else exactly as pydantic's
``from_json`` did before; its ``catch_duplicate_keys`` costs about half a microsecond on a
typical webhook (``bench/strict_json``), where ``json.loads`` with an ``object_pairs_hook``
costs three to four.
"""

from __future__ import annotations

from typing import Any

import jiter


class InvalidJson(ValueError):
    """Not JSON, or JSON with a repeated key; the message says what and where."""


def loads(data: bytes) -> Any:
    """The value of ``data``; raise InvalidJson when it is not strict JSON."""
    try:
        return jiter.from_json(data, allow_inf_nan=False, catch_duplicate_keys=True)
    except ValueError as exc:
        raise InvalidJson(str(exc)) from None
