"""Turn one outbox row into the email that goes out: render its kind, then assemble it.

Reminder kinds (``billingcore.notices.REMINDER_KINDS``, the one place that names them) carry
List-Unsubscribe with a one-click URL personal to the recipient; every other kind is a
confirmation, invoice or failure and carries none (CONTRACT §4).
"""

from __future__ import annotations

import functools
import hashlib
from binascii import b2a_qp
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any, Protocol

from billingcore.notices import REMINDER_KINDS
from notify.codec import json_tree
from notify.delivery.addresses import header_address
from notify.delivery.tokens import sign_token
from notify.delivery.transports import Outgoing
from notify.mail.signing import Signer

CRLF = "\r\n"


class RenderedLike(Protocol):
    @property
    def subject(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def html(self) -> str: ...


class Renders(Protocol):
    def render(self, kind: str, context: Mapping[str, Any]) -> RenderedLike: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Letter:
    """What compose needs of an outbox row."""

    kind: str
    subscription_id: str
    recipient: str
    context: str
    message_id: str
    idempotency_key: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Composer:
    """Builds messages with one renderer, sender and key; cheap to call per email."""

    renderer: Renders
    mail_from: str
    public_url: str
    unsubscribe_key: bytes
    reply_to: str | None = None
    signer: Signer | None = None

    def unsubscribe_url(self, subscription_id: str, recipient: str) -> str:
        token = sign_token(self.unsubscribe_key, subscription_id, recipient)
        return f"{self.public_url.rstrip('/')}/unsubscribe/{token}"

    def context(self, letter: Letter) -> dict[str, Any]:
        """What ``letter`` renders with: its stored context, and for a reminder the recipient's
        one-click unsubscribe URL."""
        context: dict[str, Any] = json_tree(letter.context)
        if letter.kind in REMINDER_KINDS:
            context["unsubscribe_url"] = self.unsubscribe_url(
                letter.subscription_id, letter.recipient
            )
        return context

    def compose(self, letter: Letter, now: datetime) -> Outgoing:
        """The complete message for ``letter``; rendering errors propagate unchanged."""
        context = self.context(letter)
        reminder = letter.kind in REMINDER_KINDS
        rendered = self.renderer.render(letter.kind, context)
        headers = [("From", _address(self.mail_from))]
        if self.reply_to is not None:
            headers.append(("Reply-To", _address(self.reply_to)))
        headers += [
            ("To", header_address(letter.recipient)),
            ("Subject", rendered.subject),
            ("Date", format_datetime(now)),
            ("Message-ID", letter.message_id),
            ("X-Notify-Kind", letter.kind),
            ("X-Notify-Subscription", letter.subscription_id),
            ("X-Notify-Idempotency-Key", letter.idempotency_key),
        ]
        if reminder:
            headers.append(("List-Unsubscribe", f"<{context['unsubscribe_url']}>"))
            headers.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
        data = assemble(headers, rendered.text, rendered.html)
        if self.signer is not None:
            # Signed last, over the bytes exactly as they go out; the signature header goes
            # first, as a relaying server would add its own.
            present = [*(name for name, _ in headers), "MIME-Version", "Content-Type"]
            data = self.signer.signature(data, present) + data
        return Outgoing(
            sender=_envelope_sender(self.mail_from),
            message_id=letter.message_id,
            data=data,
        )


# Assembled by hand rather than through email.message: its header objects, content manager
# and generator cost about ten milliseconds per email on this machine, a hundred times this.
# The shape is always the same and simple: headers, then multipart/alternative of two UTF-8
# parts, each 7bit when it is ASCII in short enough lines, else quoted-printable (the HTML is
# 7bit nearly always, see notify.mail.sevenbit; the text where the copy is ASCII). Both read
# in an .eml file and are safe for servers without 8BITMIME.
# Encoding the HTML part quoted-printable was a fifth of composing an email (docs/delivery.md).
MAX_LINE = 998  # octets per line, without CRLF (RFC 5322, section 2.1.1)


def _address(value: str) -> str:
    if value.isascii():
        return value
    name, address = parseaddr(value)
    if not name:
        return value
    return formataddr((name, address), charset="utf-8")


@functools.lru_cache(maxsize=16)
def _envelope_sender(mail_from: str) -> str:
    return parseaddr(mail_from)[1]


def _header(name: str, value: str) -> bytes:
    if "\r" in value or "\n" in value:
        raise ValueError(f"the {name} header would span lines: {value!r}")
    if name == "To" and not value.isascii():
        return _utf8_address_header(name, value)
    if value.isascii() and (len(value) <= 76 or " " not in value):
        # A long value without spaces (a URL, a key) cannot be folded, and RFC 2047 encoding
        # would break it for mail clients; it stays well under the 998-character limit.
        return f"{name}: {value}\r\n".encode("ascii")
    folded = Header(value, "us-ascii" if value.isascii() else "utf-8", header_name=name)
    return f"{name}: {folded.encode(linesep=CRLF)}\r\n".encode("ascii")


def _utf8_address_header(name: str, address: str) -> bytes:
    # Still not ASCII after header_address: the local part is not, so the message goes out only
    # with SMTPUTF8, whose headers are UTF-8 as they are (RFC 6532); an RFC 2047 encoded-word is
    # not allowed inside an address.
    return f"{name}: {address}\r\n".encode()


def _part(subtype: str, body: str, boundary: bytes) -> bytes:
    text = body.replace("\r\n", "\n").replace("\r", "\n")
    if _fits_7bit(text, boundary):
        encoding, encoded = b"7bit", text.replace("\n", "\r\n").encode("ascii")
    else:
        encoding = b"quoted-printable"
        encoded = b2a_qp(text.encode("utf-8"), istext=True).replace(b"\n", b"\r\n")
    return b"".join(
        (
            b"--" + boundary + b"\r\n",
            b"Content-Type: text/" + subtype.encode() + b'; charset="utf-8"\r\n',
            b"Content-Transfer-Encoding: " + encoding + b"\r\n\r\n",
            encoded,
            b"\r\n",
        )
    )


def _fits_7bit(text: str, boundary: bytes) -> bool:
    """Whether ``text`` (LF line ends) may go out as it is: 7bit data is US-ASCII without NUL
    in lines of at most 998 octets (RFC 2045, section 2.7), and must not hold the boundary."""
    return (
        text.isascii()
        and "\0" not in text
        and max(map(len, text.split("\n"))) <= MAX_LINE
        and boundary.decode() not in text
    )


def assemble(headers: list[tuple[str, str]], text: str, html: str) -> bytes:
    """An RFC 5322 message (CRLF line ends): the headers, then text/plain and text/html."""
    # "=_" never occurs in quoted-printable text, and a 7bit part never holds the boundary
    # (_fits_7bit), so the boundary cannot collide with a body.
    # It is derived from the Message-ID, not drawn at random: composing the same row again
    # with the Date it went out with gives the same bytes (the admin API shows a message
    # exactly as sent, docs/admin.md).
    message_id = next(value for name, value in headers if name == "Message-ID")
    boundary = ("=_" + hashlib.sha256(message_id.encode()).hexdigest()[:24]).encode()
    return b"".join(
        (
            *(_header(name, value) for name, value in headers),
            b"MIME-Version: 1.0\r\n",
            b'Content-Type: multipart/alternative; boundary="' + boundary + b'"\r\n\r\n',
            _part("plain", text, boundary),
            _part("html", html, boundary),
            b"--" + boundary + b"--\r\n",
        )
    )
