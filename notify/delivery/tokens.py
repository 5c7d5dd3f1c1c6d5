"""Personal one-click unsubscribe tokens and the key that signs them.

A token is ``<payload>.<signature>``, both base64url without padding: the payload names the
subscription and the recipient, the signature is HMAC-SHA256 over the payload with a key the
service generates once and keeps in ``service_settings``. Nothing is stored per token, so a
token works as long as the key is unchanged, and forging one needs the key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from notify.secrets import kept_setting

KEY_NAME = "unsubscribe_key"
_VERSION = b"u1"
_SIGNATURE_BYTES = 16


@dataclass(frozen=True, slots=True, kw_only=True)
class OptOut:
    """What a valid token stands for."""

    subscription_id: str
    address: str


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()[:_SIGNATURE_BYTES]


def sign_token(key: bytes, subscription_id: str, address: str) -> str:
    """A URL-safe token for ``address``'s opt-out of ``subscription_id``'s reminders."""
    payload = b"\0".join((_VERSION, subscription_id.encode(), address.encode()))
    return f"{_b64(payload)}.{_b64(_signature(key, payload))}"


def verify_token(key: bytes, token: str) -> OptOut | None:
    """The opt-out ``token`` stands for, or None when it is malformed or not signed by ``key``."""
    if len(token) > 2000 or token.count(".") != 1:
        return None
    raw_payload, raw_signature = token.split(".")
    try:
        payload, signature = _unb64(raw_payload), _unb64(raw_signature)
    except (binascii.Error, ValueError):
        return None
    if not hmac.compare_digest(signature, _signature(key, payload)):
        return None
    parts = payload.split(b"\0")
    if len(parts) != 3 or parts[0] != _VERSION:
        return None
    try:
        subscription_id, address = parts[1].decode(), parts[2].decode()
    except UnicodeDecodeError:
        return None
    if not subscription_id or "@" not in address:
        return None
    return OptOut(subscription_id=subscription_id, address=address)


async def unsubscribe_key(engine: AsyncEngine) -> bytes:
    """The signing key, generated and stored on first use; concurrent starters agree on one."""
    stored, _ = await kept_setting(engine, KEY_NAME, _b64(secrets.token_bytes(32)))
    return _unb64(stored)
