"""Failed-authentication throttling (issue 12.6): past the configured failures per window
from one client address, or for one account, attempts get 429 with Retry-After before
their credentials are checked, while correct logins of other accounts from other
addresses go through untouched; the window ends, and the limits are settings."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from router import config
from router.app import create_app
from router.auth_throttle import AuthThrottle
from router.errors import TooManyRequests
from router.store.postgres import Database
from tests.conftest import MakeAccount, Tenant

THROTTLED = 20429
WINDOW_S = 60.0


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def account_path(sid: str) -> str:
    return f"/2012-04-24/Accounts/{sid}.json"


@asynccontextmanager
async def server(
    db: Database, settings: config.Settings, **auth: object
) -> AsyncIterator[TestClient]:
    changed = config.replace(settings, **{f"auth_{key}": value for key, value in auth.items()})
    app = create_app(changed, database=db)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


@asynccontextmanager
async def from_address(client: TestClient, address: str) -> AsyncIterator[aiohttp.ClientSession]:
    """A session whose connections leave from another loopback address (Linux routes all
    of 127/8 to lo), so the server sees a second client."""
    connector = aiohttp.TCPConnector(local_addr=(address, 0))
    async with aiohttp.ClientSession(
        base_url=str(client.make_url("")), connector=connector
    ) as session:
        yield session


async def assert_throttled(response: aiohttp.ClientResponse) -> int:
    """429, Twilio's code, and a Retry-After within the window; returns it."""
    body = await response.json()
    assert response.status == 429, body
    assert body["code"] == THROTTLED
    assert body["message"].startswith("Too many failed authentications")
    retry_after = int(response.headers["Retry-After"])
    assert 0 < retry_after <= WINDOW_S
    assert f"retry after {retry_after} seconds" in body["message"]
    return retry_after


async def test_an_account_with_too_many_failures_waits_and_others_do_not(
    db: Database, settings: config.Settings, admin: Tenant, make_account: MakeAccount
) -> None:
    """Three wrong tokens for one account (from anywhere): the fourth attempt is 429,
    even with the right token; another account logs in from the same address at once."""
    victim = await make_account(admin)
    other = await make_account(admin)
    async with server(
        db,
        settings,
        max_failures_per_account=3,
        max_failures_per_address=0,
        failure_window_seconds=WINDOW_S,
    ) as client:
        for _ in range(3):
            wrong = await client.get(account_path(victim.sid), headers=basic(victim.sid, "x" * 32))
            assert wrong.status == 401
        await assert_throttled(await client.get(account_path(victim.sid), headers=victim.auth))
        other_login = await client.get(account_path(other.sid), headers=other.auth)
        assert other_login.status == 200
        metrics = await (await client.get("/metrics")).text()
    assert 'router_auth_throttled_requests_total{by="account"} 1.0' in metrics


async def test_an_address_with_too_many_failures_waits_and_others_do_not(
    db: Database, settings: config.Settings, admin: Tenant, make_account: MakeAccount
) -> None:
    """Wrong or malformed credentials from 127.0.0.1 for many accounts: 429 after the
    limit, for a correct login from there too; the same correct login from 127.0.0.2
    succeeds; a request without credentials is a plain 401 and counts nothing."""
    tenant = await make_account(admin)
    async with server(
        db,
        settings,
        max_failures_per_address=4,
        max_failures_per_account=0,
        failure_window_seconds=WINDOW_S,
    ) as client:
        assert (await client.get(account_path(tenant.sid))).status == 401  # no credentials
        guesses = [
            basic("AC" + "1" * 32, "guess"),
            basic("AC" + "2" * 32, "guess"),
            {"Authorization": "Basic !!!not-base64"},
            basic("not-a-sid", "guess"),
        ]
        for headers in guesses:
            assert (await client.get(account_path(tenant.sid), headers=headers)).status == 401
        await assert_throttled(await client.get(account_path(tenant.sid), headers=tenant.auth))
        # Refused before anything runs: a POST that would create a sub-account creates none.
        refused = await client.post(
            "/2012-04-24/Accounts.json", data={"FriendlyName": "x"}, headers=tenant.auth
        )
        await assert_throttled(refused)
        async with from_address(client, "127.0.0.2") as elsewhere:
            async with elsewhere.get(account_path(tenant.sid), headers=tenant.auth) as response:
                assert response.status == 200
            async with elsewhere.get("/2012-04-24/Accounts.json", headers=tenant.auth) as listing:
                accounts = await listing.json()
    assert [account["sid"] for account in accounts] == [tenant.sid]  # no sub-account made


async def test_behind_a_trusted_proxy_the_forwarded_client_is_counted(
    db: Database, settings: config.Settings, admin: Tenant, make_account: MakeAccount
) -> None:
    """With 127.0.0.1 a trusted proxy, the right-most untrusted X-Forwarded-For hop is
    the client: one forwarded client is throttled, another (same proxy) is not, and a
    hop the client wrote itself to the left changes nothing."""
    tenant = await make_account(admin)
    async with server(
        db,
        settings,
        max_failures_per_address=2,
        max_failures_per_account=0,
        failure_window_seconds=WINDOW_S,
        trusted_proxies=("127.0.0.0/8",),
    ) as client:
        for forged in ("198.51.100.1", "198.51.100.2"):
            headers = {**basic(tenant.sid, "wrong"), "X-Forwarded-For": f"{forged}, 203.0.113.5"}
            assert (await client.get(account_path(tenant.sid), headers=headers)).status == 401
        attacker = {**tenant.auth, "X-Forwarded-For": "203.0.113.5"}
        await assert_throttled(await client.get(account_path(tenant.sid), headers=attacker))
        neighbour = {**tenant.auth, "X-Forwarded-For": "203.0.113.6"}
        assert (await client.get(account_path(tenant.sid), headers=neighbour)).status == 200


def test_the_window_ends_and_the_count_starts_afresh() -> None:
    """A throttled account may try again once the window begun by its first failure has
    passed; Retry-After counts down to it."""
    now = [100.0]
    refused: list[str] = []
    throttle = AuthThrottle(
        max_per_address=0,
        max_per_account=2,
        window=10.0,
        clock=lambda: now[0],
        on_refused=refused.append,
    )
    throttle.failed("192.0.2.1", "AC1")
    now[0] += 4.0
    throttle.failed("192.0.2.9", "AC1")  # from elsewhere: the account's count still grows
    with pytest.raises(TooManyRequests) as raised:
        throttle.check("192.0.2.7", "AC1")
    assert raised.value.retry_after == 6
    throttle.check("192.0.2.7", "AC2")  # another account is not touched
    now[0] += 6.0
    throttle.check("192.0.2.7", "AC1")
    throttle.failed("192.0.2.7", "AC1")
    throttle.check("192.0.2.7", "AC1")  # one failure in the new window
    assert refused == ["account"]


@pytest.mark.parametrize(
    ("variable", "field", "value", "expected"),
    [
        ("ROUTER_AUTH_MAX_FAILURES_PER_ADDRESS", "auth_max_failures_per_address", "7", 7),
        ("ROUTER_AUTH_MAX_FAILURES_PER_ACCOUNT", "auth_max_failures_per_account", "0", 0),
        ("ROUTER_AUTH_FAILURE_WINDOW_SECONDS", "auth_failure_window_seconds", "2.5", 2.5),
        (
            "ROUTER_AUTH_TRUSTED_PROXIES",
            "auth_trusted_proxies",
            "10.0.0.0/8, ::1",
            ("10.0.0.0/8", "::1"),
        ),
    ],
)
def test_the_limits_are_settings(variable: str, field: str, value: str, expected: object) -> None:
    """Each follows the ROUTER_<SECTION>_<KEY> rule."""
    assert getattr(config.load(environ={variable: value}), field) == expected


def test_a_malformed_trusted_proxy_fails_at_start(settings: config.Settings) -> None:
    """A network that does not parse is refused when the app is made, not per request."""
    with pytest.raises(ValueError, match=r"10\.0\.0\.0/33"):
        create_app(config.replace(settings, auth_trusted_proxies=("10.0.0.0/33",)))
