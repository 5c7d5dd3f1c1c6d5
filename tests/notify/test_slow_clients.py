"""Slow and idle clients cannot exhaust the service (contract §7): a real ``notify serve`` with a
lowered file limit, and the application behind a guarded site with short bounds."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import urllib.request
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiohttp import web

from notify.app import create_app
from notify.config import Settings
from notify.web import errors, limits
from tests.processes import free_port, logging_service
from tests.support import SECRET_TEXT, created_data, envelope, signed_headers

FILE_LIMIT = 256


def closed_by_peer(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True


def get(address: str, path: str, timeout: float) -> tuple[int, bytes]:
    with urllib.request.urlopen(f"http://{address}{path}", timeout=timeout) as resp:
        return resp.status, resp.read()


@pytest.mark.slow
def test_health_and_webhooks_answer_while_more_connections_than_files_are_held(
    tmp_path: Path, db_url: str
) -> None:
    """With its file limit at 256, the service holds 400 idle connections open at once and
    still answers /healthz, /readyz and POST /webhooks within a second: it closes the
    connections that waited longest instead of running out of descriptors."""
    env = {"NOTIFY_DATABASE_URL": db_url, "NOTIFY_WEBHOOK_SECRETS": SECRET_TEXT}
    with logging_service(env, tmp_path, file_limit=FILE_LIMIT) as url:
        address = url.removeprefix("http://")
        host, port = address.split(":")
        idle = [socket.create_connection((host, int(port))) for _ in range(400)]
        try:
            assert get(address, "/healthz", timeout=1) == (200, b'{"status": "ok"}')
            assert get(address, "/readyz", timeout=1)[0] == 200
            body = envelope("subscription.created", created_data())
            request = urllib.request.Request(
                f"http://{address}/webhooks", data=body, headers=signed_headers(body)
            )
            with urllib.request.urlopen(request, timeout=1) as resp:
                assert resp.status == 202
                assert json.loads(resp.read())["status"] == "accepted"
            assert sum(closed_by_peer(s) for s in idle) >= 400 - FILE_LIMIT
        finally:
            for sock in idle:
                sock.close()


@pytest.mark.slow
def test_a_trickled_head_is_cut_off_within_the_head_timeout(tmp_path: Path) -> None:
    """A client sending its request head a byte every half second is disconnected once the
    head timeout (5 s) has passed, without an answer; a connection that sends nothing is
    closed as well."""
    env = {"NOTIFY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/notify.db"}
    with logging_service(env, tmp_path) as url:
        host, port = url.removeprefix("http://").split(":")
        silent = socket.create_connection((host, int(port)))
        trickle = socket.create_connection((host, int(port)))
        started = time.monotonic()
        trickle.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        trickle.settimeout(0.5)
        received = b""
        while time.monotonic() - started < 15:
            try:
                trickle.sendall(b"X")
                chunk = trickle.recv(100)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
            if not chunk:
                break
            received += chunk
        elapsed = time.monotonic() - started
        assert received == b""
        assert 4.5 <= elapsed <= 5 + 1.5
        silent.settimeout(2)
        assert silent.recv(1) == b""
        silent.close()
        trickle.close()


# -- the bounds, in process with short values ---------------------------------------------------

SHORT = limits.Limits(head_timeout=1.0, body_timeout=1.0, idle_timeout=5.0, max_connections=4)


async def start_guarded(app: web.Application) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await limits.GuardedSite(runner, "127.0.0.1", port).start()
    return runner, port


@pytest.fixture
async def guarded(settings: Settings) -> AsyncIterator[int]:
    """The service's application (real database) behind a guarded site with short bounds."""
    app = create_app(settings, run_migrations=False, run_worker=False, bounds=SHORT)
    runner, port = await start_guarded(app)
    yield port
    await runner.cleanup()


async def exchange(port: int, data: bytes, read_for: float = 5.0) -> tuple[bytes, float]:
    """Send ``data``, then read until the server closes; what came back and when it closed."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    writer.write(data)
    answer = await asyncio.wait_for(reader.read(), read_for)
    writer.close()
    return answer, time.monotonic() - started


async def test_a_trickled_body_is_answered_408_and_cut_off(guarded: int) -> None:
    """A webhook whose body arrives a byte at a time is answered 408 problem+json once the
    body timeout has passed, and the connection is closed; nothing is stored."""
    reader, writer = await asyncio.open_connection("127.0.0.1", guarded)
    body = envelope("subscription.created", created_data())
    head = "".join(f"{k}: {v}\r\n" for k, v in signed_headers(body).items())
    writer.write(f"POST /webhooks HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n".encode())
    writer.write(head.encode() + b"\r\n")
    started = time.monotonic()

    async def trickle() -> None:
        for byte in body:
            writer.write(bytes([byte]))
            await asyncio.sleep(0.1)

    sender = asyncio.create_task(trickle())
    answer = await asyncio.wait_for(reader.read(), 5)
    elapsed = time.monotonic() - started
    sender.cancel()
    writer.close()
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 408 Request Timeout"
    assert b"Content-Type: application/problem+json" in rest
    assert b"/problems/request-timeout" in rest
    assert 1.0 <= elapsed < 3.0


async def test_an_idle_keep_alive_connection_is_closed_after_the_idle_timeout(
    guarded: int,
) -> None:
    answer, elapsed = await exchange(
        guarded, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", read_for=10
    )
    assert answer.startswith(b"HTTP/1.1 200 OK")
    assert 5.0 <= elapsed < 7.0


async def test_a_trickled_head_on_a_kept_alive_connection_is_cut_off(guarded: int) -> None:
    """After an answer, the next request's head has the head timeout (1 s) from its first
    byte, not what is left of the idle timeout (5 s)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", guarded)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    first = await reader.readuntil(b'{"status": "ok"}')
    assert first.startswith(b"HTTP/1.1 200 OK")
    # Idle past the head timeout of the connection's opening, within the idle timeout.
    await asyncio.sleep(1.2)
    started = time.monotonic()
    writer.write(b"GET /healthz HTTP/1.1\r\n")
    for _ in range(60):
        await asyncio.sleep(0.1)
        if writer.is_closing() or reader.at_eof():
            break
        writer.write(b"X")
    assert await asyncio.wait_for(reader.read(), 5) == b""
    # 1 s after its first byte; the idle timeout would have been 3.8 s.
    assert time.monotonic() - started < 2.5
    writer.close()


async def test_beyond_the_cap_the_longest_waiting_connection_makes_room_never_a_busy_one() -> None:
    """With room for 4 connections: a request in progress keeps its connection while idle ones
    come and go, each new one closing the one that waited longest."""
    release, started = asyncio.Event(), asyncio.Event()

    async def slow(_request: web.Request) -> web.Response:
        started.set()
        await release.wait()
        return web.json_response({"done": True})

    app = web.Application(middlewares=[errors.problems])
    limits.install(app, SHORT)
    app.router.add_get("/slow", slow)
    runner, port = await start_guarded(app)
    try:
        busy_reader, busy_writer = await asyncio.open_connection("127.0.0.1", port)
        busy_writer.write(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        await asyncio.wait_for(started.wait(), 5)
        idle = [await asyncio.open_connection("127.0.0.1", port) for _ in range(6)]
        await _until(lambda: app[limits.CONNECTIONS].evicted >= 3)
        assert len(app[limits.CONNECTIONS]) == 4
        assert app[limits.CONNECTIONS].evicted == 3
        closed = [r.at_eof() or await _eof_soon(r) for r, _ in idle]
        assert closed == [True, True, True, False, False, False]
        release.set()
        answer = await asyncio.wait_for(busy_reader.readuntil(b'{"done": true}'), 2)
        assert answer.startswith(b"HTTP/1.1 200 OK")
        busy_writer.close()
        for _, writer in idle:
            writer.close()
    finally:
        await runner.cleanup()


async def _until(condition: Callable[[], bool]) -> None:
    """Return once ``condition`` holds (bounded); the server runs on this loop meanwhile."""
    async with asyncio.timeout(5):
        # The server's accepting has no event to wait on; each turn of the loop lets it run.
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0)


async def _eof_soon(reader: asyncio.StreamReader) -> bool:
    try:
        return await asyncio.wait_for(reader.read(1), 0.1) == b""
    except TimeoutError:
        return False
