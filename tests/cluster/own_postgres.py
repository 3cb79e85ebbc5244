"""A PostgreSQL cluster of the test's own, on a fixed port, that the test may stop and
start again (a real outage: the server goes away, connections break)."""

from __future__ import annotations

import asyncio
import base64
import shutil
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from router import tokens
from router.domain import Organization, Role
from router.store.accounts import AccountStore, NewAccount
from router.store.embedded import EmbeddedPostgres
from router.store.postgres import Database


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class OwnPostgres:
    cluster: EmbeddedPostgres
    dsn: str

    async def stop(self) -> None:
        await asyncio.to_thread(self.cluster.stop)

    async def start(self) -> None:
        assert await asyncio.to_thread(self.cluster.start) == self.dsn


def own_postgres() -> Iterator[OwnPostgres]:
    """Start a cluster in a directory of its own; stop and remove it whatever happens."""
    # Under /tmp itself: the server may run as the postgres user, who cannot enter
    # pytest's private directories.
    directory = Path(tempfile.mkdtemp(prefix="router-own-pg-", dir="/tmp"))
    directory.chmod(0o755)
    cluster = EmbeddedPostgres(
        directory / "cluster",
        port=free_port(),
        server_settings=("fsync=off", "synchronous_commit=off", "full_page_writes=off"),
    )
    try:
        yield OwnPostgres(cluster, cluster.start())
    finally:
        cluster.stop()
        shutil.rmtree(directory, ignore_errors=True)


@dataclass(frozen=True)
class Owner:
    organization: Organization
    account_sid: str
    auth: dict[str, str]


async def make_owner(dsn: str) -> Owner:
    """A migrated database with one organization and its administrator account."""
    db = await Database.connect(dsn, min_size=1, max_size=2)
    try:
        await db.migrate()
        store = AccountStore(db)
        organization = await store.create_organization("spool.test")
        token = tokens.new_token()
        account = await store.create_account(
            NewAccount(
                "spool",
                Role.ADMINISTRATOR,
                None,
                organization.sid,
                tokens.hash_token(token),
                tokens.new_signing_key(),
            )
        )
    finally:
        await db.close()
    raw = f"{account.sid}:{token}".encode()
    return Owner(
        organization, account.sid, {"Authorization": "Basic " + base64.b64encode(raw).decode()}
    )
