"""Slow and idle clients cannot exhaust the service (contract §7).

A connection is always in one of three states, each with its own bound:

- **waiting** for a request (just opened, or after an answer): closed after ``idle_timeout``
  once it has had an answer, after ``head_timeout`` when it never had one; as soon as a byte
  of a request arrives, the rest of the head must follow within ``head_timeout``;
- **busy**: a request's head has arrived and the application handles it; its body must have
  arrived within ``body_timeout`` of the head, else the read fails with :class:`BodyTimeout`,
  which the middleware answers 408 (problem+json) and the connection is closed;
- and never more than ``max_connections`` at once, a number below the process's file limit
  (``RLIMIT_NOFILE``), so that accepting can never fail for want of a descriptor: a new
  connection beyond it closes the connection that has been waiting longest (a busy one is never
  closed), or, when every one is busy, itself.

aiohttp bounds none of this (its ``keepalive_timeout`` closes an idle connection, but a
trickled head or body is never cut off and the number of connections is unbounded), so each
connection's protocol is wrapped in a :class:`_Guard` by :class:`GuardedSite`, and
:func:`install` adds the middleware that tells a guard when a request starts and ends and
arms the body deadline. Without the guarded site (the test server) the body deadline still
holds.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import StreamReader, web

from webhooks.problems import problem

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Descriptors kept for everything but client connections: database and SMTP pools, the
# listening sockets, SQLite's files, mail files, logs.
FILE_RESERVE = 128
# However high the file limit, idle connections cost memory: beyond this many, waiting ones
# are closed first.
MAX_CONNECTIONS = 10_000
# How many connections asyncio accepts in one go, before any of their protocols runs (and can
# close a waiting connection to make room): a few such bursts must fit in FILE_RESERVE.
ACCEPT_BURST = 16


def connection_cap() -> int:
    """How many client connections fit below this process's file limit."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return max(1, min(MAX_CONNECTIONS, soft - min(FILE_RESERVE, soft // 2)))


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    head_timeout: float = 5.0
    body_timeout: float = 30.0
    idle_timeout: float = 15.0
    max_connections: int = field(default_factory=connection_cap)


class BodyTimeout(TimeoutError):
    """The request's body did not arrive within the body timeout.

    A TimeoutError, so that aiohttp's lingering read after the answer stops quietly too.
    """


class Connections:
    """The open connections of one application: which are waiting, in the order they began to
    wait (the first is closed first when there are too many), and how many there are."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._waiting: dict[_Guard, None] = {}
        self._open: dict[asyncio.BaseTransport, _Guard] = {}
        self.evicted = 0
        self._reported = (0, 0.0)  # evictions logged, and when

    def __len__(self) -> int:
        return len(self._open)

    def guard_of(self, transport: asyncio.BaseTransport | None) -> _Guard | None:
        return self._open.get(transport) if transport is not None else None

    def opened(self, guard: _Guard, transport: asyncio.BaseTransport) -> None:
        self._open[transport] = guard
        self._waiting[guard] = None
        if len(self._open) > self.limits.max_connections:
            victim = next(iter(self._waiting))
            # Forgotten at once, not when its close completes: connections accepted in the same
            # turn of the loop must each close another one.
            self.closed(victim, victim.transport)
            victim.close()
            self.evicted += 1
            self._report()

    def _report(self) -> None:
        # At most one line a second: a flood of connections must not become a flood of logs.
        logged, at = self._reported
        now = time.monotonic()
        if now - at >= 1.0:
            log.warning(
                "http.too_many_connections max=%d closed_waiting=%d",
                self.limits.max_connections,
                self.evicted - logged,
            )
            self._reported = (self.evicted, now)

    def closed(self, guard: _Guard, transport: asyncio.BaseTransport | None) -> None:
        self._waiting.pop(guard, None)
        if transport is not None:
            self._open.pop(transport, None)

    def waiting(self, guard: _Guard, waits: bool) -> None:
        if not waits:
            self._waiting.pop(guard, None)
        elif guard.transport is not None and self._open.get(guard.transport) is guard:
            self._waiting[guard] = None


class _Guard(asyncio.Protocol):
    """Wraps aiohttp's protocol for one connection and closes it when a bound is passed."""

    def __init__(self, inner: asyncio.Protocol, connections: Connections) -> None:
        self._inner = inner
        self._connections = connections
        self._limits = connections.limits
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.BaseTransport | None = None
        self._busy = False
        self._answered = False
        self._head_started = False
        self._deadline = 0.0
        self._timer: asyncio.TimerHandle | None = None

    # -- asyncio's protocol, passed on --------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        self._arm(self._limits.head_timeout)
        self._inner.connection_made(transport)
        self._connections.opened(self, transport)

    def data_received(self, data: bytes) -> None:
        if not self._busy and not self._head_started and self._answered:
            # The first byte of the next request: its head has head_timeout from now.
            self._head_started = True
            self._arm(self._limits.head_timeout)
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._connections.closed(self, self._transport)
        self._transport = None
        self._inner.connection_lost(exc)

    # -- the states ---------------------------------------------------------------------------

    def request_started(self) -> None:
        self._busy = True
        self._connections.waiting(self, False)

    def request_finished(self) -> None:
        self._busy = False
        self._answered = True
        self._head_started = False
        self._arm(self._limits.idle_timeout)
        self._connections.waiting(self, True)

    @property
    def transport(self) -> asyncio.BaseTransport | None:
        return self._transport

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def _arm(self, delay: float) -> None:
        # One timer per connection, moved forward lazily: a keep-alive connection answering
        # request after request does not schedule a timer per request.
        self._deadline = self._loop.time() + delay
        if self._timer is not None and self._timer.when() > self._deadline:
            # An earlier deadline than the timer's (a head after an idle wait): move it.
            self._timer.cancel()
            self._timer = None
        if self._timer is None:
            self._timer = self._loop.call_at(self._deadline, self._expire)

    def _expire(self) -> None:
        self._timer = None
        if self._busy or self._transport is None:
            return
        if self._loop.time() < self._deadline:
            self._timer = self._loop.call_at(self._deadline, self._expire)
            return
        log.debug("http.connection_timed_out answered=%s", self._answered)
        self.close()


class GuardedSite(web.BaseSite):
    """A TCP site whose connections are bounded by the application's :class:`Connections`."""

    def __init__(
        self,
        runner: web.AppRunner,
        host: str,
        port: int,
        *,
        backlog: int = 1024,
    ) -> None:
        super().__init__(runner, backlog=backlog)
        self._connections = runner.app[CONNECTIONS]
        self._host = host
        self._port = port

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        connections = self._connections
        family, kind, proto, _name, address = socket.getaddrinfo(
            self._host, self._port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        # asyncio accepts as many connections in one go as its backlog argument says, all
        # before the first of them can make room: with the kernel's queue as deep, a burst of
        # a thousand would run out of descriptors. So asyncio gets a small burst and the
        # kernel, listening again after asyncio did, the whole queue.
        self._server = await asyncio.get_running_loop().create_server(
            lambda: _Guard(server(), connections), sock=sock, backlog=ACCEPT_BURST
        )
        sock.listen(self._backlog)


CONNECTIONS = web.AppKey("connections", Connections)


def _expire_body(content: StreamReader) -> None:
    if not content.is_eof():
        content.set_exception(BodyTimeout("the request body did not arrive in time"))


def install(app: web.Application, limits: Limits | None = None) -> Connections:
    """Bound the application's requests by ``limits``; serve it with :class:`GuardedSite` to
    bound its connections too."""
    connections = Connections(limits or Limits())
    app[CONNECTIONS] = connections
    body_timeout = connections.limits.body_timeout

    @web.middleware
    async def bounded(request: web.Request, handler: Handler) -> web.StreamResponse:
        guard = connections.guard_of(request.transport)
        if guard is not None:
            guard.request_started()
        content = request.content
        timer = None
        if not content.is_eof():
            timer = asyncio.get_running_loop().call_later(body_timeout, _expire_body, content)
        try:
            return await handler(request)
        except BodyTimeout:
            answer = problem(
                408, "request-timeout", f"the body did not arrive within {body_timeout:g} s"
            )
            answer.force_close()
            return answer
        finally:
            # A body still arriving keeps its deadline: it bounds aiohttp's lingering read.
            if timer is not None and content.is_eof():
                timer.cancel()
            if guard is not None:
                guard.request_finished()

    app.middlewares.append(bounded)
    return connections
