"""The console's routes (docs/console.md): HTML pages for people, and the forms they post.

A page answers 303 to the sign-in page without a signed-in session; a form answers 303 to
the page it came from (with a message for it), 403 when its CSRF token is not the session's.
"""

from __future__ import annotations

from typing import Final

from notify.web.operations.base import (
    FORM,
    HTML,
    NAMES_NOTHING,
    SLOW_BODY,
    STRING,
    TOO_LARGE,
    UNAVAILABLE,
    Answer,
    Operation,
    Schema,
    obj,
    problem,
)

_PAGE = Answer("the page", STRING, HTML)
_TO_SIGN_IN = Answer("not signed in: to the sign-in page", headers=("Location",))
_DONE = Answer(
    "done, or why nothing was done, told on the page it redirects to", headers=("Location",)
)
_CSRF = problem("the form's CSRF token is missing or not this session's: nothing changed")


def _page(path: str, summary: str, *, query: dict[str, Schema] | None = None) -> Operation:
    answers = {200: _PAGE, 303: _TO_SIGN_IN, 503: UNAVAILABLE}
    if "{" in path:
        answers[404] = NAMES_NOTHING
    return Operation(
        method="get",
        path=path,
        summary=summary,
        tags=("console",),
        query=query or {},
        answers=answers,
    )


def _form(path: str, summary: str, **fields: Schema) -> Operation:
    answers = {303: _DONE, 403: _CSRF, 408: SLOW_BODY, 413: TOO_LARGE, 503: UNAVAILABLE}
    if "{" in path:
        answers[404] = NAMES_NOTHING
    return Operation(
        method="post",
        path=path,
        summary=summary,
        tags=("console",),
        body={"type": "object", "properties": {"csrf": STRING, **fields}},
        body_media_type=FORM,
        answers=answers,
    )


CONSOLE: Final[tuple[Operation, ...]] = (
    Operation(
        method="get",
        path="/admin/sign-in",
        summary="The console's sign-in page",
        tags=("console",),
        query={"next": STRING},
        answers={200: _PAGE, 303: Answer("signed in already", headers=("Location",))},
    ),
    Operation(
        method="post",
        path="/admin/sign-in",
        summary="Sign in with the admin token",
        tags=("console",),
        body=obj([], csrf=STRING, token=STRING, next=STRING),
        body_media_type=FORM,
        answers={
            303: Answer(
                "signed in, or back to the sign-in page with why not", headers=("Location",)
            ),
            403: _CSRF,
            408: SLOW_BODY,
            413: TOO_LARGE,
            429: Answer(
                "too many failed sign-ins from this address",
                problem("").schema,
                problem("").media_type,
                headers=("Retry-After",),
            ),
            503: UNAVAILABLE,
        },
    ),
    _form("/admin/sign-out", "Sign out: the session ends"),
    Operation(
        method="get",
        path="/admin/console.css",
        summary="The console's stylesheet",
        tags=("console",),
        answers={200: Answer("CSS", STRING, "text/css")},
    ),
    _page(
        "/admin/",
        "Find a subscription by name, email, namespace, instance or id",
        query={"q": STRING},
    ),
    _page("/admin/outbox", "The outbox: dead, failed, pending", query={"status": STRING}),
    _page("/admin/suppressions", "Suppressed addresses and opt-outs"),
    _page("/admin/subscriptions/{id}", "A subscription: state, chart, forecast, timeline"),
    _page("/admin/notifications/{id}", "An email as sent, with its delivery"),
    Operation(
        method="get",
        path="/admin/notifications/{id}/html",
        summary="An email's HTML part, sandboxed",
        tags=("console",),
        answers={
            200: _PAGE,
            303: _TO_SIGN_IN,
            404: NAMES_NOTHING,
            409: problem("the stored context does not render"),
            503: UNAVAILABLE,
        },
    ),
    Operation(
        method="get",
        path="/admin/notifications/{id}/message",
        summary="An email as sent, to download (.eml)",
        tags=("console",),
        answers={
            200: Answer("the message", STRING, "message/rfc822"),
            303: _TO_SIGN_IN,
            404: NAMES_NOTHING,
            409: problem("the stored context does not render"),
            503: UNAVAILABLE,
        },
    ),
    _page("/admin/emails", "Every email kind in every language"),
    _page("/admin/emails/{language}/{kind}", "A sample email"),
    _page("/admin/emails/{language}/{kind}/html", "A sample email's HTML part, sandboxed"),
    _form("/admin/notifications/{id}/requeue", "Requeue a dead or failed email", back=STRING),
    _form("/admin/suppressions/lift", "Lift a suppression", address=STRING, back=STRING),
    _form(
        "/admin/opt-outs/lift",
        "Lift an opt-out",
        subscription_id=STRING,
        address=STRING,
        back=STRING,
    ),
)
