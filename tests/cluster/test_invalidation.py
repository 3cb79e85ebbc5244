"""Cache correctness (SPEC 3.5): every write is seen by resolution within one second,
on the instance that wrote and on a second instance sharing the database; a lost
LISTEN connection comes back and forgets what may have gone stale meanwhile."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from router.app import create_app
from router.config import Settings
from router.domain import Organization
from router.store.postgres import Database
from tests.conftest import MakeAccount, MakeOrg, Tenant

Client = TestClient[web.Request, web.Application]

BOUND_S = 1.0  # SPEC 3.5
HOME = "home.test"
AWAY = "away.test"

Check = Callable[[dict[str, Any]], bool]


@dataclass(frozen=True)
class Kind:
    """A kind of number: what is provisioned, and a string dialed that reaches it."""

    name: str
    phone_number: str
    dialed: str
    pure_sip: bool


SIP = Kind("sip", "1000", "1000", True)
PATTERN = Kind("pattern", "10.*", "1000", True)
DID = Kind("did", "+15105550100", "5105550100", False)
KINDS = [pytest.param(kind, id=kind.name) for kind in (SIP, PATTERN, DID)]
SIP_KINDS = [pytest.param(kind, id=kind.name) for kind in (SIP, PATTERN)]


@dataclass
class Cluster:
    """Two app instances on one database, the writer first, and the test's tenants."""

    writer: Client
    other: Client
    gateway: dict[str, str]
    admin: Tenant
    owner: Tenant  # in HOME
    away: Tenant  # in AWAY
    db: Database

    @property
    def instances(self) -> tuple[Client, Client]:
        return self.writer, self.other

    async def answer(
        self, instance: Client, to: str, domain: str, *, live: bool = False
    ) -> dict[str, Any]:
        """One instance's decision: from a dry run, or (live) from a call event, which
        takes the resolver's memoised path the dry run bypasses."""
        if live:
            response = await instance.post(
                "/v1/events/calls?fetch=false",
                json={"From": "alice", "To": to, "Domain": domain},
                headers=self.gateway,
            )
            assert response.status in (200, 403, 404), await response.text()
        else:
            response = await instance.get(
                "/v1/routes/resolve", params={"To": to, "Domain": domain}, headers=self.gateway
            )
            assert response.status == 200, await response.text()
        body: dict[str, Any] = await response.json()
        return body

    async def warm(self, to: str, domain: str, check: Check) -> None:
        """Resolve on both instances and both paths (filling the caches) until each answers
        as `check` wants, within the SPEC's bound of the write just made: the instance
        that did not write learns of it by NOTIFY, which a loaded machine may delay."""
        await self.converges(to, domain, check)

    async def converges(
        self, to: str, domain: str, check: Check, *, since: float | None = None
    ) -> None:
        """Every instance and path answers as `check` wants within the SPEC's bound of
        the write (made just before the call, or at `since`)."""
        deadline = (since if since is not None else time.monotonic()) + BOUND_S
        for instance in self.instances:
            for live in (False, True):
                await converges_on(self, instance, to, domain, check, deadline, live=live)

    async def provision(self, kind: Kind, owner: Tenant | None = None, **extra: str) -> str:
        owner = owner or self.owner
        data = {"PhoneNumber": kind.phone_number, "VoiceUrl": "http://127.0.0.1:9/old", **extra}
        if kind.pure_sip:
            data["isSIP"] = "true"
        response = await self.writer.post(
            f"/2012-04-24/Accounts/{owner.sid}/IncomingPhoneNumbers.json",
            data=data,
            headers=owner.auth,
        )
        assert response.status == 200, await response.text()
        sid: str = (await response.json())["sid"]
        return sid

    async def post(self, path: str, as_: Tenant, **data: str) -> None:
        response = await self.writer.post(f"/2012-04-24{path}", data=data, headers=as_.auth)
        assert response.status in (200, 201), await response.text()


async def converges_on(
    cluster: Cluster,
    instance: Client,
    to: str,
    domain: str,
    check: Check,
    deadline: float,
    *,
    live: bool = False,
) -> None:
    while True:
        body = await cluster.answer(instance, to, domain, live=live)
        if check(body):
            return
        assert time.monotonic() < deadline, f"stale {BOUND_S}s after the write: {body}"
        await asyncio.sleep(0.01)


def routed(url: str = "http://127.0.0.1:9/old", account: str | None = None) -> Check:
    def check(body: dict[str, Any]) -> bool:
        return (
            body["outcome"] == "routed"
            and body["target"]["url"] == url
            and (account is None or body["number"]["account_sid"] == account)
        )

    return check


def outcome(*expected: str) -> Check:
    return lambda body: body["outcome"] in expected


async def listener_backends(db: Database, since: datetime) -> list[int]:
    """Backends that issued LISTEN numbers_changed since `since` (the resolvers' listeners).

    asyncpg's add_listener runs `LISTEN "numbers_changed"`, which pg_stat_activity shows
    as the connection's last query until its liveness probe (every 5 s) replaces it.
    """
    async with db.connection() as conn:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity"
            " WHERE query LIKE 'LISTEN%numbers_changed%' AND backend_start > $1",
            since,
        )
    return [row["pid"] for row in rows]


async def wait_for_listeners(db: Database, since: datetime, count: int) -> list[int]:
    started = time.monotonic()
    while len(found := await listener_backends(db, since)) < count:
        assert time.monotonic() - started < 5.0, "listeners did not connect"
        await asyncio.sleep(0.01)
    return found


@pytest.fixture
async def cluster(
    db: Database,
    settings: Settings,
    gateway: dict[str, str],
    admin: Tenant,
    make_account: MakeAccount,
    make_org: MakeOrg,
) -> AsyncIterator[Cluster]:
    """Two instances whose listeners are connected, before anything is cached."""
    async with db.connection() as conn:
        since = await conn.fetchval("SELECT clock_timestamp()")
    home: Organization = await make_org(HOME)
    away_org: Organization = await make_org(AWAY)
    owner = await make_account(admin, organization=home)
    away = await make_account(admin, organization=away_org)
    writer = TestClient(TestServer(create_app(settings, database=db), host="127.0.0.1"))
    other = TestClient(TestServer(create_app(settings, database=db), host="127.0.0.1"))
    async with writer, other:
        await wait_for_listeners(db, since, 2)
        yield Cluster(writer, other, gateway, admin, owner, away, db)


async def inventory(db: Database, kind: Kind) -> None:
    if not kind.pure_sip:
        async with db.connection() as conn:
            await conn.execute(
                "INSERT INTO inventory (phone_number, number_type, area_code, country)"
                " VALUES ($1, 'local', '510', 'US')",
                kind.phone_number,
            )


# --- every kind of write -----------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_provisioned_number_is_found_within_a_second_everywhere(
    cluster: Cluster, kind: Kind
) -> None:
    """A cached miss gives way to the new number on both instances."""
    await inventory(cluster.db, kind)
    await cluster.warm(kind.dialed, HOME, outcome("not_found"))
    await cluster.provision(kind)
    await cluster.converges(kind.dialed, HOME, routed())


@pytest.mark.parametrize("kind", KINDS)
async def test_updated_voice_url_is_the_target_within_a_second_everywhere(
    cluster: Cluster, kind: Kind
) -> None:
    """After VoiceUrl changes, both instances route to the new URL."""
    await inventory(cluster.db, kind)
    sid = await cluster.provision(kind)
    await cluster.warm(kind.dialed, HOME, routed())
    await cluster.post(
        f"/Accounts/{cluster.owner.sid}/IncomingPhoneNumbers/{sid}.json",
        cluster.owner,
        VoiceUrl="http://127.0.0.1:9/new",
    )
    await cluster.converges(kind.dialed, HOME, routed("http://127.0.0.1:9/new"))


@pytest.mark.parametrize("kind", KINDS)
async def test_deleted_number_is_gone_within_a_second_everywhere(
    cluster: Cluster, kind: Kind
) -> None:
    """After a delete, both instances answer not_found."""
    await inventory(cluster.db, kind)
    sid = await cluster.provision(kind)
    await cluster.warm(kind.dialed, HOME, routed())
    response = await cluster.writer.delete(
        f"/2012-04-24/Accounts/{cluster.owner.sid}/IncomingPhoneNumbers/{sid}.json",
        headers=cluster.owner.auth,
    )
    assert response.status == 204
    await cluster.converges(kind.dialed, HOME, outcome("not_found"))


@pytest.mark.parametrize("kind", KINDS)
async def test_transferred_number_answers_for_its_new_account_and_organization(
    cluster: Cluster, kind: Kind
) -> None:
    """Transferred (AccountSid) to an account of another organization, the number moves
    with it: the old destination loses it, the new one finds it under the new account."""
    await inventory(cluster.db, kind)
    sid = await cluster.provision(kind)
    await cluster.warm(kind.dialed, HOME, routed())
    await cluster.warm(kind.dialed, AWAY, outcome("not_found", "forbidden"))
    await cluster.post(
        f"/Accounts/{cluster.owner.sid}/IncomingPhoneNumbers/{sid}.json",
        cluster.admin,
        AccountSid=cluster.away.sid,
    )
    written = time.monotonic()
    await cluster.converges(kind.dialed, AWAY, routed(account=cluster.away.sid), since=written)
    await cluster.converges(kind.dialed, HOME, outcome("not_found", "forbidden"), since=written)


async def test_transfer_within_the_organization_changes_the_answering_account(
    cluster: Cluster, make_account: MakeAccount
) -> None:
    """Transferred to a sibling in the same organization, the number answers for it."""
    sibling = await make_account(cluster.owner)
    sid = await cluster.provision(SIP)
    await cluster.warm(SIP.dialed, HOME, routed(account=cluster.owner.sid))
    await cluster.post(
        f"/Accounts/{cluster.owner.sid}/IncomingPhoneNumbers/{sid}.json",
        cluster.owner,
        AccountSid=sibling.sid,
    )
    await cluster.converges(SIP.dialed, HOME, routed(account=sibling.sid))


@pytest.mark.parametrize("kind", KINDS)
async def test_migrated_number_leaves_the_old_organization_within_a_second(
    cluster: Cluster, kind: Kind
) -> None:
    """After migrate, the old destination no longer finds the number and the new one does."""
    await inventory(cluster.db, kind)
    await cluster.provision(kind)
    await cluster.warm(kind.dialed, HOME, routed())
    await cluster.warm(kind.dialed, AWAY, outcome("not_found", "forbidden"))
    away_org = cluster.away.account.organization_sid
    await cluster.post(
        f"/Accounts/{cluster.owner.sid}/IncomingPhoneNumbers/migrate.json",
        cluster.admin,
        OrganizationSid=away_org,
    )
    written = time.monotonic()
    expected_home = "not_found" if kind is PATTERN else "forbidden"
    await cluster.converges(kind.dialed, HOME, outcome(expected_home), since=written)
    await cluster.converges(kind.dialed, AWAY, routed(account=cluster.owner.sid), since=written)


@pytest.mark.parametrize("kind", KINDS)
async def test_application_url_change_is_the_target_within_a_second(
    cluster: Cluster, kind: Kind
) -> None:
    """Changing the RcmlUrl of a number's voice application changes the decision's URL."""
    await inventory(cluster.db, kind)
    response = await cluster.writer.post(
        f"/2012-04-24/Accounts/{cluster.owner.sid}/Applications.json",
        data={"FriendlyName": "ivr", "RcmlUrl": "http://127.0.0.1:9/app-v1", "Kind": "voice"},
        headers=cluster.owner.auth,
    )
    assert response.status in (200, 201), await response.text()
    application = (await response.json())["sid"]
    await cluster.provision(kind, VoiceApplicationSid=application)
    await cluster.warm(kind.dialed, HOME, routed("http://127.0.0.1:9/app-v1"))
    await cluster.post(
        f"/Accounts/{cluster.owner.sid}/Applications/{application}.json",
        cluster.owner,
        RcmlUrl="http://127.0.0.1:9/app-v2",
    )
    await cluster.converges(kind.dialed, HOME, routed("http://127.0.0.1:9/app-v2"))


@pytest.mark.parametrize("kind", KINDS)
async def test_account_suspension_is_account_inactive_within_a_second(
    cluster: Cluster, kind: Kind
) -> None:
    """A suspended account's numbers answer account_inactive; reactivated, they route again."""
    await inventory(cluster.db, kind)
    await cluster.provision(kind)
    await cluster.warm(kind.dialed, HOME, routed())
    await cluster.post(f"/Accounts/{cluster.owner.sid}.json", cluster.admin, Status="suspended")
    await cluster.converges(kind.dialed, HOME, outcome("account_inactive"))
    await cluster.post(f"/Accounts/{cluster.owner.sid}.json", cluster.admin, Status="active")
    await cluster.converges(kind.dialed, HOME, routed())


# --- a lost LISTEN connection ----------------------------------------------------------


async def test_lost_listen_connection_reconnects_and_clears_the_caches(
    db: Database,
    settings: Settings,
    gateway: dict[str, str],
    admin: Tenant,
    make_account: MakeAccount,
    make_org: MakeOrg,
) -> None:
    """A change no NOTIFY announced is seen once the listener's connection is re-established,
    and later writes are announced again."""
    owner = await make_account(admin, organization=await make_org(HOME))
    async with db.connection() as conn:
        since = await conn.fetchval("SELECT clock_timestamp()")
    client = TestClient(TestServer(create_app(settings, database=db), host="127.0.0.1"))
    async with client:
        [listener] = await wait_for_listeners(db, since, 1)
        cluster = Cluster(client, client, gateway, admin, owner, owner, db)
        sid = await cluster.provision(SIP)
        await cluster.provision(PATTERN)
        await cluster.warm("1000", HOME, routed())
        await cluster.warm("1001", HOME, routed())
        async with db.connection() as conn:
            # Behind the service's back: no NOTIFY, so the warm caches hold the old URL.
            await conn.execute(
                "UPDATE incoming_numbers SET voice_url = 'http://127.0.0.1:9/sql'"
                " WHERE organization_sid = $1",
                owner.account.organization_sid,
            )
        await cluster.warm("1000", HOME, routed())
        await cluster.warm("1001", HOME, routed())
        async with db.connection() as conn:
            assert await conn.fetchval("SELECT pg_terminate_backend($1)", listener)
        started = time.monotonic()
        for dialed in ("1000", "1001"):
            for live in (False, True):
                while not routed("http://127.0.0.1:9/sql")(
                    await cluster.answer(client, dialed, HOME, live=live)
                ):
                    assert time.monotonic() - started < 5.0, "caches not cleared on reconnect"
                    await asyncio.sleep(0.02)
        while not set(await listener_backends(db, since)) - {listener}:
            assert time.monotonic() - started < 5.0, "listener did not reconnect"
            await asyncio.sleep(0.02)
        await cluster.post(
            f"/Accounts/{owner.sid}/IncomingPhoneNumbers/{sid}.json",
            owner,
            VoiceUrl="http://127.0.0.1:9/new",
        )
        await cluster.converges("1000", HOME, routed("http://127.0.0.1:9/new"))
