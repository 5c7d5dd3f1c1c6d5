"""Run the real ``notify`` console script in a subprocess and talk to it over HTTP."""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
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
    proc: subprocess.Popen[bytes]
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
    proc: subprocess.Popen[bytes], marker: str, output: list[str], timeout: float
) -> None:
    """Collect the process's output lines until one contains ``marker``.

    Reads the raw pipe: a buffered readline() would pull several lines into its buffer where
    the selector can no longer see them.
    """
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    selector = selectors.DefaultSelector()
    selector.register(fd, selectors.EVENT_READ)
    pending = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                raise RuntimeError(f"service exited early: {''.join(output)}")
            pending += chunk
            *lines, pending = pending.split(b"\n")
            output.extend(line.decode(errors="replace") + "\n" for line in lines)
            if any(marker in line for line in output):
                return
        raise TimeoutError(f"no {marker!r} within {timeout}s: {''.join(output)}")
    finally:
        selector.close()
        if pending:
            output.append(pending.decode(errors="replace"))


@contextmanager
def running_service(
    env: dict[str, str],
    cwd: Path,
    args: tuple[str, ...] = ("serve",),
    ready: str = "listening on",
) -> Iterator[Service]:
    """Start ``notify serve`` (or ``args``) and yield once it prints ``ready``; stop it
    (SIGTERM) afterwards."""
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("NOTIFY_")}
    full_env.update({"NOTIFY_PORT": str(port), **env})
    proc = subprocess.Popen(
        [NOTIFY, *args],
        env=full_env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    service = Service(proc=proc, url=f"http://127.0.0.1:{port}")
    try:
        _read_until(proc, ready, service.output, timeout=60)
        yield service
    finally:
        service.stop()
        if proc.stdout is not None:
            service.output.append(proc.stdout.read().decode(errors="replace"))
            proc.stdout.close()


# Sets the file limit, then becomes `notify`: a preexec_fn would be unsafe in a test process
# with threads.
_LIMITED = (
    "import os, resource, sys; "
    "limit = int(sys.argv[1]); "
    "resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit)); "
    "os.execv(sys.argv[2], sys.argv[2:])"
)


@contextmanager
def logging_service(
    env: dict[str, str],
    cwd: Path,
    args: tuple[str, ...] = ("serve",),
    *,
    file_limit: int | None = None,
) -> Iterator[str]:
    """``notify serve`` (or ``args``), optionally under a file limit, whose output goes to
    ``cwd/notify.log`` as it comes. Yields its base URL once it listens."""
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("NOTIFY_")}
    full_env.update({"NOTIFY_PORT": str(port), **env})
    command = [NOTIFY, *args]
    if file_limit is not None:
        command = [sys.executable, "-c", _LIMITED, str(file_limit), *command]
    log = cwd / "notify.log"
    proc = subprocess.Popen(
        command, env=full_env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    listening = threading.Event()
    copier = threading.Thread(target=_copy_to, args=(proc, log, listening), daemon=True)
    copier.start()
    try:
        # The copier sets the event at the line, or when the output ends (the process exited).
        if not listening.wait(timeout=60) or proc.poll() is not None:
            raise RuntimeError(f"service did not start: {log.read_text()}")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        copier.join(timeout=30)


def _copy_to(proc: subprocess.Popen[bytes], log: Path, listening: threading.Event) -> None:
    """Write the process's output to ``log`` line by line, as it comes, until it ends; set
    ``listening`` at the line that says so. The pipe is always read, so the process never waits
    on it however much it logs."""
    assert proc.stdout is not None
    with log.open("wb") as out, proc.stdout:
        for line in proc.stdout:
            out.write(line)
            out.flush()
            if b"listening on" in line:
                listening.set()
    listening.set()


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
