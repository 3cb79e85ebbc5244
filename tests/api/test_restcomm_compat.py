"""Restcomm behaviours its own clients and test suite rely on (SPEC 2, 3.1): isSIP on
type routes (test_number_types), AvailableCountries, unknown caller domains meaning "no
organization", and closing an account releasing its whole tree's numbers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.api.test_events import RcmlServer, serving_rcml
from tests.conftest import MakeAccount, Tenant

Client = TestClient[web.Request, web.Application]
AddInventory = Callable[..., Awaitable[None]]
API = "/2012-04-24"
DID = "+15105550100"


@pytest.fixture
async def receiver() -> AsyncIterator[RcmlServer]:
    """The tenant's web server: /ok... answers a document naming the path, /error 500."""
    async with serving_rcml() as server:
        yield server


async def provision(client: Client, owner: Tenant, **data: str) -> dict[str, Any]:
    response = await client.post(
        f"{API}/Accounts/{owner.sid}/IncomingPhoneNumbers.json", data=data, headers=owner.auth
    )
    body = await response.json()
    assert response.status == 200, body
    return dict(body)


async def call(client: Client, gateway: dict[str, str], **fields: str) -> tuple[int, Any]:
    response = await client.post(
        "/v1/events/calls", json={"From": "+15105559999", **fields}, headers=gateway
    )
    return response.status, await response.json()


@pytest.mark.parametrize("mount", ["/2012-04-24", "/restcomm/2012-04-24"])
async def test_available_countries_lists_countries_with_free_numbers(
    client: Client, tenant: Tenant, add_inventory: AddInventory, mount: str
) -> None:
    """A JSON array of the ISO codes with a free number; a claimed last number drops its
    country."""
    await add_inventory(DID, "+15105550101")
    await add_inventory("+447700900123", number_type="mobile", area_code="7700", country="GB")
    path = f"{mount}/Accounts/{tenant.sid}/IncomingPhoneNumbers/AvailableCountries.json"

    response = await client.get(path, headers=tenant.auth)
    assert response.status == 200
    assert await response.json() == ["GB", "US"]

    await provision(client, tenant, PhoneNumber="+447700900123")
    response = await client.get(path, headers=tenant.auth)
    assert await response.json() == ["US"]


async def test_available_countries_needs_credentials(client: Client, tenant: Tenant) -> None:
    path = f"{API}/Accounts/{tenant.sid}/IncomingPhoneNumbers/AvailableCountries.json"
    response = await client.get(path)
    assert response.status == 401
    assert (await response.json())["code"] == 20003


async def test_unknown_domain_means_no_organization_and_routes_a_did(
    client: Client,
    gateway: dict[str, str],
    tenant: Tenant,
    receiver: RcmlServer,
    add_inventory: AddInventory,
) -> None:
    """A Domain naming no organization is read as none: an inventory DID still routes,
    and the dry run's trace says the domain named no organization."""
    await add_inventory(DID)
    number = await provision(client, tenant, PhoneNumber=DID, VoiceUrl=receiver.url("/ok/voice"))

    status, body = await call(client, gateway, To=DID, Domain="outside.example")
    assert status == 200, body
    assert body["number"]["sid"] == number["sid"]

    response = await client.get(
        "/v1/routes/resolve",
        params={"To": DID, "Domain": "outside.example", "SourceDomain": "caller.example"},
        headers=gateway,
    )
    assert response.status == 200
    dry_run = await response.json()
    assert dry_run["outcome"] == "routed"
    assert dry_run["trace"]["organizations"] == [
        {
            "field": "Domain",
            "domain": "outside.example",
            "result": "names no organization: resolved as none",
        },
        {
            "field": "SourceDomain",
            "domain": "caller.example",
            "result": "names no organization: resolved as none",
        },
    ]


async def test_unknown_source_domain_means_no_source_organization(
    client: Client, gateway: dict[str, str], tenant: Tenant
) -> None:
    """An outside caller's SourceDomain is no source organization: a SIP number of the
    destination organization routes as for a caller with no domain."""
    await provision(
        client, tenant, PhoneNumber="7007", isSIP="true", VoiceUrl="http://127.0.0.1:9/"
    )

    response = await client.post(
        "/v1/events/calls?fetch=false",
        json={
            "From": "alice",
            "To": "7007",
            "DestinationOrganizationSid": tenant.account.organization_sid,
            "SourceDomain": "outside.example",
        },
        headers=gateway,
    )
    body = await response.json()
    assert (response.status, body["outcome"]) == (200, "routed"), body
    assert body["number"]["phone_number"] == "7007"


async def test_unknown_organization_sid_stays_a_400(
    client: Client, gateway: dict[str, str]
) -> None:
    """A gateway naming an organization sid that does not exist is misconfigured: 400."""
    status, body = await call(
        client, gateway, To="7007", DestinationOrganizationSid="OR" + "0" * 32
    )
    assert (status, body["code"]) == (400, 21100)
    assert "DestinationOrganizationSid" in body["message"]


async def close(client: Client, caller: Tenant, sid: str, status: str = "closed") -> Any:
    response = await client.post(
        f"{API}/Accounts/{sid}.json", data={"Status": status}, headers=caller.auth
    )
    return response.status, await response.json()


async def test_closing_an_account_closes_its_tree_and_releases_its_numbers(
    client: Client,
    gateway: dict[str, str],
    admin: Tenant,
    tenant: Tenant,
    make_account: MakeAccount,
    add_inventory: AddInventory,
) -> None:
    """Status=closed closes the account and its descendants, frees their DIDs into the
    inventory, deletes their SIP numbers, and they stop routing; the parent and its own
    numbers are untouched."""
    child = await make_account(tenant)
    grandchild = await make_account(child)
    await add_inventory(DID, "+15105550101", "+15105550102")
    kept = await provision(
        client, tenant, PhoneNumber="+15105550102", VoiceUrl="http://127.0.0.1:9/"
    )
    released = [
        await provision(client, child, PhoneNumber=DID, VoiceUrl="http://127.0.0.1:9/"),
        await provision(
            client, child, PhoneNumber="7007", isSIP="true", VoiceUrl="http://127.0.0.1:9/"
        ),
        await provision(
            client, grandchild, PhoneNumber="+15105550101", VoiceUrl="http://127.0.0.1:9/"
        ),
    ]
    status, body = await call(client, gateway, To=DID)  # routes before the close
    assert body["outcome"] != "not_found"

    status, body = await close(client, tenant, child.sid)
    assert (status, body["status"]) == (200, "closed")

    for sid in (child.sid, grandchild.sid):
        response = await client.get(f"{API}/Accounts/{sid}.json", headers=admin.auth)
        assert (await response.json())["status"] == "closed"
    response = await client.get(f"{API}/Accounts/{tenant.sid}.json", headers=admin.auth)
    assert (await response.json())["status"] == "active"
    for number in released:
        response = await client.get(
            f"{API}/Accounts/{number['account_sid']}/IncomingPhoneNumbers/{number['sid']}.json",
            headers=admin.auth,
        )
        assert response.status == 404, number["phone_number"]
    response = await client.get(
        f"{API}/Accounts/{tenant.sid}/IncomingPhoneNumbers/{kept['sid']}.json",
        headers=tenant.auth,
    )
    assert response.status == 200
    response = await client.get(
        f"{API}/Accounts/{tenant.sid}/AvailablePhoneNumbers/US/Local.json", headers=tenant.auth
    )
    free = [n["phone_number"] for n in (await response.json())["available_phone_numbers"]]
    assert sorted(free) == [DID, "+15105550101"]
    for to in (DID, "+15105550101"):
        status, body = await call(client, gateway, To=to)
        assert (status, body["outcome"]) == (404, "not_found"), to
    status, body = await call(
        client, gateway, To="7007", DestinationOrganizationSid=tenant.account.organization_sid
    )
    assert body["outcome"] == "not_found"
    # A freed DID can be provisioned again by another account.
    again = await provision(client, tenant, PhoneNumber=DID)
    assert again["account_sid"] == tenant.sid


@pytest.mark.parametrize("status_value", ["active", "suspended"])
async def test_closed_account_cannot_be_reopened(
    client: Client, tenant: Tenant, make_account: MakeAccount, status_value: str
) -> None:
    child = await make_account(tenant)
    status, _ = await close(client, tenant, child.sid)
    assert status == 200

    status, body = await close(client, tenant, child.sid, status_value)

    assert (status, body["code"]) == (400, 21100)
    assert "Status" in body["message"]
    response = await client.get(f"{API}/Accounts/{child.sid}.json", headers=tenant.auth)
    assert (await response.json())["status"] == "closed"
