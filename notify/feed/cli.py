"""``notify feed-token create (--namespace ID | --instance ID)``: print a new feed token once."""

from __future__ import annotations

import argparse
import sys

from notify.config import Settings
from notify.db.engine import create_engine
from notify.db.migrate import migrate
from notify.feed.tokens import InvalidAudience, create_token

COMMAND = "feed-token"


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``feed-token create`` on the ``notify`` parser's subcommands."""
    tokens = commands.add_parser(COMMAND, help="feed tokens for GitLab instances and namespaces")
    actions = tokens.add_subparsers(dest="feed_token_action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="print a new feed token; it is shown only once")
    audience = create.add_mutually_exclusive_group(required=True)
    audience.add_argument("--namespace", metavar="ID", help="a GitLab.com namespace id")
    audience.add_argument("--instance", metavar="ID", help="a self-managed instance id")


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Create the token (migrating the schema first, as ``serve`` does) and print it alone."""
    engine = create_engine(settings.database_url)
    try:
        await migrate(engine)
        token = await create_token(engine, namespace_id=args.namespace, instance_id=args.instance)
    except InvalidAudience as exc:
        print(f"notify: {exc}", file=sys.stderr)
        return 2
    finally:
        await engine.dispose()
    print(token, flush=True)
    return 0
