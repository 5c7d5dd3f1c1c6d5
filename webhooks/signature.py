"""Standard Webhooks v1 signatures: secrets, signing and verification.

A sender signs ``{webhook-id}.{webhook-timestamp}.{raw body}`` with HMAC-SHA256, keyed by the
base64-decoded part of a ``whsec_…`` secret, and sends ``v1,<base64 digest>`` in
``webhook-signature`` (several space-separated entries during a key rotation).

Errors::

    ValueError
     └── InvalidSecret        a configured secret is not ``whsec_`` + base64 (stop at start)
    SignatureError            headers missing, malformed, stale or not matching (answer 401)
    InvalidWebhookId          webhook-id empty, too long or not printable ASCII (answer 400)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Sequence
from typing import Final

__all__ = [
    "MAX_WEBHOOK_ID_LENGTH",
    "MIN_SECRET_BYTES",
    "SECRET_PREFIX",
    "InvalidSecret",
    "InvalidWebhookId",
    "SignatureError",
    "Verifier",
    "parse_secret",
    "parse_secrets",
    "sign",
    "validate_webhook_id",
]

SECRET_PREFIX: Final = "whsec_"
# The Standard Webhooks specification asks for keys of 24 to 64 bytes; shorter keys are refused
# because they are guessable, longer ones are harmless (HMAC hashes them down).
MIN_SECRET_BYTES: Final = 24
MAX_WEBHOOK_ID_LENGTH: Final = 255
# Ten digits cover Unix seconds until the year 2286; a few more leave room without letting a
# megabyte of digits reach int().
_MAX_TIMESTAMP_DIGITS: Final = 12
# Generous for a rotation (a 44-character digest per entry) yet bounded.
_MAX_SIGNATURE_HEADER: Final = 4096
_SPLIT_SECRETS: Final = re.compile(r"[,\s]+")


class InvalidSecret(ValueError):
    """A configured secret that is not ``whsec_`` followed by standard base64."""


class SignatureError(Exception):
    """The signature headers do not prove that the body came from a holder of a secret."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidWebhookId(ValueError):
    """A ``webhook-id`` that cannot serve as an idempotency key."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def parse_secret(text: str) -> bytes:
    """Decode one ``whsec_<base64>`` secret into the HMAC key bytes.

    The message of the error never repeats the secret, so it can be logged.
    """
    if not text.startswith(SECRET_PREFIX):
        raise InvalidSecret(f"a webhook secret must start with {SECRET_PREFIX!r}")
    encoded = text[len(SECRET_PREFIX) :]
    if not encoded.isascii():
        raise InvalidSecret("a webhook secret must be base64 after 'whsec_'")
    try:
        key = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise InvalidSecret("a webhook secret must be base64 after 'whsec_'") from None
    if len(key) < MIN_SECRET_BYTES:
        raise InvalidSecret(
            f"a webhook secret must decode to at least {MIN_SECRET_BYTES} bytes, "
            f"this one has {len(key)}"
        )
    return key


def parse_secrets(text: str) -> list[bytes]:
    """Decode a comma- or space-separated list of secrets, keeping their order, without repeats."""
    parts = [part for part in _SPLIT_SECRETS.split(text) if part]
    if not parts:
        raise InvalidSecret("no webhook secret given")
    keys: list[bytes] = []
    for position, part in enumerate(parts, start=1):
        try:
            key = parse_secret(part)
        except InvalidSecret as exc:
            raise InvalidSecret(f"secret #{position}: {exc}") from None
        if key not in keys:
            keys.append(key)
    return keys


def _signed_prefix(msg_id: str, timestamp: str) -> bytes:
    # Header values reach Python decoded as UTF-8 with surrogateescape (aiohttp), so this gives
    # back the bytes that were on the wire.
    return f"{msg_id}.{timestamp}.".encode("utf-8", "surrogateescape")


def sign(secret: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` entry (``v1,<base64>``) for one message."""
    mac = hmac.new(secret, _signed_prefix(msg_id, str(timestamp)), hashlib.sha256)
    mac.update(body)
    return "v1," + base64.b64encode(mac.digest()).decode("ascii")


class Verifier:
    """Checks the three Standard Webhooks headers against the raw body.

    Any of ``secrets`` may have signed (rotation). The HMAC key schedule of every secret is
    computed once here; each verification copies it.
    """

    __slots__ = ("_macs", "tolerance")

    def __init__(self, secrets: Sequence[bytes], tolerance: int = 300) -> None:
        if not secrets:
            raise ValueError("a Verifier needs at least one secret")
        if tolerance < 0:
            raise ValueError("tolerance must not be negative")
        self._macs = tuple(hmac.new(key, digestmod=hashlib.sha256) for key in secrets)
        self.tolerance = tolerance

    def verify(
        self,
        msg_id: str | None,
        timestamp: str | None,
        signature: str | None,
        body: bytes,
        now: float,
    ) -> None:
        """Return if one ``v1`` entry of ``signature`` matches under one secret, else raise.

        ``now`` is the real time in Unix seconds; a timestamp more than ``tolerance`` seconds
        away from it, either way, is refused (replay protection).
        """
        if not msg_id:
            raise SignatureError("the webhook-id header is missing")
        if not timestamp:
            raise SignatureError("the webhook-timestamp header is missing")
        if not signature:
            raise SignatureError("the webhook-signature header is missing")
        if (
            len(timestamp) > _MAX_TIMESTAMP_DIGITS
            or not timestamp.isascii()
            or not timestamp.isdigit()
        ):
            raise SignatureError("the webhook-timestamp header must be Unix seconds (digits only)")
        if abs(now - int(timestamp)) > self.tolerance:
            raise SignatureError(
                f"the webhook-timestamp is more than {self.tolerance} seconds from now"
            )
        candidates = _v1_signatures(signature)
        try:
            prefix = _signed_prefix(msg_id, timestamp)
        except UnicodeEncodeError:
            raise SignatureError("the webhook-id header is not valid text") from None
        for base in self._macs:
            mac = base.copy()
            mac.update(prefix)
            mac.update(body)
            expected = base64.b64encode(mac.digest()).decode("ascii")
            # Every candidate is compared, in constant time, so timing tells nothing about which
            # entry came close.
            matched = False
            for candidate in candidates:
                matched |= hmac.compare_digest(expected, candidate)
            if matched:
                return
        raise SignatureError("no signature matches")


def _v1_signatures(header: str) -> list[str]:
    """The ``v1`` digests of a ``webhook-signature`` header; other versions are skipped."""
    if len(header) > _MAX_SIGNATURE_HEADER or not header.isascii():
        raise SignatureError("the webhook-signature header is malformed")
    found: list[str] = []
    for entry in header.split():
        version, comma, value = entry.partition(",")
        if not comma or not version:
            raise SignatureError("the webhook-signature header is malformed")
        if version == "v1":
            found.append(value)
    if not found:
        raise SignatureError("the webhook-signature header has no v1 signature")
    return found


def validate_webhook_id(msg_id: str) -> None:
    """Refuse a ``webhook-id`` that is empty, longer than 255 or not printable ASCII."""
    if not msg_id:
        raise InvalidWebhookId("the webhook-id is empty")
    if len(msg_id) > MAX_WEBHOOK_ID_LENGTH:
        raise InvalidWebhookId(f"the webhook-id is longer than {MAX_WEBHOOK_ID_LENGTH} characters")
    # str.isprintable() on ASCII text accepts exactly the range U+0020..U+007E.
    if not (msg_id.isascii() and msg_id.isprintable()):
        raise InvalidWebhookId("the webhook-id may only contain printable ASCII characters")
