"""Command line: serve, migrate, inventory import."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Coroutine, Sequence
from pathlib import Path
from typing import Any

import structlog

from router import config, logging
from router.app import create_app
from router.bootstrap import Bootstrap, bootstrap
from router.errors import RouterError
from router.inventory_import import import_inventory
from router.serve import supervisor
from router.serve.worker import run_loop, serve_app
from router.store.accounts import AccountStore
from router.store.embedded import EmbeddedPostgres
from router.store.numbers import InventoryStore
from router.store.postgres import Database

log = structlog.get_logger(__name__)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `router` command."""
    args = _parser().parse_args(argv)
    try:
        settings = config.load(args.config, overrides=_overrides(args))
        logging.configure(settings)
        if args.command is serve and config.effective_workers(settings) > 1:
            return supervisor.serve(settings, _announce)
        return int(_run(args.command(settings, args)))
    except RouterError as error:
        print(f"router: {error.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _run(main_coroutine: Coroutine[Any, Any, int]) -> int:
    return int(run_loop(main_coroutine))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="router", description=__doc__)
    parser.add_argument("--config", help="TOML settings file (default: config/router.toml)")
    parser.add_argument("--database-url", help="PostgreSQL URL (default: embedded cluster)")
    parser.add_argument("--data-dir", help="data directory for the embedded cluster")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    serve_parser = commands.add_parser("serve", help="run the HTTP service")
    serve_parser.add_argument("--host")
    serve_parser.add_argument("--port", type=int)
    serve_parser.add_argument(
        "--workers", type=int, help="worker processes (default: one per CPU; 1: one process)"
    )
    serve_parser.set_defaults(command=serve)
    migrate_parser = commands.add_parser("migrate", help="apply database migrations")
    migrate_parser.set_defaults(command=migrate)
    inventory_parser = commands.add_parser("inventory", help="manage the number inventory")
    inventory_commands = inventory_parser.add_subparsers(required=True, metavar="ACTION")
    import_parser = inventory_commands.add_parser("import", help="load DIDs from a CSV file")
    import_parser.add_argument("file", type=Path, help="CSV: number, type, area code, country")
    import_parser.set_defaults(command=inventory_import)
    return parser


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "database_url": args.database_url,
        "data_dir": args.data_dir,
        "host": getattr(args, "host", None),
        "port": getattr(args, "port", None),
        "serve_workers": getattr(args, "workers", None),
    }


@contextlib.asynccontextmanager
async def open_database(settings: config.Settings) -> AsyncIterator[Database]:
    """The configured database, or the embedded cluster started for the duration;
    migrated either way."""
    embedded = None
    dsn = settings.database_url
    if not dsn:
        embedded = EmbeddedPostgres(Path(settings.data_dir))
        dsn = await asyncio.to_thread(embedded.start)
    try:
        database = await Database.connect(
            dsn, min_size=settings.database_pool_min, max_size=settings.database_pool_max
        )
        try:
            await database.migrate()
            yield database
        finally:
            await database.close()
    finally:
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)


async def serve(settings: config.Settings, args: argparse.Namespace) -> int:
    """One process (`--workers 1`): run until SIGINT or SIGTERM, then shut down cleanly.
    More workers run under router/serve/supervisor.py instead."""
    async with open_database(settings) as database:
        _announce(await bootstrap(AccountStore(database), settings))
        await serve_app(create_app(settings, database=database), settings, reuse_port=False)
    return 0


def _announce(result: Bootstrap) -> None:
    """Print generated secrets once, to the terminal, never to the log."""
    if result.admin_auth_token:
        print(f"Super admin AccountSid: {result.admin_account_sid}")
        print(f"Super admin AuthToken:  {result.admin_auth_token}  (shown once; store it)")
    if result.gateway_token:
        print(f"Gateway token:          {result.gateway_token}  (shown once; store it)")
    sys.stdout.flush()


async def migrate(settings: config.Settings, args: argparse.Namespace) -> int:
    async with open_database(settings):
        print("migrations applied")
    return 0


async def inventory_import(settings: config.Settings, args: argparse.Namespace) -> int:
    path: Path = args.file
    total = await asyncio.to_thread(_count_lines, path)
    if total is None:
        print(f"router: no such file: {path}", file=sys.stderr)
        return 2
    async with open_database(settings) as database:
        with path.open(encoding="utf-8-sig", newline="") as lines:
            summary = await import_inventory(
                InventoryStore(database), lines, progress=lambda n: _progress(n, total)
            )
    print(file=sys.stderr)
    print(summary.render())
    return 0 if summary.rejected_count == 0 else 1


def _count_lines(path: Path) -> int | None:
    if not path.is_file():
        return None
    with path.open("rb") as lines:
        return sum(1 for _ in lines)


def _progress(done: int, total_lines: int) -> None:
    # Rows exclude the header and blank lines, so the bar is an estimate capped at full.
    width = 30
    filled = min(width, width * done // max(total_lines, 1))
    bar = "#" * filled + "." * (width - filled)
    print(f"\r[{bar}] {done} rows read", end="", file=sys.stderr, flush=True)
