"""A real SMTP server (aiosmtpd, in its own thread) whose answers a test scripts.

``SmtpServer`` listens on 127.0.0.1 on a free port and accepts every message unless told
otherwise: ``fail_next(n, "451 …")`` answers the next n messages at DATA with a reply of its
choice, ``refuse(address, "550 …")`` refuses a recipient at RCPT; ``smtputf8=True`` offers the
SMTPUTF8 extension. It records what it accepted (envelope recipient, Message-ID, parsed
message) and the options of every MAIL FROM, can be stopped and started again on the same
port (a server that is down refuses connections), and can call a hook for each message before
answering it: a test kills a client from there, at a precise point of a conversation.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from functools import cached_property
from typing import Any

from aiosmtpd.controller import Controller

from tests.processes import free_port

_MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class Received:
    peer: str  # the client's (host, port): one value per connection
    recipient: str
    message_id: str
    raw: bytes

    @cached_property
    def message(self) -> EmailMessage:
        """Parsed on first use only: parsing every message would make the server the bottleneck."""
        parsed = message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    async def handle_MAIL(
        self, _server: Any, _session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        self._server.mail_options.append(list(options))
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, _server: Any, _session: Any, envelope: Any, address: str, _options: Any
    ) -> str:
        self._server.rcpt_seen.append(address)
        refusal = self._server.refusals.get(address.lower())
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server: Any, session: Any, envelope: Any) -> str:
        raw = bytes(envelope.original_content or envelope.content)
        head = raw.split(b"\r\n\r\n", 1)[0]
        found = _MESSAGE_ID.search(head)
        item = Received(
            peer=str(session.peer),
            recipient=envelope.rcpt_tos[0],
            message_id=found.group(1).decode() if found else "",
            raw=raw,
        )
        return self._server._arrived(item)


class SmtpServer:
    """A scripted SMTP server; ``received`` lists the messages it accepted, in order."""

    def __init__(self, port: int | None = None, *, smtputf8: bool = False) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.smtputf8 = smtputf8  # offer the SMTPUTF8 extension (RFC 6531)
        self.mail_options: list[list[str]] = []  # the options of every MAIL FROM
        self.refusals: dict[str, str] = {}
        self.received: list[Received] = []
        self.rcpt_seen: list[str] = []  # every RCPT TO, refused or not
        self.offered = 0  # messages that reached DATA, answered with anything
        self.on_message: Callable[[Received], None] | None = None
        self._replies: deque[str] = deque()
        self._changed = threading.Condition()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def start(self) -> None:
        controller = Controller(
            _Handler(self), hostname=self.host, port=self.port, enable_SMTPUTF8=self.smtputf8
        )
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def fail_next(self, count: int, reply: str = "451 4.3.0 Try again later") -> None:
        self._replies.extend([reply] * count)

    def refuse(self, address: str, reply: str = "550 5.1.1 No such user") -> None:
        self.refusals[address.lower()] = reply

    def message_ids(self) -> list[str]:
        with self._changed:
            return [item.message_id for item in self.received]

    def _arrived(self, item: Received) -> str:
        hook = self.on_message
        if hook is not None:
            hook(item)
        with self._changed:
            self.offered += 1
            reply = self._replies.popleft() if self._replies else "250 OK"
            if reply.startswith("250"):
                self.received.append(item)
            self._changed.notify_all()
        return reply

    def wait_until(self, condition: Callable[[SmtpServer], bool], timeout: float = 30) -> None:
        """Block until ``condition(self)`` holds after some message arrived; fail on timeout."""
        with self._changed:
            if not self._changed.wait_for(lambda: condition(self), timeout=timeout):
                raise TimeoutError(f"SMTP server: condition not met, {len(self.received)} received")


@contextmanager
def smtp_server(*, smtputf8: bool = False) -> Iterator[SmtpServer]:
    server = SmtpServer(smtputf8=smtputf8)
    server.start()
    try:
        yield server
    finally:
        server.stop()
