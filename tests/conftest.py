"""Shared fixtures: one throwaway PostgreSQL cluster per test process (started with the
service's own embedded-cluster code, unless ROUTER_TEST_DATABASE_URL names a server,
where each process gets a database of its own), migrated once; every test starts from
empty tables. The suite runs in two processes per CPU it may use (pytest-xdist), the
longest tests first; naming test files or tests runs them in this process."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from router import config, tokens
from router.app import create_app
from router.domain import Account, AccountStatus, InventoryNumber, NumberType, Organization, Role
from router.store.accounts import AccountStore, NewAccount
from router.store.embedded import EmbeddedPostgres
from router.store.inventory import InventoryStore
from router.store.postgres import Database

# Children before parents, so each DELETE leaves no row pointing at a deleted one.
TABLES = (
    "callback_attempts",
    "callbacks",
    "call_events",
    "messages",
    "calls",
    "inventory",
    "incoming_numbers",
    "applications",
    "accounts",
    "organizations",
    "settings",
)
# DELETE, not TRUNCATE: a test leaves a handful of rows, which DELETE removes in about a
# millisecond, where TRUNCATE (new files for every table and index) took some 60 ms, a
# minute of every suite run. One simple query, one transaction: all or nothing.
EMPTY_TABLES = "; ".join(f"DELETE FROM {t}" for t in TABLES)  # noqa: S608 - our table names


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto` (the default, pyproject.toml): two processes per CPU this one may use
    (up to 16), or none when the command names test files or tests (starting clusters
    would cost more than it saves). Two, because a test process waits about half its
    time (for servers it starts, fsync, sockets): on 2 CPUs the suite took 183 s with 2
    processes, 159 s with 3 and 150 s with 4."""
    named = any(arg.partition("::")[0].endswith(".py") for arg in config.option.file_or_dir)
    return 0 if named else min(2 * len(os.sched_getaffinity(0)), 16)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `long` first, so no process is left with one of them at the end
    while the others idle (the scheduler hands out tests in this order)."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


def _worker_database(given: str, worker: str) -> str:
    """A database of the given server for one xdist worker (created when missing), so
    workers do not empty each other's tables."""
    name = f"router_test_{worker}"

    async def create() -> None:
        conn = await asyncpg.connect(given)
        try:
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return with_database(given, name)


def with_database(url: str, name: str) -> str:
    """The same server's URL for another database."""
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


@pytest.fixture(scope="session")
def database_url(worker_id: str) -> Iterator[str]:
    """A PostgreSQL URL for this test process: the given server (a database per xdist
    worker) or a private cluster."""
    given = os.environ.get("ROUTER_TEST_DATABASE_URL")
    if given:
        yield given if worker_id == "master" else _worker_database(given, worker_id)
        return
    data_dir = Path(tempfile.mkdtemp(prefix="router-test-", dir="/tmp"))
    data_dir.chmod(0o755)  # the server may run as the postgres user
    # A throwaway cluster needs no durability: without fsync, emptying it per test is cheap.
    cluster = EmbeddedPostgres(
        data_dir,
        server_settings=("fsync=off", "synchronous_commit=off", "full_page_writes=off"),
    )
    try:
        yield cluster.start()
    finally:
        cluster.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
async def database(database_url: str) -> AsyncIterator[Database]:
    db = await Database.connect(database_url, min_size=1, max_size=10)
    await db.migrate()
    yield db
    await db.close()


@pytest.fixture
async def db(database: Database) -> Database:
    """The session database with every table emptied."""
    async with database.connection() as conn:
        await conn.execute(EMPTY_TABLES)
    return database


GATEWAY_TOKEN = "test-gateway-token-0123456789abcdef"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> config.Settings:
    # A data directory per test: an app's spool (router/spool/) lives there.
    overrides = {
        "database_url": database_url,
        "gateway_token": GATEWAY_TOKEN,
        "data_dir": str(tmp_path / "data"),
    }
    return config.load(environ={}, overrides=overrides)


@pytest.fixture
def gateway() -> dict[str, str]:
    """Headers that authenticate as the gateway on /v1/events."""
    return {"Authorization": f"Bearer {GATEWAY_TOKEN}"}


@dataclass(frozen=True)
class Tenant:
    """An account with its plain token, for Basic auth in tests."""

    account: Account
    token: str

    @property
    def sid(self) -> str:
        return self.account.sid

    @property
    def auth(self) -> dict[str, str]:
        raw = f"{self.account.sid}:{self.token}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


MakeOrg = Callable[..., Awaitable[Organization]]
MakeAccount = Callable[..., Awaitable[Tenant]]


@pytest.fixture
def make_org(db: Database) -> MakeOrg:
    counter = iter(range(1_000_000))

    async def make(domain: str | None = None) -> Organization:
        return await AccountStore(db).create_organization(domain or f"org{next(counter)}.test")

    return make


@pytest.fixture
def make_account(db: Database, make_org: MakeOrg) -> MakeAccount:
    async def make(
        parent: Tenant | None = None,
        *,
        organization: Organization | None = None,
        role: Role = Role.ADMINISTRATOR,
        status: str = "active",
    ) -> Tenant:
        org_sid = (
            organization.sid
            if organization
            else parent.account.organization_sid
            if parent
            else (await make_org()).sid
        )
        token = tokens.new_token()
        account = await AccountStore(db).create_account(
            NewAccount(
                friendly_name="test account",
                role=role,
                parent_sid=parent.sid if parent else None,
                organization_sid=org_sid,
                credentials=tokens.hash_token(token),
                signing_key=tokens.new_signing_key(),
                status=AccountStatus(status),
            )
        )
        return Tenant(account, token)

    return make


@pytest.fixture
async def admin(make_account: MakeAccount) -> Tenant:
    """The super admin (an active account without a parent)."""
    return await make_account()


@pytest.fixture
async def tenant(admin: Tenant, make_account: MakeAccount) -> Tenant:
    """An ordinary tenant: a sub-account of the super admin."""
    return await make_account(admin)


@pytest.fixture
def add_inventory(db: Database) -> Callable[..., Awaitable[None]]:
    async def add(
        *numbers: str, number_type: str = "local", area_code: str = "510", country: str = "US"
    ) -> None:
        await InventoryStore(db).insert(
            [InventoryNumber(n, NumberType(number_type), area_code, country, None) for n in numbers]
        )

    return add


@pytest.fixture
async def client(db: Database, settings: config.Settings) -> AsyncIterator[TestClient]:
    """An HTTP client on a real server bound to 127.0.0.1."""
    app = create_app(settings, database=db)
    async with TestClient(TestServer(app, host="127.0.0.1")) as test_client:
        yield test_client
