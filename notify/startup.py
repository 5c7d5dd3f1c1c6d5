"""Checks a process makes before it starts, so that a setting that cannot work stops it at once
with one line naming the variable, instead of a traceback or a failure at the first email.

Errors::

    StartupError     the database cannot be reached or opened, or the mail directory cannot
                     be created or written (the CLI prints it and exits with status 2)

An SMTP server that does not answer is not an error: the process starts, warns, reports it in
``/readyz``, and emails wait in the outbox until the server answers.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from notify.config import Settings
from notify.db.engine import create_engine
from notify.delivery.transports import probe

DATABASE_TIMEOUT = 10.0
SMTP_TIMEOUT = 5.0


class StartupError(Exception):
    """A setting the process cannot start with; the message is one line, naming the variable."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {' '.join(problem.split())}")


async def check(settings: Settings, *, delivers: bool) -> None:
    """Check what the process will use; ``delivers``: it sends emails (serve, worker)."""
    await check_database(settings.database_url)
    if not delivers:
        return
    if settings.smtp is None:
        check_mail_dir(settings.mail_dir)
        return
    reason = await probe(settings.smtp, SMTP_TIMEOUT)
    if reason is not None:
        where = f"{settings.smtp.host}:{settings.smtp.port}"
        print(
            f"notify: warning: NOTIFY_SMTP_URL: the SMTP server at {where} does not answer "
            f"({reason}); emails wait in the outbox until it does",
            file=sys.stderr,
            flush=True,
        )


async def check_database(url: str) -> None:
    shown = make_url(url).render_as_string(hide_password=True)
    database = make_url(url).database
    if url.startswith("sqlite") and database and database != ":memory:":
        directory = Path(database).parent
        if not directory.is_dir():
            raise StartupError(
                "NOTIFY_DATABASE_URL",
                f"the directory {directory} of the SQLite database does not exist",
            )
    engine = create_engine(url)
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except TimeoutError:
        raise StartupError(
            "NOTIFY_DATABASE_URL",
            f"the database at {shown} did not answer within {DATABASE_TIMEOUT:g} s",
        ) from None
    except Exception as exc:
        # The driver's own words (asyncpg's, sqlite3's), not SQLAlchemy's wrapping of them.
        cause = getattr(exc, "orig", None) or exc
        raise StartupError(
            "NOTIFY_DATABASE_URL",
            f"cannot use the database at {shown}: {cause or type(cause).__name__}",
        ) from None
    finally:
        await engine.dispose()


def check_mail_dir(path: Path) -> None:
    """The file transport's directory exists (created when missing) and takes a file."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".notify-check-"):
            pass
    except OSError as exc:
        raise StartupError(
            "NOTIFY_MAIL_DIR", f"cannot create or write the directory {path}: {exc}"
        ) from None
