"""A database outage (SPEC 8): 503 with Retry-After, while routing keeps answering from
memory for numbers it already knows."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from router import config, tokens
from router.app import create_app
from router.domain import Role
from router.store.accounts import AccountStore, NewAccount
from router.store.postgres import Database
from tests.conftest import with_database

OUTAGE_DB = "router_outage_test"


@pytest.fixture
async def outage_database(database: Database, database_url: str) -> AsyncIterator[str]:
    """A database of its own in the test cluster, so it can be cut off alone."""
    async with database.connection() as conn:
        await conn.execute(f"DROP DATABASE IF EXISTS {OUTAGE_DB} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {OUTAGE_DB}")
    yield with_database(database_url, OUTAGE_DB)
    async with database.connection() as conn:
        await conn.execute(f"ALTER DATABASE {OUTAGE_DB} ALLOW_CONNECTIONS true")
        await conn.execute(f"DROP DATABASE IF EXISTS {OUTAGE_DB} WITH (FORCE)")


async def _cut_off(database: Database) -> None:
    async with database.connection() as conn:
        await conn.execute(f"ALTER DATABASE {OUTAGE_DB} ALLOW_CONNECTIONS false")
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            OUTAGE_DB,
        )


async def test_outage_gives_503_but_known_numbers_still_route(
    database: Database, outage_database: str, settings: config.Settings, gateway: dict[str, str]
) -> None:
    """With the database gone, the API answers 503 + Retry-After, a number resolved before
    still routes (fetch=false), and an unknown one gets 503, never 500."""
    db = await Database.connect(outage_database, min_size=1, max_size=4)
    await db.migrate()
    store = AccountStore(db)
    organization = await store.create_organization("outage.test")
    token = tokens.new_token()
    account = await store.create_account(
        NewAccount(
            "outage",
            Role.ADMINISTRATOR,
            None,
            organization.sid,
            tokens.hash_token(token),
            tokens.new_signing_key(),
        )
    )
    auth = {
        "Authorization": "Basic " + base64.b64encode(f"{account.sid}:{token}".encode()).decode()
    }
    outage_settings = config.replace(settings, database_url=outage_database)
    numbers = f"/2012-04-24/Accounts/{account.sid}/IncomingPhoneNumbers.json"
    # Provisioned through an instance of its own: the instance under test starts after
    # the write, so the write's NOTIFY cannot reach it late and evict what it resolved.
    async with TestClient(TestServer(create_app(outage_settings), host="127.0.0.1")) as writer:
        response = await writer.post(
            numbers,
            data={"PhoneNumber": "4242", "isSIP": "true", "VoiceUrl": "http://127.0.0.1:9/x"},
            headers=auth,
        )
        assert response.status == 200
    app = create_app(outage_settings, database=db)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        event = {"From": "+15550001", "To": "4242", "DestinationOrganizationSid": organization.sid}
        response = await client.post("/v1/events/calls?fetch=false", json=event, headers=gateway)
        assert response.status == 200

        await _cut_off(database)

        response = await client.get(numbers, headers=auth)
        assert response.status == 503
        assert response.headers["Retry-After"]
        assert (await response.json())["status"] == 503

        response = await client.post("/v1/events/calls?fetch=false", json=event, headers=gateway)
        assert response.status == 200
        assert (await response.json())["outcome"] == "routed"

        unknown = {**event, "To": "9999"}
        response = await client.post("/v1/events/calls?fetch=false", json=unknown, headers=gateway)
        assert response.status == 503
    await db.close()
