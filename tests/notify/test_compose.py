"""docker-compose.yml: no engine runs here, so its structure is what is checked."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CONTRACT_VARIABLES = {
    "NOTIFY_DATABASE_URL",
    "NOTIFY_HOST",
    "NOTIFY_PORT",
    "NOTIFY_WEBHOOK_SECRETS",
    "NOTIFY_SMTP_URL",
    "NOTIFY_MAIL_DIR",
    "NOTIFY_MAIL_FROM",
    "NOTIFY_BRAND",
    "NOTIFY_PUBLIC_URL",
    "NOTIFY_PORTAL_URL",
    "NOTIFY_ADMIN_TOKEN",
    "NOTIFY_SCHEDULER_INTERVAL",
    "NOTIFY_TEST_CLOCK",
    "NOTIFY_METRICS_PORT",
}


def _compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())  # type: ignore[no-any-return]


def test_services_present() -> None:
    """The service, a worker, PostgreSQL and an SMTP catcher with a web UI are all defined."""
    services = _compose()["services"]
    assert {"notify", "worker", "postgres", "mailpit"} <= set(services)
    assert services["notify"]["command"] == ["serve"]
    assert services["worker"]["command"] == ["worker"]
    assert any(p.startswith("8025") for p in services["mailpit"]["ports"])


def test_environment_names_are_the_contracts() -> None:
    """Every NOTIFY_* variable the compose file sets is one the contract defines."""
    services = _compose()["services"]
    for name in ("notify", "worker"):
        env = services[name]["environment"]
        assert set(env) <= CONTRACT_VARIABLES, set(env) - CONTRACT_VARIABLES
        assert env["NOTIFY_DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert env["NOTIFY_SMTP_URL"].startswith("smtp://mailpit:")


def test_service_and_worker_use_the_same_database() -> None:
    services = _compose()["services"]
    urls = {services[n]["environment"]["NOTIFY_DATABASE_URL"] for n in ("notify", "worker")}
    assert len(urls) == 1
    assert re.search(r"@postgres:5432/", urls.pop())
