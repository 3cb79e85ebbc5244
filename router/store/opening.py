"""Opening the configured database for a command: the given URL, or the embedded
cluster in the data directory (started for the duration, or reused when running)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import structlog

from router.config import Settings
from router.errors import ConfigError
from router.store.embedded import EmbeddedPostgres
from router.store.postgres import Database

log = structlog.get_logger(__name__)


@contextlib.asynccontextmanager
async def database_dsn(settings: Settings) -> AsyncIterator[str]:
    """The DSN of the configured database, its server running for the duration."""
    if settings.database_url:
        yield settings.database_url
        return
    embedded, dsn = await asyncio.to_thread(start_embedded, settings)
    try:
        yield dsn
    finally:
        await asyncio.to_thread(embedded.stop)


def start_embedded(settings: Settings) -> tuple[EmbeddedPostgres, str]:
    """Start the embedded cluster of the data directory (saying so when it is new);
    blocking, for callers without an event loop (router serve's supervisor)."""
    embedded = EmbeddedPostgres(Path(settings.data_dir))
    is_new = not embedded.pgdata.exists()
    dsn = embedded.start()
    if is_new:
        log.warning(
            "new_embedded_database",
            path=str(embedded.pgdata),
            hint="it is empty; if you expected your data, set --data-dir or ROUTER_DATA_DIR",
        )
    return embedded, dsn


@contextlib.asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[Database]:
    """The configured database, migrated, with a pool for the duration."""
    async with database_dsn(settings) as dsn:
        database = await Database.connect(
            dsn, min_size=settings.database_pool_min, max_size=settings.database_pool_max
        )
        try:
            await database.migrate()
            yield database
        finally:
            await database.close()


def require_existing_database(settings: Settings) -> None:
    """Commands that act on existing data never create an empty embedded cluster."""
    if settings.database_url:
        return
    pgdata = EmbeddedPostgres(Path(settings.data_dir)).pgdata
    if not pgdata.is_dir():
        raise ConfigError(
            f"There is no database in {settings.data_dir} (no {pgdata}). Give the data "
            "directory of your service with --data-dir or ROUTER_DATA_DIR.",
            param="ROUTER_DATA_DIR",
        )
