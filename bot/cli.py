"""The ``carebot`` command line. Settings come from the environment (or ``.env``).

A bad setting is reported as one line naming the variable, with exit code 2 — never a
traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from bot.config import Settings, load_settings
from bot.errors import CarebotError, ConfigError
from bot.logs import setup_logging

log = logging.getLogger("carebot")

DESCRIPTION = """Carebot: a customer-support assistant.
Customers write on Telegram (or the console), staff help in Slack (or `carebot staff`),
managers read honest satisfaction summaries. Configure with environment variables or a
.env file; with none set, everything runs locally on SQLite and the console."""


def _setup_logging(settings: Settings | None, verbose: bool = False) -> None:
    level = "DEBUG" if verbose else (settings.log_level if settings else "INFO")
    setup_logging(level, settings.log_format if settings else "text")


def _cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from bot.demo import run_demo

    return asyncio.run(run_demo(settings))


def _cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from bot.chat import run_chat

    return asyncio.run(
        run_chat(
            settings,
            as_json=args.json,
            name=args.name,
            user_id=args.user,
            agent_name=args.agent,
            language=args.language,
        )
    )


def _cmd_staff(args: argparse.Namespace, settings: Settings) -> int:
    from bot.staff_desk import run_staff_desk

    return asyncio.run(run_staff_desk(settings, agent_name=args.agent))


def _cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    from storage.db import open_database
    from storage.migrate import upgrade_database

    async def upgrade() -> str | None:
        db = open_database(settings.database_url)
        try:
            return await upgrade_database(db)
        finally:
            await db.dispose()

    revision = asyncio.run(upgrade())
    print(f"Database is at schema revision {revision}.")
    return 0


def _cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.serve import run_all

    return asyncio.run(run_all(settings, host=args.host, port=args.port))


def _cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from bot.serve import serve

    return serve(settings, host=args.host, port=args.port, workers=args.workers)


def _cmd_customer(args: argparse.Namespace, settings: Settings) -> int:
    import json

    from bot.app import build_carebot
    from bot.core import privacy_requests

    if args.action == "erase" and not args.yes:
        if not sys.stdin.isatty():
            print("carebot: erasing cannot be undone; add --yes to confirm", file=sys.stderr)
            return 2
        answer = input(f"Erase all personal data of customer {args.id}? Type 'erase': ")
        if answer.strip() != "erase":
            print("Nothing was erased.")
            return 1

    async def act() -> Any:
        carebot = await build_carebot(settings, with_channels=False)
        try:
            if args.action == "export":
                return await privacy_requests.export(carebot.engine, args.id)
            return await privacy_requests.erase(carebot.engine, args.id)
        finally:
            await carebot.stop()

    result = asyncio.run(act())
    if result is None:
        print(f"carebot: no customer {args.id}", file=sys.stderr)
        return 1
    if args.action == "export":
        text = json.dumps(result, indent=2, ensure_ascii=False, default=str)
        if args.out:
            with open(args.out, "w", encoding="utf-8") as handle:
                handle.write(text + "\n")
            print(f"Wrote {args.out}.")
        else:
            print(text)
    else:
        print(
            f"Erased customer {args.id}: personal data and transcripts removed; "
            f"{result['staff_posts_to_delete']} staff post(s) queued for deletion."
        )
    return 0


def _cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from intents.cli import eval_main

    return eval_main(list(args.rest))


def _cmd_domain(args: argparse.Namespace, settings: Settings) -> int:
    from intents.cli import domain_check_main

    return domain_check_main(list(args.rest))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and ``--help``)."""
    parser = argparse.ArgumentParser(
        prog="carebot",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(
        name: str, handler: Callable[[argparse.Namespace, Settings], int], text: str, **kwargs: Any
    ) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=text, description=text, **kwargs)
        command.set_defaults(handler=handler)
        return command

    add("demo", _cmd_demo, "play scripted conversations on a fresh SQLite file, then a summary")
    chat = add("chat", _cmd_chat, "talk to the bot in this terminal (or pipe lines in)")
    chat.add_argument("--json", action="store_true", help="one JSON object per action")
    chat.add_argument("--name", default="Alex", help="the customer's name (default: Alex)")
    chat.add_argument("--user", default="console-user", help="the customer's id")
    chat.add_argument("--agent", default="Sam Staff", help="the staff member's name")
    chat.add_argument("--language", default="en", help="the customer's language code")
    staff = add("staff", _cmd_staff, "work handoffs in the terminal (when Slack is not set up)")
    staff.add_argument("--agent", default="Sam Staff", help="your name as customers see it")
    for name, handler, text in (
        ("run", _cmd_run, "everything in one process: polling/Socket Mode, webhooks, timers"),
        ("serve", _cmd_serve, "the webhook app only (Telegram + Slack), for one or more workers"),
    ):
        command = add(name, handler, text)
        command.add_argument("--host", default="127.0.0.1", help="bind address")
        command.add_argument("--port", type=int, default=8080, help="port (default 8080)")
        if name == "serve":
            command.add_argument(
                "--workers", type=int, default=1, help="worker processes (PostgreSQL only)"
            )
    from bot.reporting import add_report_commands

    add_report_commands(sub)
    customer = add("customer", _cmd_customer, "data-subject requests: export or erase a customer")
    customer.add_argument("action", choices=["export", "erase"])
    customer.add_argument("id", help="our customer id, or CHANNEL:ID such as telegram:12345")
    customer.add_argument("--out", help="export: write the JSON to this file")
    customer.add_argument("--yes", action="store_true", help="erase: do not ask to confirm")
    db = add("db", _cmd_db, "database maintenance")
    db.add_argument("action", choices=["upgrade"], help="apply migrations")
    for name, handler, text in (
        ("eval", _cmd_eval, "measure intent or mood accuracy on a CSV (see `carebot eval --help`)"),
        ("domain", _cmd_domain, "validate a domain folder: `carebot domain check [FOLDER]`"),
    ):
        command = add(name, handler, text, add_help=False)
        command.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


NO_SETTINGS = {"eval", "domain"}


def _split_pass_through(argv: list[str]) -> tuple[list[str], list[str]]:
    """Cut the arguments of ``eval``/``domain`` off before argparse sees them.

    argparse's ``REMAINDER`` does not take a first argument that starts with ``-``, so
    ``carebot eval --train FILE`` (and ``--help``) would be refused as unknown options.
    """
    for index, word in enumerate(argv):
        if word in NO_SETTINGS:
            return argv[: index + 1], argv[index + 1 :]
        if not word.startswith("-"):
            break
    return argv, []


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``carebot`` console script."""
    parser = build_parser()
    head, rest = _split_pass_through(list(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(head)
    if rest:
        args.rest = rest
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    if args.command == "domain":
        if not args.rest or args.rest[0] != "check":
            print("usage: carebot domain check [FOLDER]", file=sys.stderr)
            return 2
        args.rest = args.rest[1:]
    try:
        settings = None if args.command in NO_SETTINGS else load_settings()
        _setup_logging(settings, args.verbose)
        return int(args.handler(args, settings))
    except ConfigError as exc:
        print(f"carebot: {exc}", file=sys.stderr)
        return 2
    except CarebotError as exc:
        print(f"carebot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
