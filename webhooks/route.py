"""``POST /webhooks``: verify, normalize, record, answer, and nothing else.

Checks run cheapest first and on raw bytes before any parsing: content type (415), size (413),
signature and timestamp (401), webhook id (400), JSON and envelope (400), per-type data (422).
Then the event is translated into the billing core's command, once: what is stored is the raw
body (for audit) and that command (for the processor, which never parses the body again). Only
then is the receipt stored, and the 2xx answer waits for its commit.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from aiohttp import web

from webhooks.problems import problem
from webhooks.receipt import Answer, Receipt, ReceiptStore, StorageUnavailable
from webhooks.schemas import MAX_BODY_BYTES, InvalidData, WebhookBodyError, parse_event
from webhooks.signature import InvalidWebhookId, SignatureError, Verifier, validate_webhook_id
from webhooks.translate import Origin, to_command

Observer = Callable[[int, float], None]


def webhook_handler(
    *,
    verifier: Callable[[], Verifier],
    store: Callable[[], ReceiptStore],
    observe: Observer,
    wall_clock: Callable[[], float] = time.time,
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Build the request handler; dependencies are looked up per request (set at app start)."""

    async def handle(request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        response = await _handle(request, verifier(), store(), wall_clock)
        observe(response.status, time.perf_counter() - started)
        return response

    return handle


async def _handle(
    request: web.Request,
    verifier: Verifier,
    store: ReceiptStore,
    wall_clock: Callable[[], float],
) -> web.StreamResponse:
    if request.content_type != "application/json":
        return problem(415, "unsupported-media-type", "Content-Type must be application/json")
    body = await _read_capped(request)
    if body is None:
        return problem(413, "payload-too-large", f"the body exceeds {MAX_BODY_BYTES} bytes")

    headers = request.headers
    msg_id = headers.get("webhook-id")
    try:
        verifier.verify(
            msg_id,
            headers.get("webhook-timestamp"),
            headers.get("webhook-signature"),
            body,
            wall_clock(),
        )
    except SignatureError as exc:
        return problem(401, "invalid-signature", str(exc))
    assert msg_id is not None  # verify() refuses a missing id
    try:
        validate_webhook_id(msg_id)
    except InvalidWebhookId as exc:
        return problem(400, "invalid-webhook-id", str(exc))

    try:
        event = parse_event(body)
    except WebhookBodyError as exc:
        return body_problem(exc)

    command = None
    if not isinstance(event.data, dict):
        command = to_command(event.data, Origin(key=msg_id, at=event.timestamp))
    receipt = Receipt(
        id=msg_id,
        type=event.type,
        occurred_at=event.timestamp,
        received_at=datetime.now(UTC),
        body=body.decode("utf-8"),
        body_sha256=hashlib.sha256(body).hexdigest(),
        known=event.known,
        subscription_id=event.subscription_id,
        customer_id=event.customer_id,
        command=command,
    )
    try:
        answer = await store.submit(receipt)
    except StorageUnavailable:
        return problem(
            503,
            "storage-unavailable",
            "the event could not be stored; retry later",
            headers={"Retry-After": "5"},
        )
    if answer is Answer.CONFLICT:
        return problem(
            409, "webhook-id-conflict", "this webhook-id was received before with a different body"
        )
    status = 200 if answer is Answer.DUPLICATE else 202
    return web.json_response({"id": msg_id, "status": answer.value}, status=status)


def body_problem(exc: WebhookBodyError) -> web.Response:
    """The answer to a body that cannot be accepted: 400 when it is not a well-formed event,
    422 listing every failing field when a known type's data is invalid (CONTRACT §2)."""
    if isinstance(exc, InvalidData):
        errors = [{"field": e.field, "message": e.message} for e in exc.errors]
        return problem(
            422, "invalid-data", f"{len(errors)} field(s) failed validation", errors=errors
        )
    return problem(400, "malformed-body", str(exc))


async def _read_capped(request: web.Request) -> bytes | None:
    """The body, or None when it is larger than MAX_BODY_BYTES (read no further than that)."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(65536):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
