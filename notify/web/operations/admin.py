"""The admin API's routes (CONTRACT §6)."""

from __future__ import annotations

from typing import Final

from notify.web.operations.base import (
    ARRAY,
    CLOCK,
    INVALID,
    MALFORMED,
    NAMES_NOTHING,
    SLOW_BODY,
    STRING,
    TIMESTAMP,
    TOO_LARGE,
    UNAUTHORIZED,
    UNAVAILABLE,
    Answer,
    Operation,
    obj,
    problem,
)

ADMIN: Final[tuple[Operation, ...]] = (
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
        method="delete",
        path="/admin/api/v1/subscriptions/{id}/opt-outs/{address}",
        summary="Lift an opt-out: the address gets the subscription's reminders again",
        tags=("admin",),
        security="admin",
        answers={
            204: Answer("lifted"),
            401: UNAUTHORIZED,
            404: problem("the address has not opted out of that subscription, or names nothing"),
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
)

_EXPLANATION: Final = obj(
    ["rule", "formula", "inputs"], rule=STRING, formula=STRING, inputs={"type": "object"}
)
_CHARGE: Final = obj(
    ["date", "purpose", "currency", "total", "lines"],
    date={"type": "string", "format": "date"},
    purpose=STRING,
    currency=STRING,
    total=STRING,
    lines={
        "type": "array",
        "items": obj(
            ["description", "amount", "explanation"],
            description=STRING,
            amount=STRING,
            explanation=_EXPLANATION,
        ),
    },
)
_REFUSAL: Final = obj(["code", "message"], code=STRING, message=STRING)
FORECASTS: Final[tuple[Operation, ...]] = (
    Operation(
        method="get",
        path="/admin/api/v1/subscriptions/{id}/forecast",
        summary="What the subscription will be billed and sent if nothing else arrives",
        tags=("admin",),
        security="admin",
        query={"through": {"type": "string", "format": "date"}},
        answers={
            200: Answer(
                "charges and notifications in date order, with the assumptions",
                obj(
                    ["as_of", "through", "assumptions", "charges", "notifications"],
                    as_of=TIMESTAMP,
                    through={"type": "string", "format": "date"},
                    assumptions={"type": "array", "items": STRING},
                    charges={"type": "array", "items": _CHARGE},
                    notifications={
                        "type": "array",
                        "items": obj(
                            ["date", "kind"], date={"type": "string", "format": "date"}, kind=STRING
                        ),
                    },
                ),
            ),
            401: UNAUTHORIZED,
            404: NAMES_NOTHING,
            422: problem("through is not a date from today to 24 months ahead"),
            503: UNAVAILABLE,
        },
    ),
    Operation(
        method="post",
        path="/admin/api/v1/subscriptions/{id}/preview",
        summary="What one event would do now; nothing is stored or sent",
        tags=("admin",),
        security="admin",
        body=obj(["type", "data"], extra=False, type=STRING, data={"type": "object"}),
        answers={
            200: Answer(
                "its invoice, its refusal, the notices it would send",
                obj(
                    ["invoice", "rejected", "notifications"],
                    invoice={"anyOf": [_CHARGE, {"type": "null"}]},
                    rejected={
                        "anyOf": [
                            obj(["code", "message"], code=STRING, message=STRING),
                            {"type": "null"},
                        ]
                    },
                    notifications={"type": "array", "items": STRING},
                    ignored={"type": "boolean"},
                ),
            ),
            400: MALFORMED,
            401: UNAUTHORIZED,
            404: NAMES_NOTHING,
            408: SLOW_BODY,
            413: TOO_LARGE,
            422: INVALID,
            503: UNAVAILABLE,
        },
    ),
)

_NOTIFICATION: Final = obj(
    ["id", "subscription_id", "kind", "subject", "cause", "recipient", "status", "attempts"],
    id={"type": "integer"},
    subscription_id=STRING,
    kind=STRING,
    subject=STRING,
    cause={"type": ["object", "null"]},
    recipient=STRING,
    status=STRING,
    attempts={"type": "integer"},
    last_error={"type": ["string", "null"]},
    message_id=STRING,
    created_at=TIMESTAMP,
    sent_at={"type": ["string", "null"], "format": "date-time"},
    next_attempt_at=TIMESTAMP,
)
_FOUND: Final = obj(
    ["subscription_id", "customer", "tier", "seats_paid_for", "status", "term_end"],
    subscription_id=STRING,
    customer=obj(["id", "name", "email"], id=STRING, name=STRING, email=STRING),
    tier=STRING,
    seats_paid_for={"type": "integer"},
    status=STRING,
    term_end={"type": "string", "format": "date"},
)
LISTS: Final[tuple[Operation, ...]] = (
    Operation(
        method="get",
        path="/admin/api/v1/subscriptions",
        summary="Find subscriptions by id, customer, billing contact, namespace or instance",
        tags=("admin",),
        security="admin",
        query={"q": {"type": "string", "minLength": 1, "maxLength": 200}},
        answers={
            200: Answer(
                "at most 50, best matches first",
                obj(["items"], items={"type": "array", "items": _FOUND}),
            ),
            401: UNAUTHORIZED,
            422: problem("q is missing, too long or holds control characters"),
            503: UNAVAILABLE,
        },
    ),
    Operation(
        method="get",
        path="/admin/api/v1/outbox",
        summary="Notifications of one status, newest first",
        tags=("admin",),
        security="admin",
        query={
            "status": {"enum": ["dead", "failed", "pending", "suppressed"]},
            "limit": {"type": "integer", "minimum": 1, "maximum": 1000},
            "before": {"type": "integer", "minimum": 1},
        },
        answers={
            200: Answer(
                "newest first", obj(["items"], items={"type": "array", "items": _NOTIFICATION})
            ),
            401: UNAUTHORIZED,
            422: problem("status, limit or before is not one the route takes"),
            503: UNAVAILABLE,
        },
    ),
    Operation(
        method="post",
        path="/admin/api/v1/outbox/{id}/requeue",
        summary="Send a dead or failed notification again, its attempts reset",
        tags=("admin",),
        security="admin",
        answers={
            202: Answer(
                "pending again", obj(["id", "status"], id={"type": "integer"}, status=STRING)
            ),
            401: UNAUTHORIZED,
            404: NAMES_NOTHING,
            409: problem("the notification is neither dead nor failed"),
            503: UNAVAILABLE,
        },
    ),
    Operation(
        method="get",
        path="/admin/api/v1/notifications/{id}/message",
        summary="The email exactly as sent, or as it will be sent",
        tags=("admin",),
        security="admin",
        answers={
            200: Answer("the message (RFC 5322)", STRING, "message/rfc822"),
            401: UNAUTHORIZED,
            404: NAMES_NOTHING,
            409: problem("the notification's stored context does not render"),
            503: UNAVAILABLE,
        },
    ),
)
