"""JSON for the billing core's values: subscription state and invoices, to rows and back.

The core's values are frozen dataclasses of str, int, bool, Decimal, date, datetime, enums,
tuples, frozensets and other such dataclasses. Encoding is by reflection over the dataclass
fields; decoding follows the field's type hints, so a stored state comes back exactly equal
(a round-trip test checks it on generated states). Decimals travel as strings, never floats.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar, get_args, get_origin

T = TypeVar("T")


def to_jsonable(value: Any) -> Any:
    """A JSON-ready tree for a core value."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, frozenset):
        return sorted(to_jsonable(v) for v in value)
    if isinstance(value, tuple | list):
        return [to_jsonable(v) for v in value]
    if isinstance(value, typing.Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    raise TypeError(f"cannot encode {type(value).__name__}")


def dumps(value: Any) -> str:
    return json.dumps(to_jsonable(value), separators=(",", ":"), sort_keys=True)


def loads(cls: type[T], text: str) -> T:
    return from_jsonable(cls, json.loads(text))  # type: ignore[no-any-return]


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def from_jsonable(tp: Any, data: Any) -> Any:
    """Rebuild a value of type ``tp`` from :func:`to_jsonable`'s output."""
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in get_args(tp) if a is not type(None)]
        if data is None:
            return None
        if len(options) != 1:
            raise TypeError(f"ambiguous union {tp}")
        return from_jsonable(options[0], data)
    if origin is tuple:
        (item, *_rest) = get_args(tp)
        return tuple(from_jsonable(item, v) for v in data)
    if origin is frozenset:
        (item,) = get_args(tp)
        return frozenset(from_jsonable(item, v) for v in data)
    if tp is Any or tp in (str, int, bool) or data is None:
        return data
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(data)
    if tp is Decimal:
        return Decimal(data)
    if tp is datetime:
        return datetime.fromisoformat(data)
    if tp is date:
        return date.fromisoformat(data)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = _hints(tp)
        kwargs = {
            f.name: from_jsonable(hints[f.name], data[f.name])
            for f in dataclasses.fields(tp)
            if f.init and f.name in data
        }
        return tp(**kwargs)
    raise TypeError(f"cannot decode {tp}")
