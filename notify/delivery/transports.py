"""Transports hand one finished email to the outside world: an SMTP server or a mail folder.

Errors::

    DeliveryError            anything a transport raises
    ├── TransientFailure     try again later: SMTP 4xx, connection errors, timeouts, and 5xx
    │                        answers that are about this service rather than the recipient
    │                        (authentication, sender refused): fixing the configuration
    │                        should let the waiting rows go out
    └── PermanentFailure     the server refused this recipient or this message with a 5xx;
                             ``suppress`` says the address should not be mailed again

aiosmtplib's exceptions are translated here, once; nothing else imports aiosmtplib.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import tempfile
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Protocol

import aiosmtplib

from notify.config import SmtpSettings

log = logging.getLogger(__name__)


class _WirePolicy(EmailPolicy):
    """The SMTP policy, except that a one-word printable ASCII header is written as it is.

    The standard policy folds long headers at 78 characters and, when a value has no space to
    fold at, turns it into RFC 2047 encoded words: a long List-Unsubscribe URL or idempotency
    key would arrive as ``=?utf-8?q?...?=``, which mail clients do not decode there. Such values
    stay well under the 998-character line limit.
    """

    def _verbatim(self, name: str, value: Any) -> str | None:
        text = str(value)
        if text and text.isascii() and text.isprintable() and not any(c.isspace() for c in text):
            return f"{name}: {text}{self.linesep}"
        return None

    def fold(self, name: str, value: Any) -> str:
        return self._verbatim(name, value) or super().fold(name, value)

    def fold_binary(self, name: str, value: Any) -> bytes:
        verbatim = self._verbatim(name, value)
        if verbatim is not None:
            return verbatim.encode("ascii")
        return super().fold_binary(name, value)


WIRE_POLICY = _WirePolicy(linesep="\r\n", cte_type="7bit")


def wire_bytes(message: EmailMessage) -> bytes:
    """The message as it goes over SMTP and into .eml files."""
    return message.as_bytes(policy=WIRE_POLICY)


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
    async def send(self, message: EmailMessage, recipient: str) -> None:
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
        s = self._settings
        return aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            username=s.username,
            password=s.password,
            use_tls=s.implicit_tls,
            start_tls=s.starttls,
            timeout=self._timeout,
        )

    async def send(self, message: EmailMessage, recipient: str) -> None:
        sender = parseaddr(str(message["From"]))[1]
        data = wire_bytes(message)
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
            await client.sendmail(sender, [recipient], data)
        except aiosmtplib.SMTPServerDisconnected:
            if not reused:
                raise
            log.info("smtp.reconnecting")
            client.close()
            await client.connect()
            await client.sendmail(sender, [recipient], data)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for client in idle:
            with contextlib.suppress(*_TRANSLATED):
                await client.quit(timeout=5)
            client.close()


def eml_name(message_id: str) -> str:
    """The file name for a Message-ID: stable, so a retry replaces the earlier file."""
    inner = message_id.strip().removeprefix("<").removesuffix(">")
    return re.sub(r"[^A-Za-z0-9._@+=-]", "_", inner)[:200] + ".eml"


class FileTransport:
    """Writes each message as ``<Message-ID>.eml`` under ``mail_dir`` (temp file, then rename)."""

    def __init__(self, mail_dir: Path) -> None:
        self.mail_dir = mail_dir

    async def send(self, message: EmailMessage, recipient: str) -> None:
        message_id = message["Message-ID"]
        if not message_id:
            raise PermanentFailure("message has no Message-ID", suppress=False)
        data = wire_bytes(message)
        try:
            await asyncio.to_thread(self._write, eml_name(str(message_id)), data)
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
