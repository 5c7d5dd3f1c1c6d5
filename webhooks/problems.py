"""RFC 9457 problem details: every error answer of the HTTP API is built here."""

from __future__ import annotations

import json
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from aiohttp import web

CONTENT_TYPE = "application/problem+json"


def problem_document(
    status: int,
    slug: str,
    detail: str,
    *,
    errors: Sequence[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """The body of a problem answer; ``type`` is a stable URI reference per kind of problem."""
    body: dict[str, Any] = {
        "type": f"/problems/{slug}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = list(errors)
    return body


def problem(
    status: int,
    slug: str,
    detail: str,
    *,
    errors: Sequence[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """An error answer (docs/decisions.md lists the problem types)."""
    return web.Response(
        status=status,
        body=json.dumps(problem_document(status, slug, detail, errors=errors)).encode(),
        content_type=CONTENT_TYPE,
        headers=headers,
    )
