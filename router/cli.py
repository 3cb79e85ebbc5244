"""Command line: serve, migrate, inventory import, admin reset-token, backup, restore."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

import structlog

from router import banner, config, listening, logging
from router.app import create_app
from router.bootstrap import bootstrap
from router.cli_admin import ROTATABLE, backup, reset_token, restore
from router.errors import RouterError
from router.inventory_import import import_inventory
from router.serve import supervisor
from router.serve.worker import run_loop, serve_app
from router.store.accounts import AccountStore
from router.store.inventory import InventoryStore
from router.store.opening import open_database
from router.version import version

log = structlog.get_logger(__name__)

DEFAULTS = config.Settings()
ENVIRONMENT_NOTE = (
    "Every setting can also be given in the settings file or as an environment variable: "
    "a top-level key k is ROUTER_K, a key k in section [s] is ROUTER_S_K (for example "
    "ROUTER_LOG_LEVEL=debug, ROUTER_CALLBACKS_MAX_ATTEMPTS=5). Flags override variables, "
    "which override the file. config/router.toml lists every setting with its default."
)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `router` command."""
    args = _parse(argv)
    try:
        config_file = config.locate(_option(args, "config"))
        settings = config.load(config_file, overrides=_overrides(args))
        # Resolved once: whatever directory later code runs in, this is the data.
        settings = config.replace(settings, data_dir=str(Path(settings.data_dir).resolve()))
        logging.configure(settings)
        for name in config.unknown_variables():
            log.warning("unknown_variable_ignored", variable=name, hint="no setting reads it")
        log.info(
            "settings_resolved",
            config_file=str(config_file) if config_file else None,
            data_dir=settings.data_dir,
            database="external" if settings.database_url else "embedded",
        )
        if args.command is serve and config.effective_workers(settings) > 1:
            return supervisor.serve(settings)
        return int(_run(args.command(settings, args)))
    except RouterError as error:
        print(f"router: {error.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _run(main_coroutine: Coroutine[Any, Any, int]) -> int:
    return int(run_loop(main_coroutine))


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse, with an unknown option reported against the subcommand that was given
    (its usage, not the top-level one)."""
    args, extra = _parser().parse_known_args(argv)
    if extra:
        args.parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="router", description=__doc__, epilog=ENVIRONMENT_NOTE)
    parser.add_argument("--version", action="version", version=f"router {version()}")
    _add_common_options(parser, default=None)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    # On a subcommand the common options default to "not given", so that one given
    # before the subcommand is not overwritten by the subcommand's default.
    common = argparse.ArgumentParser(add_help=False)
    _add_common_options(common, default=argparse.SUPPRESS)

    def command(name: str, help_text: str, **kwargs: Any) -> argparse.ArgumentParser:
        return commands.add_parser(
            name, help=help_text, description=help_text, epilog=ENVIRONMENT_NOTE, **kwargs
        )

    serve_parser = command("serve", "run the HTTP service", parents=[common])
    serve_parser.add_argument(
        "--host",
        help=f"listen address; 0.0.0.0 for every IPv4 address (default: {DEFAULTS.host}; "
        "ROUTER_HOST)",
    )
    serve_parser.add_argument(
        "--port", type=int, help=f"listen port (default: {DEFAULTS.port}; ROUTER_PORT)"
    )
    serve_parser.add_argument(
        "--workers",
        type=int,
        help="worker processes sharing the port (default: one per CPU this process may use; "
        "1: a single process; ROUTER_SERVE_WORKERS)",
    )
    serve_parser.set_defaults(command=serve, parser=serve_parser)

    migrate_parser = command("migrate", "apply database migrations, then exit", parents=[common])
    migrate_parser.set_defaults(command=migrate, parser=migrate_parser)

    inventory_parser = command("inventory", "manage the number inventory", parents=[common])
    inventory_commands = inventory_parser.add_subparsers(required=True, metavar="ACTION")
    import_parser = inventory_commands.add_parser(
        "import", help="load DIDs from a CSV file", parents=[common]
    )
    import_parser.add_argument("file", type=Path, help="CSV: number, type, area code, country")
    import_parser.set_defaults(command=inventory_import, parser=import_parser)

    admin_parser = command(
        "admin", "administration of a stopped or running service", parents=[common]
    )
    admin_commands = admin_parser.add_subparsers(required=True, metavar="ACTION")
    reset_parser = admin_commands.add_parser(
        "reset-token",
        help="rotate the super admin's AuthToken and the gateway token; prints the new ones",
        parents=[common],
    )
    reset_parser.add_argument(
        "--only", choices=ROTATABLE, help="rotate only this one (default: both)"
    )
    reset_parser.set_defaults(command=reset_token, parser=reset_parser)

    backup_parser = command("backup", "dump the database to a file (pg_dump)", parents=[common])
    backup_parser.add_argument("file", type=Path, help="the dump to write (custom format)")
    backup_parser.set_defaults(command=backup, parser=backup_parser)
    restore_parser = command(
        "restore", "replace the database's contents with a dump (pg_restore)", parents=[common]
    )
    restore_parser.add_argument("file", type=Path, help="a dump written by router backup")
    restore_parser.set_defaults(command=restore, parser=restore_parser)
    return parser


def _add_common_options(parser: argparse.ArgumentParser, *, default: Any) -> None:
    parser.add_argument(
        "--config",
        default=default,
        help="TOML settings file (default: ROUTER_CONFIG, else config/router.toml "
        "in the working directory when there is one)",
    )
    parser.add_argument(
        "--database-url",
        default=default,
        help="PostgreSQL URL (default: ROUTER_DATABASE_URL; empty: a private cluster "
        "in the data directory)",
    )
    parser.add_argument(
        "--data-dir",
        default=default,
        help=f"data directory, home of the embedded cluster (default: ROUTER_DATA_DIR, "
        f"else {DEFAULTS.data_dir} under the working directory)",
    )


def _option(args: argparse.Namespace, name: str) -> Any:
    return getattr(args, name, None)


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    overrides = {name: _option(args, name) for name in ("database_url", "data_dir", "host", "port")}
    return {**overrides, "serve_workers": _option(args, "workers")}


async def serve(settings: config.Settings, args: argparse.Namespace) -> int:
    """One process (`--workers 1`): run until SIGINT or SIGTERM, then shut down cleanly.
    More workers run under router/serve/supervisor.py instead."""
    # The port first: a busy one stops us before anything touches the database.
    sock = listening.bind(settings.host, settings.port)
    try:
        async with open_database(settings) as database:
            result = await bootstrap(AccountStore(database), settings)
            banner.announce(result, Path(settings.data_dir))
            await serve_app(create_app(settings, database=database), settings, sock)
    finally:
        sock.close()
    return 0


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
    _progress(total, total, finished=True)
    print(summary.render())
    return 0 if summary.rejected_count == 0 else 1


def _count_lines(path: Path) -> int | None:
    if not path.is_file():
        return None
    with path.open("rb") as lines:
        return sum(1 for _ in lines)


def _progress(done: int, total_lines: int, *, finished: bool = False) -> None:
    # Rows exclude the header and blank lines, so while reading the bar is an estimate
    # capped short of full; it fills when the whole file is read.
    width = 30
    share = 1.0 if finished else min(0.99, done / max(total_lines, 1))
    filled = int(width * share)
    bar = "#" * filled + "." * (width - filled)
    end = "\n" if finished else ""
    print(f"\r[{bar}] {share:4.0%}", end=end, file=sys.stderr, flush=True)
