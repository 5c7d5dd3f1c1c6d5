"""Request bodies of the service's own JSON routes (admin API, feed tokens): strict JSON only."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from webhooks import strictjson
from webhooks.problems import CONTENT_TYPE, problem_document


async def json_body(request: web.Request) -> Any:
    """The body's JSON value; raise a 400 problem when it is not JSON, repeats a key in an
    object or is not UTF-8 (the same parser and rules as ``POST /webhooks``)."""
    raw = await request.read()
    try:
        return strictjson.loads(raw)
    except strictjson.InvalidJson as exc:
        detail = f"the body is not valid JSON: {exc}"
        raise web.HTTPBadRequest(
            text=json.dumps(problem_document(400, "malformed-body", detail)),
            content_type=CONTENT_TYPE,
        ) from None
