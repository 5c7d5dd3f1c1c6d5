"""Every route of the HTTP API as one table: its answers by status, with media type and schema,
its request body, its security. ``notify.web.openapi`` turns it into the OpenAPI document.

A route added to the application needs a row here: a test checks that every registered route
has one and every row a route. Add its answers as the route gives them; the problem answers
that every route can give (404 for a path parameter that names nothing, 408 and 413 for a
body) only where the route has such a parameter or body.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

Schema = dict[str, Any]
JSON: Final = "application/json"
PROBLEM: Final = "application/problem+json"
HTML: Final = "text/html"


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
    security: str | None = None  # a key of SECURITY
    headers: tuple[str, ...] = ()  # required request headers (webhook signature)
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

OPERATIONS: Final[tuple[Operation, ...]] = (
    Operation(
        method="post",
        path="/webhooks",
        summary="Receive a signed event (Standard Webhooks v1)",
        tags=("webhooks",),
        body=ref("Envelope"),
        headers=("webhook-id", "webhook-timestamp", "webhook-signature"),
        answers={
            200: Answer("the same event was stored before", ref("Receipt")),
            202: Answer("stored: accepted, or ignored when of an unknown type", ref("Receipt")),
            400: problem("not JSON, a repeated key, a malformed envelope or webhook-id"),
            401: problem("signature or timestamp headers missing, wrong or too old"),
            408: SLOW_BODY,
            409: problem("this webhook-id arrived before with another body"),
            413: TOO_LARGE,
            415: problem("Content-Type is not application/json"),
            422: INVALID,
            503: problem("the event could not be stored; retry later"),
        },
    ),
    Operation(
        method="get",
        path="/healthz",
        summary="Liveness",
        tags=("operations",),
        answers={200: Answer("the process runs", obj(["status"], status={"const": "ok"}))},
    ),
    Operation(
        method="get",
        path="/readyz",
        summary="Readiness: the database answers; the SMTP server is reported",
        tags=("operations",),
        answers={
            200: Answer(
                "ready",
                obj(
                    ["status", "dependencies"], status={"const": "ready"}, dependencies=DEPENDENCIES
                ),
            ),
            503: Answer(
                "the database does not answer",
                {"allOf": [ref("Problem"), obj(["dependencies"], dependencies=DEPENDENCIES)]},
                PROBLEM,
            ),
        },
    ),
    Operation(
        method="get",
        path="/metrics",
        summary="Prometheus metrics",
        tags=("operations",),
        answers={200: Answer("the text exposition format", STRING, "text/plain")},
    ),
    Operation(
        method="get",
        path="/openapi.json",
        summary="This document",
        tags=("operations",),
        answers={200: Answer("OpenAPI 3.1", {"type": "object"})},
    ),
    Operation(
        method="get",
        path="/admin/api/v1/subscriptions/{id}",
        summary="A subscription's state, events, invoices and notifications",
        tags=("admin",),
        security="admin",
        answers={
            200: Answer(
                "the subscription's story",
                obj(
                    ["state", "events", "invoices", "notifications"],
                    state={"type": ["object", "null"]},
                    events=ARRAY,
                    invoices=ARRAY,
                    notifications=ARRAY,
                ),
            ),
            401: UNAUTHORIZED,
            404: NAMES_NOTHING,
            503: UNAVAILABLE,
        },
    ),
    Operation(
        method="get",
        path="/admin/api/v1/suppressions",
        summary="Suppressed addresses",
        tags=("admin",),
        security="admin",
        answers={
            200: Answer(
                "oldest first",
                obj(
                    ["items"],
                    items={
                        "type": "array",
                        "items": obj(
                            ["address", "reason", "created_at"],
                            address=STRING,
                            reason=STRING,
                            created_at=TIMESTAMP,
                        ),
                    },
                ),
            ),
            401: UNAUTHORIZED,
            503: UNAVAILABLE,
        },
    ),
    Operation(
        method="delete",
        path="/admin/api/v1/suppressions/{address}",
        summary="Lift a suppression",
        tags=("admin",),
        security="admin",
        answers={
            204: Answer("lifted"),
            401: UNAUTHORIZED,
            404: problem("the address is not suppressed, or names nothing"),
            503: UNAVAILABLE,
        },
    ),
    Operation(
        method="post",
        path="/admin/api/v1/feed-tokens",
        summary="Make a feed token for a namespace or an instance",
        tags=("admin",),
        security="admin",
        body=obj([], extra=False, namespace_id=STRING, instance_id=STRING),
        answers={
            201: Answer(
                "the token, shown only this once",
                obj(["token"], token=STRING, namespace_id=STRING, instance_id=STRING),
            ),
            400: MALFORMED,
            401: UNAUTHORIZED,
            408: SLOW_BODY,
            413: TOO_LARGE,
            422: INVALID,
            503: UNAVAILABLE,
        },
    ),
    Operation(
        method="get",
        path="/admin/api/v1/clock",
        summary="The test clock (NOTIFY_TEST_CLOCK=1)",
        tags=("admin",),
        security="admin",
        answers={200: Answer("business time", CLOCK), 401: UNAUTHORIZED, 503: UNAVAILABLE},
    ),
    Operation(
        method="post",
        path="/admin/api/v1/clock",
        summary="Move the test clock forward; answers once the work due by then is done",
        tags=("admin",),
        security="admin",
        body=CLOCK,
        answers={
            200: Answer("the clock's new time", CLOCK),
            400: MALFORMED,
            401: UNAUTHORIZED,
            408: SLOW_BODY,
            409: problem("earlier than the clock's current time"),
            413: TOO_LARGE,
            422: INVALID,
            503: problem("the database did not answer, or the work due did not finish in time"),
        },
    ),
    Operation(
        method="get",
        path="/api/v1/feed",
        summary="The token's audience's active feed items",
        tags=("feed",),
        security="feed",
        answers={
            200: Answer(
                "most severe first",
                obj(["items"], items={"type": "array", "items": FEED_ITEM}),
                headers=("ETag", "Poll-Interval"),
            ),
            304: Answer("If-None-Match holds the current ETag", headers=("ETag",)),
            401: UNAUTHORIZED,
            429: RATE_LIMITED,
            503: UNAVAILABLE,
        },
    ),
    Operation(
        method="post",
        path="/api/v1/feed/{id}/dismiss",
        summary="Dismiss a feed item",
        tags=("feed",),
        security="feed",
        answers={
            204: Answer("dismissed"),
            401: UNAUTHORIZED,
            404: problem("no such item in the token's audience, or a name that names nothing"),
            409: problem("the item is not dismissible"),
            429: RATE_LIMITED,
            503: UNAVAILABLE,
        },
    ),
    Operation(
        method="get",
        path="/unsubscribe/{token}",
        summary="The one-click unsubscribe page (a GET never unsubscribes)",
        tags=("unsubscribe",),
        answers={
            200: Answer("a page with the button", STRING, HTML),
            404: NOT_A_LINK,
            503: UNAVAILABLE,
        },
    ),
    Operation(
        method="post",
        path="/unsubscribe/{token}",
        summary="Opt out of the reminders (RFC 8058 one-click)",
        tags=("unsubscribe",),
        answers={
            200: Answer("confirmed", STRING, HTML),
            404: NOT_A_LINK,
            503: UNAVAILABLE,
        },
    ),
)

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
