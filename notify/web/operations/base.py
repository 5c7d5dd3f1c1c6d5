"""What a row of the route table is made of: operations, answers, and the shared schemas."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

Schema = dict[str, Any]
JSON: Final = "application/json"
PROBLEM: Final = "application/problem+json"
HTML: Final = "text/html"
FORM: Final = "application/x-www-form-urlencoded"


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required: list[str], extra: bool = True, **properties: Schema) -> Schema:
    schema: Schema = {"type": "object", "required": required, "properties": properties}
    if not extra:
        schema["additionalProperties"] = False
    return schema


STRING: Final[Schema] = {"type": "string"}
TIMESTAMP: Final[Schema] = {"type": "string", "format": "date-time"}
NULLABLE_TIMESTAMP: Final[Schema] = {"type": ["string", "null"], "format": "date-time"}


@dataclass(frozen=True, slots=True)
class Answer:
    description: str
    schema: Schema | None = None
    media_type: str = JSON
    headers: tuple[str, ...] = ()


def problem(description: str) -> Answer:
    return Answer(description, ref("Problem"), PROBLEM)


@dataclass(frozen=True, slots=True, kw_only=True)
class Operation:
    method: str
    path: str
    summary: str
    answers: dict[int, Answer]
    body: Schema | None = None
    body_media_type: str = JSON  # FORM for the console's forms
    security: str | None = None  # a key of SECURITY
    headers: tuple[str, ...] = ()  # required request headers (webhook signature)
    query: dict[str, Schema] = field(default_factory=dict)  # optional query parameters
    tags: tuple[str, ...] = field(default=("service",))


UNAUTHORIZED = problem("missing or wrong bearer token")
NAMES_NOTHING = problem("no such resource, or a path parameter that names nothing")
UNAVAILABLE = problem("the database did not answer; retry later")
MALFORMED = problem("the body is not JSON, or an object in it repeats a key")
TOO_LARGE = problem("the body is larger than the limit")
SLOW_BODY = problem("the body did not arrive in time")
INVALID = problem("the body is JSON but not what this route takes; errors lists the fields")
RATE_LIMITED = problem("too many requests with this feed token")
NOT_A_LINK = problem("not a valid unsubscribe link")

SECURITY: Final[dict[str, Schema]] = {
    "admin": {"type": "http", "scheme": "bearer", "description": "NOTIFY_ADMIN_TOKEN"},
    "feed": {"type": "http", "scheme": "bearer", "description": "a feed token (nft_…)"},
}

FEED_ITEM: Final = obj(
    [
        "id",
        "kind",
        "severity",
        "title",
        "body",
        "cta",
        "subscription_id",
        "created_at",
        "updated_at",
        "expires_at",
        "dismissible",
    ],
    id=STRING,
    kind=STRING,
    severity={"enum": ["info", "warning", "danger"]},
    title=STRING,
    body=STRING,
    cta={"anyOf": [obj(["label", "url"], label=STRING, url=STRING), {"type": "null"}]},
    subscription_id=STRING,
    created_at=TIMESTAMP,
    updated_at=TIMESTAMP,
    expires_at=NULLABLE_TIMESTAMP,
    dismissible={"type": "boolean"},
)
DEPENDENCIES: Final = {
    "type": "object",
    "additionalProperties": obj(["up"], up={"type": "boolean"}, error=STRING),
}
CLOCK: Final = obj(["now"], now=TIMESTAMP)
ARRAY: Final[Schema] = {"type": "array", "items": {"type": "object"}}

PROBLEM_SCHEMA: Final = obj(
    ["type", "title", "status", "detail"],
    type=STRING,
    title=STRING,
    status={"type": "integer", "minimum": 400, "maximum": 599},
    detail=STRING,
    errors={"type": "array", "items": obj(["field", "message"], field=STRING, message=STRING)},
)
RECEIPT_SCHEMA: Final = obj(
    ["id", "status"], id=STRING, status={"enum": ["accepted", "duplicate", "ignored"]}
)
