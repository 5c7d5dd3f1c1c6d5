"""Settings: read once from the ``NOTIFY_*`` environment variables into a frozen object.

Nothing else in the project reads ``os.environ``. A bad value raises :class:`ConfigError`, whose
message is one line naming the variable and what is wrong; the CLI prints it and exits.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.headerregistry import Address
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from notify.mail.signing import DkimKey, KeyFileError, load_key
from webhooks.signature import parse_secrets

DEFAULT_MAIL_FROM = "GitLab <billing@localhost>"


class ConfigError(ValueError):
    """A configuration variable holds a value the service cannot run with."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


@dataclass(frozen=True, slots=True, kw_only=True)
class SmtpSettings:
    host: str
    port: int
    username: str | None
    password: str | None
    implicit_tls: bool
    starttls: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    database_url: str = "sqlite+aiosqlite:///./notify.db"
    host: str = "127.0.0.1"
    port: int = 8080
    webhook_secrets: tuple[bytes, ...] = ()
    smtp: SmtpSettings | None = None
    mail_dir: Path = Path("./mail")
    mail_from: str = DEFAULT_MAIL_FROM
    reply_to: str | None = None
    dkim: DkimKey | None = None
    brand: str = "GitLab"
    public_url: str = "http://127.0.0.1:8080"
    portal_url: str = "https://customers.example.com"
    admin_token: str | None = None
    scheduler_interval: float = 60.0
    test_clock: bool = False
    metrics_port: int | None = None


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Build the settings from an environment mapping; raise ConfigError on the first bad value."""

    def get(name: str) -> str | None:
        value = environ.get(name)
        if value is None or value.strip() == "":
            return None
        return value.strip()

    defaults = Settings()
    mail_from = _address("NOTIFY_MAIL_FROM", get("NOTIFY_MAIL_FROM") or defaults.mail_from)
    reply_to = get("NOTIFY_REPLY_TO")
    return Settings(
        database_url=_database_url(get("NOTIFY_DATABASE_URL") or defaults.database_url),
        host=get("NOTIFY_HOST") or defaults.host,
        port=_int("NOTIFY_PORT", get("NOTIFY_PORT"), defaults.port, 1, 65535),
        webhook_secrets=_secrets(get("NOTIFY_WEBHOOK_SECRETS")),
        smtp=_smtp(get("NOTIFY_SMTP_URL")),
        mail_dir=Path(get("NOTIFY_MAIL_DIR") or defaults.mail_dir),
        mail_from=mail_from,
        reply_to=_address("NOTIFY_REPLY_TO", reply_to) if reply_to else None,
        dkim=_dkim(get, mail_from),
        brand=_brand(get("NOTIFY_BRAND") or defaults.brand),
        public_url=_http_url("NOTIFY_PUBLIC_URL", get("NOTIFY_PUBLIC_URL") or defaults.public_url),
        portal_url=_http_url("NOTIFY_PORTAL_URL", get("NOTIFY_PORTAL_URL") or defaults.portal_url),
        admin_token=_admin_token(get("NOTIFY_ADMIN_TOKEN")),
        scheduler_interval=_interval(get("NOTIFY_SCHEDULER_INTERVAL")),
        test_clock=_flag("NOTIFY_TEST_CLOCK", get("NOTIFY_TEST_CLOCK")),
        metrics_port=_optional_port("NOTIFY_METRICS_PORT", get("NOTIFY_METRICS_PORT")),
    )


def _database_url(value: str) -> str:
    if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise ConfigError(
            "NOTIFY_DATABASE_URL",
            "must start with sqlite+aiosqlite:// or postgresql+asyncpg://",
        )
    return value


def _int(name: str, value: str | None, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    if not re.fullmatch(r"[0-9]{1,9}", value) or not low <= int(value) <= high:
        raise ConfigError(name, f"must be a whole number from {low} to {high}, got {value!r}")
    return int(value)


def _optional_port(name: str, value: str | None) -> int | None:
    return None if value is None else _int(name, value, 0, 1, 65535)


def _interval(value: str | None) -> float:
    if value is None:
        return 60.0
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0.05 <= seconds <= 86400:
        raise ConfigError(
            "NOTIFY_SCHEDULER_INTERVAL",
            f"must be a number of seconds from 0.05 to 86400, got {value!r}",
        )
    return seconds


def _flag(name: str, value: str | None) -> bool:
    if value is None or value == "0":
        return False
    if value == "1":
        return True
    raise ConfigError(name, f"must be 0 or 1, got {value!r}")


def _secrets(value: str | None) -> tuple[bytes, ...]:
    if value is None:
        return ()
    try:
        return tuple(parse_secrets(value))
    except ValueError as exc:
        raise ConfigError("NOTIFY_WEBHOOK_SECRETS", str(exc)) from None


def _smtp(value: str | None) -> SmtpSettings | None:
    if value is None:
        return None
    name = "NOTIFY_SMTP_URL"
    parts = urlsplit(value)
    if parts.scheme not in ("smtp", "smtps"):
        raise ConfigError(name, f"scheme must be smtp or smtps, got {parts.scheme or 'none'!r}")
    if not parts.hostname:
        raise ConfigError(name, "has no host")
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(name, "has an invalid port") from None
    query = parse_qs(parts.query)
    unknown = set(query) - {"starttls"}
    if unknown:
        raise ConfigError(name, f"unknown parameter {sorted(unknown)[0]!r}")
    starttls_values = query.get("starttls", ["false"])
    if starttls_values[-1] not in ("true", "false"):
        raise ConfigError(name, "starttls must be true or false")
    starttls = starttls_values[-1] == "true"
    implicit = parts.scheme == "smtps"
    if implicit and starttls:
        raise ConfigError(name, "smtps:// already uses TLS; drop ?starttls=true")
    return SmtpSettings(
        host=parts.hostname,
        port=port or (465 if implicit else 25),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        implicit_tls=implicit,
        starttls=starttls,
    )


def _address(name: str, value: str) -> str:
    _display, address = parseaddr(value)
    if "@" not in address or any(c in value for c in "\r\n"):
        raise ConfigError(name, f"is not a valid address, got {value!r}")
    try:
        Address(addr_spec=address)
    except ValueError as exc:
        raise ConfigError(name, f"is not a valid address: {exc}") from None
    return value


# A DKIM selector and a signing domain are dot-separated DNS labels (RFC 6376 §3.1, §3.5).
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?"
_DNS_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")


def _dns_name(name: str, value: str) -> str:
    try:
        ascii_value = value.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_value = ""
    if not _DNS_NAME.fullmatch(ascii_value):
        raise ConfigError(name, f"is not a DNS name, got {value!r}")
    return value


def _dkim(get: Callable[[str], str | None], mail_from: str) -> DkimKey | None:
    selector = _dns_name("NOTIFY_DKIM_SELECTOR", get("NOTIFY_DKIM_SELECTOR") or "notify")
    domain = get("NOTIFY_DKIM_DOMAIN")
    if domain is not None:
        domain = _dns_name("NOTIFY_DKIM_DOMAIN", domain)
    path = get("NOTIFY_DKIM_PRIVATE_KEY")
    if path is None:
        return None
    if domain is None:
        domain = _dns_name("NOTIFY_MAIL_FROM", parseaddr(mail_from)[1].rpartition("@")[2])
    try:
        return load_key(Path(path), selector=selector, domain=domain)
    except KeyFileError as exc:
        raise ConfigError("NOTIFY_DKIM_PRIVATE_KEY", str(exc)) from None


def _brand(value: str) -> str:
    if len(value) > 100 or any(ord(c) < 32 for c in value):
        raise ConfigError("NOTIFY_BRAND", "must be at most 100 printable characters")
    return value


def _http_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(name, f"must be an http:// or https:// URL, got {value!r}")
    return value.rstrip("/")


def _admin_token(value: str | None) -> str | None:
    if value is not None and len(value) < 16:
        raise ConfigError("NOTIFY_ADMIN_TOKEN", "must be at least 16 characters long")
    return value
