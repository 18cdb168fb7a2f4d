"""``python -m chat_server [serve]``: run the chat server (settings from the environment).

``python -m chat_server create-agent --username U --display-name N [--role agent|admin|marketer]
[--max-chats 3] [--database-url URL]`` creates an agent (migrating the database first); the
password is prompted for, or read from ``--password`` (scripts only: visible in ``ps``); the
database is ``--database-url``, else DATABASE_URL.

``python -m chat_server purge [--dry-run]`` deletes (or counts) what is older
than ``RETENTION_DAYS`` now, as the server's scheduled purge does.

``python -m chat_server export-events --since 2026-01-01 [--until ...] [--type ...]
--format jsonl|csv [--output FILE]`` streams the interaction event log (a
progress bar on stderr).

``python -m chat_server backfill-traits`` builds segment traits for visitors
seen before the upgrade to 0016, from the event log (services/segments/backfill.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import signal
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import TextIO

from aiohttp import web
from pydantic import ValidationError
from tqdm import tqdm  # type: ignore[import-untyped]

from chat_server import logs
from chat_server.app import create_app
from chat_server.db.engine import create_engine, create_sessionmaker
from chat_server.db.migrate import upgrade_to_head
from chat_server.gc_tuning import tune_for_serving
from chat_server.http.connections import ConnectionGate, GuardedSite, connection_budget
from chat_server.log_repeats import install_repeat_collapsing
from chat_server.protocol.agent import ROLES, AgentCreate
from chat_server.redaction import install_log_redaction
from chat_server.services import export
from chat_server.services.agents import AgentExists, create_agent
from chat_server.services.privacy import PrivacyService
from chat_server.services.retention import RetentionService
from chat_server.services.segments.backfill import backfill_traits
from chat_server.settings import Settings


def load_settings() -> Settings:
    try:
        return Settings()  # values come from the environment
    except ValidationError as exc:
        sys.exit(f"chat_server: invalid configuration:\n{exc}")


def configure_logging(settings: Settings) -> None:
    """Log to stderr; with ``REDACT_PII`` every line is redacted (chat_server/redaction.py);
    repeated warnings collapse to one line with a count (chat_server/log_repeats.py)."""
    logs.configure(settings.log_level, settings.log_format)
    if settings.redact_pii:
        install_log_redaction()
    install_repeat_collapsing(settings.log_repeat_seconds)


async def _serve(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM, every connection through the gate (http/connections.py).

    The signal only sets an event: the shutdown then runs in order, with the
    loop still serving (stop listening, close every socket, close the rest,
    release resources). aiohttp's own handling raises GracefulExit out of the
    loop, and asyncio.run then cancels every task at once: 10,000 websocket
    handlers torn down in one storm, the orderly close last.
    """
    runner = web.AppRunner(
        create_app(settings),
        handle_signals=False,
        keepalive_timeout=settings.http_keepalive_seconds,
    )
    await runner.setup()
    gate = ConnectionGate(
        max_connections=connection_budget(settings.http_max_connections, settings.http_fd_reserve),
        max_handshaking=settings.http_max_handshaking,
        max_handshaking_per_key=settings.http_max_handshaking_per_ip,
        max_per_key=settings.max_connections_per_ip,
        trusted_proxies=settings.trusted_proxy_set,
    )
    site = GuardedSite(
        runner,
        settings.host,
        settings.port,
        gate,
        settings.http_header_timeout_seconds,
        shutdown_timeout=5,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    log = logging.getLogger("chat_server")
    try:
        await site.start()
        tune_for_serving()
        await stop.wait()
        log.info("shutdown: stopping (no new connections; closing every socket)")
    finally:
        started = time.monotonic()
        await runner.cleanup()
        log.info("shutdown: done in %.2f s", time.monotonic() - started)


def serve() -> None:
    settings = load_settings()
    configure_logging(settings)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(settings))


async def _create_agent(database_url: str, body: AgentCreate) -> int:
    engine = create_engine(database_url)
    try:
        await upgrade_to_head(engine)
        async with create_sessionmaker(engine).begin() as session:
            agent = await create_agent(
                session,
                body.username,
                body.password,
                body.display_name,
                body.role,
                body.max_chats,
            )
            return agent.id
    finally:
        await engine.dispose()


def create_agent_command(args: argparse.Namespace) -> None:
    database_url = args.database_url or load_settings().database_url
    password = args.password or getpass.getpass(f"password for {args.username}: ")
    try:
        body = AgentCreate(
            username=args.username,
            password=password,
            display_name=args.display_name or args.username,
            role=args.role,
            max_chats=args.max_chats,
        )
    except ValidationError as exc:
        sys.exit(f"create-agent: {exc}")
    try:
        agent_id = asyncio.run(_create_agent(database_url, body))
    except AgentExists:
        sys.exit(f"create-agent: the username {args.username!r} is taken")
    print(f"created {body.role} {body.username!r} (id {agent_id})")


async def _purge(settings: Settings, dry_run: bool) -> dict[str, int]:
    engine = create_engine(settings.database_url)
    try:
        await upgrade_to_head(engine)
        privacy = PrivacyService(create_sessionmaker(engine))
        retention = RetentionService(
            privacy.sessions, privacy, settings.retention_days, settings.retention_check_hours
        )
        return await retention.purge(dry_run=dry_run)
    finally:
        await engine.dispose()


def purge_command(args: argparse.Namespace) -> None:
    settings = load_settings()
    if settings.retention_days == 0:
        print("RETENTION_DAYS=0: everything is kept, nothing to purge")
        return
    counts = asyncio.run(_purge(settings, args.dry_run))
    verb = "would delete" if args.dry_run else "deleted"
    print(f"older than {settings.retention_days} days, {verb}:")
    for table, count in counts.items():
        print(f"  {table}: {count}")


async def _backfill(settings: Settings) -> int:
    engine = create_engine(settings.database_url)
    try:
        await upgrade_to_head(engine)
        gap = timedelta(minutes=settings.conversation_idle_minutes)
        return await backfill_traits(create_sessionmaker(engine), gap)
    finally:
        await engine.dispose()


def backfill_command(_: argparse.Namespace) -> None:
    count = asyncio.run(_backfill(load_settings()))
    print(f"traits built for {count} visitors seen before segments existed")


def _moment(text: str) -> datetime:
    """An ISO date or datetime (UTC when no offset is given), for argparse."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO date or datetime (e.g. 2026-01-31 or 2026-01-31T12:00)"
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def _export(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    engine = create_engine(settings.database_url)
    try:
        await upgrade_to_head(engine)
        sessions = create_sessionmaker(engine)
        total = await export.count_events(sessions, args.since, args.until, args.type)
        with tqdm(total=total, unit="events", file=sys.stderr, disable=args.quiet) as bar:
            rows = export.events(sessions, args.since, args.until, args.type)
            return await export.write(rows, out, args.format, bar.update)
    finally:
        await engine.dispose()


def export_command(args: argparse.Namespace) -> None:
    if args.until is not None and args.until <= args.since:
        sys.exit("error: --until must be after --since")
    settings = load_settings()
    if args.output is None:
        written = asyncio.run(_export(settings, args, sys.stdout))
    else:
        with open(args.output, "w", encoding="utf-8", newline="") as out:
            written = asyncio.run(_export(settings, args, out))
    print(f"exported {written} events", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m chat_server")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the chat server (default)")
    create = commands.add_parser("create-agent", help="create an agent account")
    create.add_argument("--username", required=True)
    create.add_argument("--display-name")
    create.add_argument("--password", help="prompted for when omitted")
    create.add_argument("--role", choices=ROLES, default="agent")
    create.add_argument("--max-chats", type=int, default=3)
    create.add_argument("--database-url", help="default: DATABASE_URL from the environment")
    purge = commands.add_parser("purge", help="delete data older than RETENTION_DAYS now")
    purge.add_argument("--dry-run", action="store_true", help="only count what would go")
    commands.add_parser(
        "backfill-traits",
        help="build segment traits for visitors seen before the upgrade (from the event log)",
    )
    exporting = commands.add_parser("export-events", help="stream the interaction event log")
    exporting.add_argument("--since", type=_moment, required=True, help="ISO date or datetime")
    exporting.add_argument("--until", type=_moment, help="exclusive; default: now")
    exporting.add_argument("--type", action="append", default=[], help="only this event type")
    exporting.add_argument("--format", choices=export.FORMATS, default="jsonl")
    exporting.add_argument("--output", help="file to write (default: standard output)")
    exporting.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args()
    if args.command == "create-agent":
        create_agent_command(args)
    elif args.command == "purge":
        purge_command(args)
    elif args.command == "export-events":
        export_command(args)
    elif args.command == "backfill-traits":
        backfill_command(args)
    else:
        serve()


if __name__ == "__main__":
    main()
