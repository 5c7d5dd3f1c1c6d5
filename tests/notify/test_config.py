"""Settings: defaults, every variable parsed, and a one-line error for each bad value."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from notify.config import ConfigError, Settings, load_settings
from tests.support import SECRET, SECRET_TEXT


def test_defaults_are_the_contracts() -> None:
    s = load_settings({})
    assert s == Settings()
    assert s.database_url == "sqlite+aiosqlite:///./notify.db"
    assert (s.host, s.port) == ("127.0.0.1", 8080)
    assert s.webhook_secrets == ()
    assert s.smtp is None
    assert s.mail_dir == Path("./mail")
    assert s.mail_from == "GitLab <billing@localhost>"
    assert s.brand == "GitLab"
    assert s.public_url == "http://127.0.0.1:8080"
    assert s.portal_url == "https://customers.example.com"
    assert s.admin_token is None
    assert s.scheduler_interval == 60
    assert s.test_clock is False


def test_every_variable_is_read() -> None:
    other = "whsec_" + "b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldA=="
    s = load_settings(
        {
            "NOTIFY_DATABASE_URL": "postgresql+asyncpg://u:p@db:5432/n",
            "NOTIFY_HOST": "0.0.0.0",
            "NOTIFY_PORT": "9000",
            "NOTIFY_WEBHOOK_SECRETS": f"{SECRET_TEXT}, {other}",
            "NOTIFY_SMTP_URL": "smtp://user%40x:p%3Ass@mail.test:2525?starttls=true",
            "NOTIFY_MAIL_DIR": "/tmp/m",
            "NOTIFY_MAIL_FROM": "Billing <b@example.com>",
            "NOTIFY_BRAND": "Acme",
            "NOTIFY_PUBLIC_URL": "https://notify.example.com/",
            "NOTIFY_PORTAL_URL": "https://portal.example.com",
            "NOTIFY_ADMIN_TOKEN": "0123456789abcdef",
            "NOTIFY_SCHEDULER_INTERVAL": "0.5",
            "NOTIFY_TEST_CLOCK": "1",
        }
    )
    assert s.port == 9000 and s.host == "0.0.0.0"
    assert s.webhook_secrets[0] == SECRET and len(s.webhook_secrets) == 2
    assert s.smtp is not None
    assert (s.smtp.host, s.smtp.port, s.smtp.username, s.smtp.password) == (
        "mail.test",
        2525,
        "user@x",
        "p:ss",
    )
    assert s.smtp.starttls and not s.smtp.implicit_tls
    assert s.public_url == "https://notify.example.com"
    assert s.scheduler_interval == 0.5 and s.test_clock


def test_smtps_defaults_to_port_465() -> None:
    s = load_settings({"NOTIFY_SMTP_URL": "smtps://mail.test"})
    assert s.smtp is not None and s.smtp.implicit_tls and s.smtp.port == 465


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("NOTIFY_DATABASE_URL", "mysql://x", "must start with"),
        ("NOTIFY_PORT", "eighty", "whole number"),
        ("NOTIFY_PORT", "70000", "whole number"),
        ("NOTIFY_WEBHOOK_SECRETS", "not-a-secret", ""),
        ("NOTIFY_WEBHOOK_SECRETS", "whsec_%%%", ""),
        ("NOTIFY_SMTP_URL", "http://mail", "scheme"),
        ("NOTIFY_SMTP_URL", "smtp://", "host"),
        ("NOTIFY_SMTP_URL", "smtp://mail:99999", "port"),
        ("NOTIFY_SMTP_URL", "smtp://mail?tls=1", "unknown parameter"),
        ("NOTIFY_SMTP_URL", "smtps://mail?starttls=true", "already uses TLS"),
        ("NOTIFY_MAIL_FROM", "nobody", "valid address"),
        ("NOTIFY_BRAND", "x" * 101, "at most"),
        ("NOTIFY_PUBLIC_URL", "ftp://x", "http"),
        ("NOTIFY_PORTAL_URL", "customers", "http"),
        ("NOTIFY_ADMIN_TOKEN", "short", "at least 16"),
        ("NOTIFY_SCHEDULER_INTERVAL", "soon", "seconds"),
        ("NOTIFY_SCHEDULER_INTERVAL", "0", "seconds"),
        ("NOTIFY_TEST_CLOCK", "yes", "0 or 1"),
    ],
)
def test_bad_value_names_the_variable(variable: str, value: str, says: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({variable: value})
    message = str(info.value)
    assert message.startswith(f"{variable}: ")
    assert says in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("variable", "value"),
    [("NOTIFY_PORT", "http"), ("NOTIFY_DKIM_PRIVATE_KEY", "/nonexistent/dkim.pem")],
)
def test_cli_stops_with_one_line_on_a_bad_value(tmp_path: Path, variable: str, value: str) -> None:
    """The process exits 2 with a single stderr line naming the variable (a DKIM key file
    that is not there included), before it creates anything."""
    env = {**os.environ, variable: value}
    proc = subprocess.run(
        [sys.executable, "-m", "notify.cli", "serve"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert variable in lines[0]
    assert not (tmp_path / "notify.db").exists()
