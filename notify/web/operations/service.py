"""The service's own routes: webhooks, operations, the feed, unsubscribing."""

from __future__ import annotations

from typing import Final

from notify.web.operations.base import (
    DEPENDENCIES,
    FEED_ITEM,
    HTML,
    INVALID,
    NOT_A_LINK,
    PROBLEM,
    RATE_LIMITED,
    SLOW_BODY,
    STRING,
    TOO_LARGE,
    UNAUTHORIZED,
    UNAVAILABLE,
    Answer,
    Operation,
    obj,
    problem,
    ref,
)

SERVICE: Final[tuple[Operation, ...]] = (
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
