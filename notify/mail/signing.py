"""DKIM signatures (RFC 6376) on outgoing messages, made by dkimpy.

Rule: CONTRACT §4, with ``NOTIFY_DKIM_PRIVATE_KEY`` every email carries a ``DKIM-Signature``
(``a=rsa-sha256`` or ``ed25519-sha256``, ``c=relaxed/relaxed``) covering at least From, To,
Subject, Date, Message-ID, and List-Unsubscribe and List-Unsubscribe-Post where present.

The key file is read and checked once, at start (``load_key``): a PEM RSA key of at least 2048
bits or an Ed25519 key, in PKCS#8 or the traditional form. ``cryptography`` parses it and hands
dkimpy the form it takes (PKCS#1 PEM for RSA, the base64 seed for Ed25519).

Errors::

    ValueError
    └── KeyFileError   the key file is missing, unreadable, not a key, or too weak
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

MIN_RSA_BITS = 2048
# Signed when present, in this order: what a mail client shows or acts on, and what makes the
# body readable. The first eight are signed once more than they occur (RFC 6376 §8.15), so that
# no second From, Subject or List-Unsubscribe can be added on the way without breaking the
# signature.
SIGNED_HEADERS = (
    "From",
    "Reply-To",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "MIME-Version",
    "Content-Type",
    "X-Notify-Kind",
    "X-Notify-Subscription",
)
OVERSIGNED = frozenset(SIGNED_HEADERS[:8])


class KeyFileError(ValueError):
    """The DKIM key file cannot be used: missing, unreadable, not a key, or too weak."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DkimKey:
    """A private key ready for dkimpy, with the selector and domain it signs for."""

    selector: str
    domain: str
    algorithm: str  # "rsa-sha256" or "ed25519-sha256"
    private_key: bytes = field(repr=False)


def load_key(path: Path, *, selector: str, domain: str) -> DkimKey:
    """The key in the PEM file at ``path``; KeyFileError says why it cannot be used."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{path} is not an unencrypted PEM private key ({exc})") from None
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < MIN_RSA_BITS:
            raise KeyFileError(
                f"{path} holds a {key.key_size}-bit RSA key; at least {MIN_RSA_BITS} are needed"
            )
        pkcs1 = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        return DkimKey(selector=selector, domain=domain, algorithm="rsa-sha256", private_key=pkcs1)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        seed = key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return DkimKey(
            selector=selector,
            domain=domain,
            algorithm="ed25519-sha256",
            private_key=base64.b64encode(seed),
        )
    raise KeyFileError(f"{path} holds neither an RSA nor an Ed25519 key")


class Signer:
    """Signs whole messages with one key; cheap to call per email."""

    def __init__(self, key: DkimKey) -> None:
        self.key = key
        self._selector = key.selector.encode("ascii")
        self._domain = key.domain.encode("idna")
        self._algorithm = key.algorithm.encode("ascii")

    def signature(self, message: bytes, present: Iterable[str]) -> bytes:
        """The ``DKIM-Signature`` header line (CRLF-terminated) for ``message``, covering the
        headers of ``SIGNED_HEADERS`` that are ``present``."""
        names = {name.lower() for name in present}
        headers = [h.encode() for h in SIGNED_HEADERS if h.lower() in names]
        headers += [h.encode() for h in SIGNED_HEADERS if h in OVERSIGNED and h.lower() in names]
        signed: bytes = dkim.sign(
            message,
            self._selector,
            self._domain,
            self.key.private_key,
            canonicalize=(b"relaxed", b"relaxed"),
            signature_algorithm=self._algorithm,
            include_headers=headers,
        )
        return signed
