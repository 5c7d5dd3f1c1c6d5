"""Run the real ``notify`` console script in a subprocess and talk to it over HTTP."""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

NOTIFY = str(Path(sys.executable).with_name("notify"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Service:
    proc: subprocess.Popen[str]
    url: str
    output: list[str] = field(default_factory=list)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:  # pragma: no cover - a hung process is a failure
                self.kill()
                raise


def _read_until(
    proc: subprocess.Popen[str], marker: str, output: list[str], timeout: float
) -> None:
    assert proc.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
            continue
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"service exited early: {''.join(output)}")
        output.append(line)
        if marker in line:
            return
    raise TimeoutError(f"no {marker!r} within {timeout}s: {''.join(output)}")


@contextmanager
def running_service(
    env: dict[str, str], cwd: Path, args: tuple[str, ...] = ("serve",)
) -> Iterator[Service]:
    """Start ``notify serve`` and yield once it listens; stop it (SIGTERM) afterwards."""
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("NOTIFY_")}
    full_env.update({"NOTIFY_PORT": str(port), **env})
    proc = subprocess.Popen(
        [NOTIFY, *args],
        env=full_env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    service = Service(proc=proc, url=f"http://127.0.0.1:{port}")
    try:
        _read_until(proc, "listening on", service.output, timeout=60)
        yield service
    finally:
        service.stop()
        if proc.stdout is not None:
            service.output.append(proc.stdout.read())
            proc.stdout.close()


def http(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            raw = resp.read()
            return resp.status, (json.loads(raw) if raw else {})
    except urllib.error.HTTPError as err:
        raw = err.read()
        return err.code, (json.loads(raw) if raw else {})
