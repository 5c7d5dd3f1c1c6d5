"""Start-up checks of the real ``notify`` process: a setting that cannot work stops it with one
line naming the variable (exit 2); an SMTP server that does not answer is a warning and shows
in /readyz; ``notify worker`` serves its ops endpoints on NOTIFY_METRICS_PORT."""

from __future__ import annotations

import os
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.processes import NOTIFY, free_port, http, running_service
from tests.smtp import smtp_server

pytestmark = pytest.mark.slow


def run(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("NOTIFY_")}
    full_env.update(env)
    return subprocess.run(
        [NOTIFY, *args], env=full_env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


def assert_one_line_refusal(result: subprocess.CompletedProcess[str], variable: str) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"notify: {variable}: "), lines[0]
    assert "Traceback" not in result.stderr
    return lines[0]


def test_an_unreachable_postgresql_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    """Every command checks the database first; the password is not shown."""
    url = f"postgresql+asyncpg://notify:s3cret@127.0.0.1:{free_port()}/notify"
    line = assert_one_line_refusal(
        run({"NOTIFY_DATABASE_URL": url}, tmp_path, "migrate"), "NOTIFY_DATABASE_URL"
    )
    assert "Connect call failed" in line
    assert "s3cret" not in line


def test_a_postgresql_database_that_does_not_exist_is_one_line(tmp_path: Path) -> None:
    from tests.conftest import POSTGRES_URL

    url = POSTGRES_URL.rsplit("/", 1)[0] + "/notify_no_such_database"
    line = assert_one_line_refusal(
        run({"NOTIFY_DATABASE_URL": url}, tmp_path, "serve"), "NOTIFY_DATABASE_URL"
    )
    assert "notify_no_such_database" in line


def test_sqlite_in_a_missing_directory_is_one_line(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/missing/notify.db"
    line = assert_one_line_refusal(
        run({"NOTIFY_DATABASE_URL": url}, tmp_path, "serve"), "NOTIFY_DATABASE_URL"
    )
    assert f"{tmp_path}/missing" in line
    assert not (tmp_path / "missing").exists()


def test_a_mail_dir_that_cannot_be_a_directory_is_one_line(tmp_path: Path) -> None:
    """A file where the directory should be, and a directory inside it: both refused at start
    by the processes that deliver."""
    (tmp_path / "taken").write_text("not a directory")
    db = f"sqlite+aiosqlite:///{tmp_path}/notify.db"
    for command, mail_dir in (("serve", tmp_path / "taken"), ("worker", tmp_path / "taken" / "x")):
        env = {"NOTIFY_DATABASE_URL": db, "NOTIFY_MAIL_DIR": str(mail_dir)}
        line = assert_one_line_refusal(run(env, tmp_path, command), "NOTIFY_MAIL_DIR")
        assert str(mail_dir) in line


def test_an_api_only_process_does_not_need_the_mail_dir(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("not a directory")
    env = {
        "NOTIFY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/notify.db",
        "NOTIFY_MAIL_DIR": str(tmp_path / "taken"),
    }
    with running_service(env, tmp_path, ("serve", "--no-worker")) as service:
        assert http("GET", service.url + "/healthz")[0] == 200


def test_an_unreachable_smtp_server_is_a_warning_and_shows_in_readyz(tmp_path: Path) -> None:
    """The process starts, says which server does not answer, and /readyz stays 200 (the
    database answers) while naming the SMTP server as down."""
    port = free_port()
    env = {
        "NOTIFY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/notify.db",
        "NOTIFY_SMTP_URL": f"smtp://127.0.0.1:{port}",
    }
    with running_service(env, tmp_path) as service:
        warning = [line for line in service.output if "warning" in line]
        assert len(warning) == 1
        assert f"NOTIFY_SMTP_URL: the SMTP server at 127.0.0.1:{port} does not answer" in warning[0]
        status, body = http("GET", service.url + "/readyz")
        assert status == 200
        assert body["status"] == "ready"
        dependencies = body["dependencies"]
        assert isinstance(dependencies, dict)
        assert dependencies["database"] == {"up": True}
        assert dependencies["smtp"]["up"] is False
        assert "Connect call failed" in dependencies["smtp"]["error"]


def test_a_reachable_smtp_server_is_up_in_readyz(tmp_path: Path) -> None:
    with smtp_server() as server:
        env = {
            "NOTIFY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/notify.db",
            "NOTIFY_SMTP_URL": server.url,
        }
        with running_service(env, tmp_path) as service:
            assert not [line for line in service.output if "warning" in line]
            status, body = http("GET", service.url + "/readyz")
            assert (status, body["dependencies"]) == (
                200,
                {"database": {"up": True}, "smtp": {"up": True}},
            )


def test_the_worker_serves_metrics_health_and_readiness(tmp_path: Path, db_url: str) -> None:
    """On NOTIFY_METRICS_PORT, with problem+json for anything else; the missing mail directory
    was made at start."""
    port = free_port()
    env = {
        "NOTIFY_DATABASE_URL": db_url,
        "NOTIFY_METRICS_PORT": str(port),
        "NOTIFY_MAIL_DIR": str(tmp_path / "new" / "mail"),
    }
    with running_service(env, tmp_path, ("worker",), ready="running"):
        assert (tmp_path / "new" / "mail").is_dir()
        base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(base + "/metrics", timeout=5) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/plain")
            text = resp.read().decode()
        assert "notify_outbox_depth" in text and "notify_delivery_attempts_total" in text
        assert http("GET", base + "/healthz") == (200, {"status": "ok"})
        status, body = http("GET", base + "/readyz")
        assert (status, body["dependencies"]) == (200, {"database": {"up": True}})
        status, body = http("GET", base + "/webhooks")
        assert status == 404 and body["type"] == "/problems/not-found"


def test_a_bad_metrics_port_stops_the_worker_with_one_line(tmp_path: Path) -> None:
    result = run({"NOTIFY_METRICS_PORT": "http"}, tmp_path, "worker")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "notify: configuration error: NOTIFY_METRICS_PORT: must be a whole number from 1 to "
        "65535, got 'http'"
    )
