"""Browser fixtures: Debian's chromium-headless-shell through Playwright, one browser per test
process, against a real ``notify serve`` on each database seeded with ``tests.console.story``.

Without the browser the tests are skipped, except under CI (``CI=true``), where that is a
failure (``.ci/run`` installs it when it is missing).
"""

from __future__ import annotations

import concurrent.futures
import os
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy.engine import make_url

from tests.conftest import IN_CI, POSTGRES_URL
from tests.console import story
from tests.notify.test_api_schema import _postgres_database
from tests.processes import logging_service
from tests.smtp import SmtpServer, smtp_server

CHROMIUM = Path("/usr/bin/chromium-headless-shell")
HAVE_CHROMIUM = CHROMIUM.exists()
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"


@dataclass
class Console:
    url: str
    smtp: SmtpServer
    backend: str


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Any]:
    """One browser for the session, on the session's event loop: Playwright's async API, so
    that no loop stays current between tests (its sync API would break every async test
    after it in the same process)."""
    if not HAVE_CHROMIUM:
        message = f"{CHROMIUM} is missing (apt-get install chromium-headless-shell)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        await launched.close()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def console(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Console]:
    """A seeded service on a database of its own, and the SMTP server it delivers to."""
    cwd = tmp_path_factory.mktemp(f"console-{request.param}")
    name = f"notify_console_{os.getpid()}"
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{cwd}/notify.db"
    else:
        try:
            _outside_the_browser_loop(
                name, 'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', 'CREATE DATABASE "{name}"'
            )
        except (OSError, asyncpg.PostgresError) as exc:
            message = f"PostgreSQL is not available at {POSTGRES_URL}: {exc}"
            if IN_CI:
                pytest.fail(message)
            pytest.skip(message)
        url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        with smtp_server() as smtp, logging_service(story.env(url, smtp, str(cwd)), cwd) as base:
            story.seed(base, smtp)
            yield Console(url=base, smtp=smtp, backend=request.param)
    finally:
        if request.param == "postgres":
            _outside_the_browser_loop(name, 'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _outside_the_browser_loop(name: str, *statements: str) -> None:
    # Playwright's sync API keeps its event loop current in this thread while the browser is
    # open, so asyncio.run (asyncpg) runs in a thread of its own.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(_postgres_database, name, *statements).result()


async def sign_in(page: Any, console: Console, token: str = story.ADMIN_TOKEN) -> None:
    await page.goto(f"{console.url}/admin/")
    await page.get_by_label("Admin token").fill(token)
    await page.get_by_role("button", name="Sign in").click()


@pytest_asyncio.fixture(loop_scope="session")
async def page(browser: Any, console: Console) -> AsyncIterator[Any]:
    """A signed-in page in a context of its own (its own cookies)."""
    context = await browser.new_context()
    signed = await context.new_page()
    await sign_in(signed, console)
    yield signed
    await context.close()


async def text_of(page: Any) -> str:
    """The page's visible text, spaces collapsed."""
    return re.sub(r"\s+", " ", str(await page.inner_text("main")))
