"""The OpenAPI 3.1 document of the HTTP API, served at ``GET /openapi.json``.

Built from the table of routes in ``notify.web.operations`` and, for the webhook bodies, from
the pydantic models of ``webhooks.schemas``. It lists only the rows whose route the running
application has (the test clock's only with ``NOTIFY_TEST_CLOCK=1``). ``HEAD``, which aiohttp
answers for every ``GET``, is left out.
"""

from __future__ import annotations

import functools
import json
from typing import Final, Literal

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from notify.web.errors import MAX_PATH_PARAMETER
from notify.web.operations import (
    JSON,
    OPERATIONS,
    PROBLEM_SCHEMA,
    RECEIPT_SCHEMA,
    SECURITY,
    STRING,
    TIMESTAMP,
    Operation,
    Schema,
    obj,
)
from webhooks.schemas import EVENT_TYPES, MAX_TYPE_LENGTH


@functools.cache
def _event_schemas() -> tuple[Schema, dict[str, Schema]]:
    """The envelope, and the pydantic models' schemas of each known type's data."""
    models: list[tuple[type[BaseModel], Literal["validation"]]] = [
        (model, "validation") for model in EVENT_TYPES.values()
    ]
    refs, top = models_json_schema(models, ref_template="#/components/schemas/{model}")
    typed = [
        obj(
            ["type", "timestamp", "data"],
            type={"const": name},
            timestamp=TIMESTAMP,
            data=refs[(model, "validation")],
        )
        for name, model in EVENT_TYPES.items()
    ]
    other = obj(
        ["type", "timestamp", "data"],
        type={
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_TYPE_LENGTH,
            "pattern": "^[!-~]+$",
        },
        timestamp=TIMESTAMP,
        data={"type": "object"},
    )
    envelope = {"anyOf": [*typed, other], "description": "an event (contract §2)"}
    return envelope, top.get("$defs", {})


# What notify.web.errors lets reach a handler; anything else is a 404 problem.
PATH_PARAMETER: Final[Schema] = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_PATH_PARAMETER,
    "pattern": "^[^\\x00-\\x1f\\x7f]+$",
}


def _parameters(operation: Operation) -> list[Schema]:
    names = [part[1:-1] for part in operation.path.split("/") if part.startswith("{")]
    found: list[Schema] = [
        {"name": name, "in": "path", "required": True, "schema": PATH_PARAMETER} for name in names
    ]
    found += [
        {"name": name, "in": "header", "required": True, "schema": {"type": "string"}}
        for name in operation.headers
    ]
    found += [
        {"name": name, "in": "query", "required": False, "schema": schema}
        for name, schema in operation.query.items()
    ]
    return found


def _responses(operation: Operation) -> Schema:
    responses: Schema = {}
    for status, answer in sorted(operation.answers.items()):
        entry: Schema = {"description": answer.description}
        if answer.schema is not None:
            entry["content"] = {answer.media_type: {"schema": answer.schema}}
        if answer.headers:
            entry["headers"] = {name: {"schema": STRING} for name in answer.headers}
        responses[str(status)] = entry
    return responses


def _operation(operation: Operation) -> Schema:
    spec: Schema = {
        "summary": operation.summary,
        "operationId": f"{operation.method}{operation.path}",
        "tags": list(operation.tags),
        "responses": _responses(operation),
    }
    parameters = _parameters(operation)
    if parameters:
        spec["parameters"] = parameters
    if operation.body is not None:
        content = {operation.body_media_type: {"schema": operation.body}}
        spec["requestBody"] = {"required": True, "content": content}
    if operation.security is not None:
        spec["security"] = [{operation.security: []}]
    return spec


def registered(app: web.Application) -> set[tuple[str, str]]:
    """(method, path template) of every route of ``app`` but HEAD, in lower-case methods."""
    found = set()
    for route in app.router.routes():
        if route.method == "HEAD" or route.resource is None:
            continue
        info = route.resource.get_info()
        found.add((route.method.lower(), info.get("formatter") or info.get("path", "")))
    return found


def document(routes: set[tuple[str, str]]) -> Schema:
    """The OpenAPI document of the operations among ``routes``."""
    envelope, models = _event_schemas()
    paths: Schema = {}
    for operation in OPERATIONS:
        if (operation.method, operation.path) in routes:
            paths.setdefault(operation.path, {})[operation.method] = _operation(operation)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "notify",
            "version": "1",
            "description": "Subscription webhooks in; bills, emails and an in-app feed out.",
        },
        "paths": paths,
        "components": {
            "schemas": {
                "Problem": PROBLEM_SCHEMA,
                "Receipt": RECEIPT_SCHEMA,
                "Envelope": envelope,
                **models,
            },
            "securitySchemes": SECURITY,
        },
    }


class _Rendered:
    """The document, rendered on first request (the routes are all known by then)."""

    body: bytes | None = None


OPENAPI = web.AppKey("openapi", _Rendered)


async def openapi_json(request: web.Request) -> web.Response:
    rendered = request.app[OPENAPI]
    if rendered.body is None:
        rendered.body = json.dumps(document(registered(request.app))).encode()
    return web.Response(body=rendered.body, content_type=JSON)


def add_route(app: web.Application) -> None:
    app[OPENAPI] = _Rendered()
    app.router.add_get("/openapi.json", openapi_json)
