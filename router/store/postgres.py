"""The PostgreSQL adapter: pool, named SQL files, migrations, error translation.

This package is the only place SQL runs. Each statement lives in sql/<name>.sql and
is loaded once; driver errors become router errors through router/store/errors.py.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterable
from functools import cache
from importlib import resources
from typing import Any

import asyncpg
import orjson
import structlog
from asyncpg import Connection, Record

from router.store.errors import (
    CONNECTION_FAILURES,
    refusals_unavailable,
    translate_unavailable,
    unavailable,
)

log = structlog.get_logger(__name__)

_SQL_DIR = resources.files("router.store") / "sql"
_MIGRATIONS_DIR = resources.files("router.store") / "migrations"

__all__ = ["Connection", "Database", "Record", "notify_numbers_changed", "sql"]

NOTIFY_PAYLOAD_LIMIT = 7000  # PostgreSQL refuses payloads of 8000 bytes or more


@cache
def sql(name: str) -> str:
    """The text of sql/<name>.sql, read once."""
    return (_SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, text) of every migration file, in order."""
    found = []
    for entry in _MIGRATIONS_DIR.iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            found.append((version, entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


class Database:
    """An asyncpg pool plus the helpers every store module uses."""

    def __init__(self, pool: asyncpg.Pool, dsn: str) -> None:
        self.pool = pool
        self.dsn = dsn  # for connections outside the pool (LISTEN)

    @classmethod
    async def connect(cls, dsn: str, *, min_size: int = 2, max_size: int = 10) -> Database:
        """Open a pool; raise Unavailable if the server cannot be reached."""
        try:
            pool = await asyncpg.create_pool(
                dsn,
                min_size=min_size,
                max_size=max_size,
                init=_init_connection,
                reset=_keep_session,
            )
        except CONNECTION_FAILURES as error:
            raise unavailable(error, "Database unreachable") from error
        assert pool is not None
        return cls(pool, dsn)

    async def close(self) -> None:
        await self.pool.close()

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        """A pooled connection; connection failures become Unavailable."""
        with translate_unavailable():
            with refusals_unavailable():
                acquired = self.pool.acquire()
                conn = await acquired.__aenter__()
            try:
                yield conn
            finally:
                await acquired.__aexit__(None, None, None)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """A connection inside one transaction, committed when the block ends."""
        async with self.connection() as conn, conn.transaction():
            yield conn

    async def fetch(self, name: str, *args: Any) -> list[Record]:
        async with self.connection() as conn:
            return list(await conn.fetch(sql(name), *args))

    async def fetchrow(self, name: str, *args: Any) -> Record | None:
        async with self.connection() as conn:
            row: Record | None = await conn.fetchrow(sql(name), *args)
            return row

    async def fetchval(self, name: str, *args: Any) -> Any:
        async with self.connection() as conn:
            return await conn.fetchval(sql(name), *args)

    async def execute(self, name: str, *args: Any) -> str:
        async with self.connection() as conn:
            return str(await conn.execute(sql(name), *args))

    async def migrate(self) -> list[str]:
        """Apply every pending migration, each in its own transaction; return their names."""
        applied: list[str] = []
        async with self.connection() as conn:
            await conn.execute(sql("ensure_migrations_table"))
            for version, name, text in migrations():
                async with conn.transaction():
                    await conn.execute(sql("lock_migrations"))
                    done = {r["version"] for r in await conn.fetch(sql("applied_migrations"))}
                    if version in done:
                        continue
                    await conn.execute(text)
                    await conn.execute(sql("record_migration"), version, name)
                    applied.append(name)
                    log.info("migration_applied", migration=name)
        return applied

    async def pending_migrations(self) -> list[str]:
        """Names of migrations not yet applied (readiness check)."""
        async with self.connection() as conn:
            await conn.execute(sql("ensure_migrations_table"))
            done = {r["version"] for r in await conn.fetch(sql("applied_migrations"))}
        return [name for version, name, _ in migrations() if version not in done]


async def _keep_session(conn: Connection) -> None:
    """No reset query when a connection returns to the pool: pooled connections never
    change session state (no SET, LISTEN or session locks; migrations lock per
    transaction), and the default reset costs a round trip per request."""


async def _init_connection(conn: Connection) -> None:
    # JSON columns (calls, callbacks) travel as Python objects.
    for kind in ("json", "jsonb"):
        await conn.set_type_codec(kind, encoder=dumps, decoder=orjson.loads, schema="pg_catalog")


def dumps(value: Any) -> str:
    """JSON text for a json/jsonb value; orjson: it showed in the profile of call
    recording, where the stdlib encoder cost several times more."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


async def notify_numbers_changed(
    conn: Connection,
    organizations: Iterable[str],
    phone_numbers: Iterable[str],
    *,
    everything: bool = False,
) -> None:
    """Tell every instance which cache entries a committed write made stale.

    Too many numbers for one payload, or `everything`, asks listeners to drop all
    they hold for those organizations (all organizations when none are named).
    """
    orgs = sorted(set(organizations))
    numbers = sorted(set(phone_numbers))
    payload = json.dumps({"organizations": orgs, "phone_numbers": numbers})
    if everything or len(payload.encode()) > NOTIFY_PAYLOAD_LIMIT:
        payload = json.dumps({"organizations": orgs, "all": True})
    await conn.execute(sql("notify_numbers_changed"), payload)
