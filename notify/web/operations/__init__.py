"""Every route of the HTTP API as one table: its answers by status, with media type and schema,
its request body, its security. ``notify.web.openapi`` turns it into the OpenAPI document.

A route added to the application needs a row here (``service`` or ``admin``): a test checks
that every registered route has one and every row a route. Add its answers as the route gives
them; the problem answers that every route can give (404 for a path parameter that names
nothing, 408 and 413 for a body) only where the route has such a parameter or body.
"""

from __future__ import annotations

from typing import Final

from notify.web.operations.admin import ADMIN, FORECASTS, LISTS
from notify.web.operations.base import (
    JSON,
    PROBLEM_SCHEMA,
    RECEIPT_SCHEMA,
    SECURITY,
    STRING,
    TIMESTAMP,
    Operation,
    Schema,
    obj,
)
from notify.web.operations.console import CONSOLE
from notify.web.operations.service import SERVICE

OPERATIONS: Final[tuple[Operation, ...]] = (*SERVICE, *ADMIN, *FORECASTS, *LISTS, *CONSOLE)

__all__ = [
    "JSON",
    "OPERATIONS",
    "PROBLEM_SCHEMA",
    "RECEIPT_SCHEMA",
    "SECURITY",
    "STRING",
    "TIMESTAMP",
    "Operation",
    "Schema",
    "obj",
]
