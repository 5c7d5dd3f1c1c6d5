"""The ``notify`` command line: serve, worker, migrate, feed-token, emails preview.

Configuration comes from the environment, read once here; a bad value ends the process with one
line on stderr naming the variable and the problem, and exit status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import signal
import sys
from collections.abc import Sequence

from aiohttp import web

from notify import startup
from notify.app import create_app
from notify.config import DEFAULT_MAIL_FROM, ConfigError, Settings, load_settings
from notify.db.engine import create_engine
from notify.db.migrate import current_revision, migrate
from notify.feed import cli as feed_cli
from notify.mail import preview
from notify.services import open_services
from notify.startup import StartupError
from notify.web import worker_ops
from notify.web.limits import CONNECTIONS, GuardedSite

log = logging.getLogger("notify")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="notify", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="HTTP API, delivery worker and scheduler")
    serve.add_argument("--no-worker", action="store_true", help="HTTP API only")
    commands.add_parser("worker", help="delivery worker and scheduler, without HTTP")
    commands.add_parser("migrate", help="bring the database schema to the newest revision")
    feed_cli.add_commands(commands)
    preview.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(os.environ)
    except ConfigError as exc:
        print(f"notify: configuration error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    delivers = args.command == "worker" or (args.command == "serve" and not args.no_worker)
    try:
        if args.command != preview.COMMAND:  # previews touch neither database nor mail
            asyncio.run(startup.check(settings, delivers=delivers))
    except StartupError as exc:
        print(f"notify: {exc}", file=sys.stderr)
        return 2
    if args.command in ("serve", "worker") and settings.mail_from == DEFAULT_MAIL_FROM:
        # The contract's default keeps a first start working; mail servers refuse or bin a
        # sender at localhost, so it is said once, at start, not discovered in a bounce.
        log.warning(
            "notify.mail_from_default mail_from=%r: set NOTIFY_MAIL_FROM to an address of "
            "a domain you send from",
            settings.mail_from,
        )
    try:
        if args.command == "migrate":
            return asyncio.run(_migrate(settings))
        if args.command == feed_cli.COMMAND:
            return asyncio.run(feed_cli.run(args, settings))
        if args.command == preview.COMMAND:
            return preview.run(args, settings)
        if args.command == "worker":
            return asyncio.run(_worker(settings))
        return asyncio.run(_serve(settings, worker=not args.no_worker))
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        print(f"notify: {exc}", file=sys.stderr)
        return 1


async def _migrate(settings: Settings) -> int:
    engine = create_engine(settings.database_url)
    try:
        await migrate(engine)
        print(f"notify: database at revision {await current_revision(engine)}")
    finally:
        await engine.dispose()
    return 0


def _started() -> None:
    """Once a long-running command has built what it keeps (modules, compiled templates,
    catalogs, the engine): those objects live as long as the process, so they leave the
    collector's generations and its full collections stop walking them in the middle of a
    burst of webhooks or a delivery pass."""
    gc.freeze()


async def _serve(settings: Settings, *, worker: bool) -> int:
    app = create_app(settings, run_worker=worker)
    idle = app[CONNECTIONS].limits.idle_timeout
    runner = web.AppRunner(app, access_log=None, handle_signals=False, keepalive_timeout=idle)
    await runner.setup()
    site = GuardedSite(runner, settings.host, settings.port)
    await site.start()
    _started()
    print(f"notify: listening on http://{settings.host}:{settings.port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("notify.stopping")
    await runner.cleanup()
    return 0


async def _worker(settings: Settings) -> int:
    """Background work without HTTP, until SIGTERM or SIGINT; any number may share PostgreSQL."""
    async with open_services(settings) as services:
        background = services.background
        await background.start()
        ops = None
        if settings.metrics_port:
            ops = await worker_ops.start(settings, services.engine, services.metrics)
        assert background.deliverer is not None
        _started()
        print(f"notify: worker {background.deliverer.owner} running", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        log.info("notify.stopping")
        if ops is not None:
            await ops.cleanup()
        await background.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
