"""Shared set-up for the benchmarks: a database, a tenant, and bulk-loaded numbers.

Every benchmark starts its own throwaway PostgreSQL cluster with the service's
embedded-cluster code (or uses ROUTER_BENCH_DATABASE_URL), so figures are
reproducible on a fresh machine with one command.
"""

from __future__ import annotations

import contextlib
import random
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
import os

from router import tokens
from router.domain import Role
from router.store.accounts import AccountStore, NewAccount
from router.store.embedded import EmbeddedPostgres
from router.store.postgres import Database

COLUMNS = (
    "sid",
    "account_sid",
    "organization_sid",
    "phone_number",
    "friendly_name",
    "api_version",
    "number_type",
    "pure_sip",
    "voice_url",
    "date_created",
    "date_updated",
)


@contextlib.contextmanager
def database_url(*, durable: bool = True) -> Iterator[str]:
    """A PostgreSQL URL for one benchmark run; a private cluster unless
    ROUTER_BENCH_DATABASE_URL names a server. `durable=False` turns fsync off (only
    for benchmarks that do not measure writes)."""
    given = os.environ.get("ROUTER_BENCH_DATABASE_URL")
    if given:
        yield given
        return
    data_dir = Path(tempfile.mkdtemp(prefix="router-bench-", dir="/tmp"))
    data_dir.chmod(0o755)
    settings = () if durable else ("fsync=off", "synchronous_commit=off")
    cluster = EmbeddedPostgres(data_dir, server_settings=settings)
    try:
        yield cluster.start()
    finally:
        cluster.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@contextlib.asynccontextmanager
async def migrated(dsn: str) -> AsyncIterator[Database]:
    """A migrated database, emptied of earlier benchmark data."""
    db = await Database.connect(dsn, min_size=1, max_size=8)
    try:
        await db.migrate()
        async with db.connection() as conn:
            await conn.execute(
                "TRUNCATE callback_attempts, callbacks, call_events, messages, calls, inventory,"
                " incoming_numbers, applications, accounts, organizations, settings CASCADE"
            )
        yield db
    finally:
        await db.close()


@dataclass(frozen=True)
class Tenant:
    organization_sid: str
    domain: str
    account_sid: str
    token: str


async def make_tenant(db: Database, domain: str = "bench.example.com") -> Tenant:
    """A super admin account in its own organization."""
    store = AccountStore(db)
    organization = await store.create_organization(domain)
    token = tokens.new_token()
    account = await store.create_account(
        NewAccount(
            friendly_name="bench",
            role=Role.ADMINISTRATOR,
            parent_sid=None,
            organization_sid=organization.sid,
            credentials=tokens.hash_token(token),
            signing_key=tokens.new_signing_key(),
        )
    )
    return Tenant(organization.sid, domain, account.sid, token)


def did(i: int) -> str:
    """The i-th benchmark DID: +1 and ten digits, all distinct."""
    return f"+1{2000000000 + i * 7:010d}"


def pattern_texts(count: int, seed: int = 7) -> list[str]:
    """A realistic mix of dial-plan patterns: digit prefixes with `.*`, fixed-length
    tails, leading classes, star codes and a few alternations; all distinct."""
    rng = random.Random(seed)
    shapes = (
        lambda p: f"{p}.*",
        lambda p: f"^{p}\\d{{{rng.randint(2, 6)}}}$",
        lambda p: f"[{rng.choice('123456789')}{rng.choice('123456789')}]{p[1:]}...",
        lambda p: f"\\*{p[:3]}.*#",
        lambda p: f"({p}|{p[::-1]})\\d*",
    )
    found: set[str] = set()
    while len(found) < count:
        prefix = str(rng.randint(10**3, 10**7 - 1))
        found.add(rng.choices(shapes, weights=(50, 25, 10, 10, 5))[0](prefix))
    return sorted(found)


async def load_numbers(
    db: Database,
    tenant: Tenant,
    *,
    numbers: int,
    patterns: int,
    voice_url: str = "http://127.0.0.1:9/r",
) -> None:
    """Bulk-load inventory DIDs and pattern numbers (COPY; a million rows take seconds)."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        (
            f"PN{i:032x}",
            tenant.account_sid,
            tenant.organization_sid,
            did(i),
            did(i),
            "2012-04-24",
            "local",
            False,
            voice_url,
            start,
            start,
        )
        for i in range(numbers)
    ]
    rows += [
        (
            f"PN{numbers + i:032x}",
            tenant.account_sid,
            tenant.organization_sid,
            text,
            text,
            "2012-04-24",
            "sip",
            True,
            voice_url,
            start + timedelta(seconds=i),
            start,
        )
        for i, text in enumerate(pattern_texts(patterns))
    ]
    async with db.connection() as conn:
        await conn.copy_records_to_table("incoming_numbers", records=rows, columns=COLUMNS)
        await conn.execute("ANALYZE incoming_numbers")
