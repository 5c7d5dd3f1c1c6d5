"""Transports hand one finished email to the outside world: an SMTP server or a mail folder.

Errors::

    DeliveryError            anything a transport raises
    ├── TransientFailure     try again later: SMTP 4xx, connection errors, timeouts, and 5xx
    │                        answers that are about this service rather than the recipient
    │                        (authentication, sender refused): fixing the configuration
    │                        should let the waiting rows go out
    └── PermanentFailure     the server refused this recipient or this message with a 5xx
                             (``suppress``: the address should not be mailed again), or the
                             message cannot travel at all: an address without an IDNA form, a
                             non-ASCII local part and a server without SMTPUTF8 (not suppressed)

aiosmtplib's exceptions are translated here, once; nothing else imports aiosmtplib.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Protocol

import aiosmtplib

from notify.config import SmtpSettings
from notify.delivery.addresses import UnencodableAddress, needs_smtputf8, wire_address

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class Outgoing:
    """One finished email: its envelope sender, its Message-ID and its bytes (CRLF)."""

    sender: str
    message_id: str
    data: bytes

    def parsed(self) -> EmailMessage:
        """The message as a mail client would read it (for inspection, not for sending)."""
        message = message_from_bytes(self.data, policy=default)
        assert isinstance(message, EmailMessage)
        return message


class DeliveryError(Exception):
    """A transport could not hand the message over."""


class TransientFailure(DeliveryError):
    """The same message may succeed later."""


class PermanentFailure(DeliveryError):
    """The server refused for good; ``suppress`` when the refusal is about the recipient."""

    def __init__(self, message: str, *, suppress: bool = True) -> None:
        super().__init__(message)
        self.suppress = suppress


class Transport(Protocol):
    async def send(self, message: Outgoing, recipient: str) -> None:
        """Hand ``message`` over for ``recipient``; raise a DeliveryError when it was not."""
        ...

    async def close(self) -> None:
        """Release connections; the transport may be used again afterwards."""
        ...


def _reply_failure(code: int, text: str, *, about_recipient: bool) -> DeliveryError:
    message = f"{code} {text}".strip()
    if 500 <= code < 600:
        if about_recipient:
            return PermanentFailure(message)
        return TransientFailure(f"server refused this service: {message}")
    return TransientFailure(message)


def translate(exc: BaseException) -> DeliveryError:
    """The DeliveryError for an exception raised by aiosmtplib or the network."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        refusals = exc.recipients
        if refusals:
            first = refusals[0]
            return _reply_failure(first.code, first.message, about_recipient=True)
        return TransientFailure("recipient refused without a reply")
    if isinstance(
        exc,
        aiosmtplib.SMTPAuthenticationError
        | aiosmtplib.SMTPSenderRefused
        | aiosmtplib.SMTPHeloError
        | aiosmtplib.SMTPConnectResponseError,
    ):
        return _reply_failure(exc.code, exc.message, about_recipient=False)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        # RCPT and DATA refusals: each message has one recipient, so both are about it.
        return _reply_failure(exc.code, exc.message, about_recipient=True)
    if isinstance(exc, aiosmtplib.SMTPTimeoutError | TimeoutError):
        return TransientFailure(f"timeout: {exc}")
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return TransientFailure(f"server does not support what is needed: {exc}")
    if isinstance(exc, aiosmtplib.SMTPException | OSError):
        return TransientFailure(f"{type(exc).__name__}: {exc}")
    raise TypeError(f"not a transport error: {exc!r}") from exc


_TRANSLATED = (aiosmtplib.SMTPException, OSError, TimeoutError)


def _client(settings: SmtpSettings, timeout: float) -> aiosmtplib.SMTP:
    return aiosmtplib.SMTP(
        hostname=settings.host,
        port=settings.port,
        username=settings.username,
        password=settings.password,
        use_tls=settings.implicit_tls,
        start_tls=settings.starttls,
        timeout=timeout,
    )


class SmtpTransport:
    """SMTP through a small pool of connections that stay open across messages.

    Each connection carries one message at a time; a connection that failed in any way other
    than a clean refusal is closed and replaced on next use. A reused connection the server had
    closed meanwhile (idle timeout) is reopened and the message tried once more at once.
    """

    def __init__(
        self, settings: SmtpSettings, *, connections: int = 4, timeout: float = 30.0
    ) -> None:
        self._settings = settings
        self._timeout = timeout
        self._slots = asyncio.Semaphore(connections)
        self._idle: list[aiosmtplib.SMTP] = []

    def _client(self) -> aiosmtplib.SMTP:
        return _client(self._settings, self._timeout)

    async def send(self, message: Outgoing, recipient: str) -> None:
        try:
            sender, recipient = wire_address(message.sender), wire_address(recipient)
        except UnencodableAddress as exc:
            raise PermanentFailure(str(exc), suppress=False) from None
        data = message.data
        async with self._slots:
            client = self._idle.pop() if self._idle else self._client()
            reusable = False
            try:
                await self._send_on(client, sender, recipient, data)
                reusable = True
            except aiosmtplib.SMTPResponseException as exc:
                # A refusal leaves the session usable (aiosmtplib sent RSET).
                reusable = client.is_connected
                raise translate(exc) from exc
            except aiosmtplib.SMTPRecipientsRefused as exc:
                reusable = client.is_connected
                raise translate(exc) from exc
            except _TRANSLATED as exc:
                raise translate(exc) from exc
            finally:
                if reusable:
                    self._idle.append(client)
                else:
                    client.close()

    async def _send_on(
        self, client: aiosmtplib.SMTP, sender: str, recipient: str, data: bytes
    ) -> None:
        reused = client.is_connected
        if not reused:
            await client.connect()
        try:
            await _sendmail(client, sender, recipient, data)
        except aiosmtplib.SMTPServerDisconnected:
            if not reused:
                raise
            log.info("smtp.reconnecting")
            client.close()
            await client.connect()
            await _sendmail(client, sender, recipient, data)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for client in idle:
            with contextlib.suppress(*_TRANSLATED):
                await client.quit(timeout=5)
            client.close()


async def _sendmail(client: aiosmtplib.SMTP, sender: str, recipient: str, data: bytes) -> None:
    """One transaction; with SMTPUTF8 when an address has a non-ASCII local part."""
    international = [a for a in (recipient, sender) if needs_smtputf8(a)]
    if not international:
        await client.sendmail(sender, [recipient], data)
        return
    try:
        await client.sendmail(sender, [recipient], data, mail_options=["SMTPUTF8"])
    except aiosmtplib.SMTPNotSupported as exc:
        # Raised after EHLO, before MAIL: the server does not offer the extension, and no retry
        # changes that (another server might: an operator can requeue the row).
        raise PermanentFailure(
            f"the SMTP server does not offer SMTPUTF8, which {international[0]} needs: "
            f"a non-ASCII local part has no ASCII form ({exc})",
            suppress=False,
        ) from exc


async def probe(settings: SmtpSettings, within: float) -> str | None:
    """None when the SMTP server accepts a session (greeting, TLS and login as configured),
    else why not, in one line. Sends nothing but EHLO and QUIT."""
    client = _client(settings, within)
    try:
        await client.connect()
        await client.quit()
    except _TRANSLATED as exc:
        return " ".join(f"{type(exc).__name__}: {exc}".split())
    finally:
        client.close()
    return None


def eml_name(message_id: str) -> str:
    """The file name for a Message-ID: stable, so a retry replaces the earlier file."""
    inner = message_id.strip().removeprefix("<").removesuffix(">")
    return re.sub(r"[^A-Za-z0-9._@+=-]", "_", inner)[:200] + ".eml"


class FileTransport:
    """Writes each message as ``<Message-ID>.eml`` under ``mail_dir`` (temp file, then rename)."""

    def __init__(self, mail_dir: Path) -> None:
        self.mail_dir = mail_dir

    async def send(self, message: Outgoing, recipient: str) -> None:
        try:
            await asyncio.to_thread(self._write, eml_name(message.message_id), message.data)
        except OSError as exc:
            raise TransientFailure(f"cannot write to {self.mail_dir}: {exc}") from exc

    def _write(self, name: str, data: bytes) -> None:
        self.mail_dir.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=self.mail_dir, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, self.mail_dir / name)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise

    async def close(self) -> None:
        return None
