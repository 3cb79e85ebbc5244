"""Authentication and tenant isolation (SPEC 2 "Auth", SPEC 7): who may reach which
account, what a refusal reveals, and how auth tokens are kept."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from router.store.postgres import Database
from tests.conftest import MakeAccount, MakeOrg, Tenant

API = "/2012-04-24"
UNAUTHENTICATED = 20003
ACCOUNT_INACTIVE = 20005
FORBIDDEN = 20403
NOT_FOUND = 20404


def basic(user: str, password: str) -> dict[str, str]:
    raw = f"{user}:{password}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def numbers_path(account_sid: str, suffix: str = "") -> str:
    return f"{API}/Accounts/{account_sid}/IncomingPhoneNumbers{suffix}.json"


async def assert_error(response: ClientResponse, *, status: int, code: int) -> str:
    """A JSON error with this status and code; returns the raw body for leak checks."""
    text = await response.text()
    assert response.status == status, text
    body = await response.json()
    assert set(body) == {"code", "message", "more_info", "status"}
    assert (body["status"], body["code"]) == (status, code), body
    return text


async def assert_unauthenticated(response: ClientResponse) -> None:
    await assert_error(response, status=401, code=UNAUTHENTICATED)
    assert response.headers["WWW-Authenticate"] == 'Basic realm="router"'


@dataclass(frozen=True)
class Family:
    """admin -> tenant -> grandchild, and tenant's sibling; each with one SIP number."""

    admin: Tenant
    tenant: Tenant
    grandchild: Tenant
    sibling: Tenant
    numbers: dict[str, dict[str, Any]]  # account sid -> its number as GET shows it


async def provision_sip(client: TestClient, owner: Tenant, digits: str) -> dict[str, Any]:
    response = await client.post(
        numbers_path(owner.sid),
        data={"PhoneNumber": digits, "isSIP": "true", "VoiceUrl": "http://example.com/v"},
        headers=owner.auth,
    )
    assert response.status == 200
    body: dict[str, Any] = await response.json()
    return body


@pytest.fixture
async def family(
    client: TestClient, admin: Tenant, tenant: Tenant, make_account: MakeAccount
) -> Family:
    grandchild = await make_account(tenant)
    sibling = await make_account(admin)
    members = {"admin": admin, "tenant": tenant, "grandchild": grandchild, "sibling": sibling}
    numbers = {
        member.sid: await provision_sip(client, member, f"7000{i}")
        for i, member in enumerate(members.values())
    }
    return Family(admin, tenant, grandchild, sibling, numbers)


def member(family: Family, name: str) -> Tenant:
    found: Tenant = getattr(family, name)
    return found


async def number_as_owner_sees_it(client: TestClient, owner: Tenant, sid: str) -> dict[str, Any]:
    response = await client.get(numbers_path(owner.sid, "/" + sid), headers=owner.auth)
    assert response.status == 200
    body: dict[str, Any] = await response.json()
    return body


# ---------------------------------------------------------------------------- credentials


@pytest.mark.parametrize(
    ("method", "route"),
    [
        ("GET", "/Accounts/{sid}/IncomingPhoneNumbers.json"),
        ("POST", "/Accounts/{sid}/IncomingPhoneNumbers"),
        ("GET", "/Accounts/{sid}/IncomingPhoneNumbers/PN00000000000000000000000000000000.json"),
        ("DELETE", "/Accounts/{sid}/IncomingPhoneNumbers/PN00000000000000000000000000000000"),
        ("GET", "/Accounts/{sid}/IncomingPhoneNumbers/Local.json"),
        ("POST", "/Accounts/{sid}/IncomingPhoneNumbers/migrate.json"),
        ("GET", "/Accounts/{sid}/AvailablePhoneNumbers/US/Local.json"),
        ("GET", "/Accounts/{sid}/Applications.json"),
        ("GET", "/Accounts/{sid}.json"),
        ("POST", "/Accounts.json"),
        ("GET", "/Organizations.json"),
    ],
)
async def test_request_without_authorization_is_401_with_basic_challenge(
    client: TestClient, tenant: Tenant, db: Database, method: str, route: str
) -> None:
    """Every route asks for Basic credentials: 401, WWW-Authenticate and code 20003."""
    response = await client.request(method, API + route.format(sid=tenant.sid))
    if route.endswith(".json"):
        await assert_unauthenticated(response)
    else:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == 'Basic realm="router"'
        assert "<Code>20003</Code>" in await response.text()
    async with db.connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM incoming_numbers") == 0


@pytest.mark.parametrize(
    "credentials",
    [
        "wrong token",
        "empty token",
        "sibling's token",
        "unknown account",
        "lower-case sid prefix",
        "not base64",
        "no colon",
        "bearer scheme",
        "scheme only",
        "token only",
    ],
)
async def test_wrong_or_malformed_credentials_are_401(
    client: TestClient, admin: Tenant, tenant: Tenant, make_account: MakeAccount, credentials: str
) -> None:
    """Wrong, unknown or malformed credentials are refused alike with 401."""
    sibling = await make_account(admin)
    valid = f"{tenant.sid}:{tenant.token}"
    header = {
        "wrong token": basic(tenant.sid, "0" * 32)["Authorization"],
        "empty token": basic(tenant.sid, "")["Authorization"],
        "sibling's token": basic(tenant.sid, sibling.token)["Authorization"],
        "unknown account": basic("AC" + "0" * 32, tenant.token)["Authorization"],
        "lower-case sid prefix": basic("ac" + tenant.sid[2:], tenant.token)["Authorization"],
        "not base64": "Basic " + valid,
        "no colon": "Basic " + base64.b64encode(tenant.sid.encode()).decode(),
        "bearer scheme": "Bearer " + tenant.token,
        "scheme only": "Basic",
        "token only": tenant.token,
    }[credentials]
    response = await client.get(numbers_path(tenant.sid), headers={"Authorization": header})
    await assert_unauthenticated(response)


async def test_basic_scheme_name_is_case_insensitive(client: TestClient, tenant: Tenant) -> None:
    """`basic` in lower case is the Basic scheme (RFC 7617)."""
    header = tenant.auth["Authorization"].replace("Basic", "basic")
    response = await client.get(numbers_path(tenant.sid), headers={"Authorization": header})
    assert response.status == 200


@pytest.mark.parametrize("status", ["suspended", "closed", "uninitialized"])
async def test_inactive_account_is_403_account_not_active(
    client: TestClient, admin: Tenant, make_account: MakeAccount, status: str
) -> None:
    """An account that is not active authenticates but is refused with 403, code 20005."""
    inactive = await make_account(admin, status=status)
    response = await client.get(numbers_path(inactive.sid), headers=inactive.auth)
    await assert_error(response, status=403, code=ACCOUNT_INACTIVE)


async def test_inactive_account_with_wrong_token_is_401(
    client: TestClient, admin: Tenant, make_account: MakeAccount
) -> None:
    """A wrong token is 401 even for a suspended account, so its status does not leak."""
    inactive = await make_account(admin, status="suspended")
    response = await client.get(numbers_path(inactive.sid), headers=basic(inactive.sid, "x" * 32))
    await assert_unauthenticated(response)


# ---------------------------------------------------------------------------- account tree


@pytest.mark.parametrize(
    ("caller", "target"),
    [
        ("tenant", "admin"),
        ("grandchild", "tenant"),
        ("grandchild", "admin"),
        ("tenant", "sibling"),
        ("sibling", "grandchild"),
    ],
    ids=["parent", "grandchild to parent", "grandparent", "sibling", "sibling's child"],
)
async def test_account_outside_callers_tree_is_forbidden(
    client: TestClient, family: Family, caller: str, target: str
) -> None:
    """Listing or provisioning on a parent's or a sibling's account is 403 and reveals nothing."""
    who, whom = member(family, caller), member(family, target)
    theirs = family.numbers[whom.sid]
    listing = await client.get(numbers_path(whom.sid), headers=who.auth)
    text = await assert_error(listing, status=403, code=FORBIDDEN)
    assert theirs["phone_number"] not in text
    assert theirs["sid"] not in text
    created = await client.post(
        numbers_path(whom.sid), data={"PhoneNumber": "555", "isSIP": "true"}, headers=who.auth
    )
    await assert_error(created, status=403, code=FORBIDDEN)
    own_listing = await client.get(numbers_path(whom.sid), headers=whom.auth)
    assert (await own_listing.json())["total"] == 1


@pytest.mark.parametrize(
    ("caller", "target"),
    [("tenant", "grandchild"), ("admin", "tenant"), ("admin", "grandchild")],
    ids=["child", "admin to child", "grandchild"],
)
async def test_ancestor_may_list_and_provision_for_descendant(
    client: TestClient, family: Family, caller: str, target: str
) -> None:
    """A parent acts on its sub-accounts and their sub-accounts: the numbers are theirs."""
    who, whom = member(family, caller), member(family, target)
    listing = await client.get(numbers_path(whom.sid), headers=who.auth)
    assert listing.status == 200
    items = (await listing.json())["incomingPhoneNumbers"]
    assert [n["sid"] for n in items] == [family.numbers[whom.sid]["sid"]]
    created = await client.post(
        numbers_path(whom.sid), data={"PhoneNumber": "555", "isSIP": "true"}, headers=who.auth
    )
    assert created.status == 200
    assert (await created.json())["account_sid"] == whom.sid


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
@pytest.mark.parametrize(
    ("caller", "owner"),
    [("tenant", "sibling"), ("admin", "tenant"), ("tenant", "admin"), ("tenant", "grandchild")],
    ids=["sibling's", "child's", "parent's", "grandchild's"],
)
async def test_other_accounts_number_through_own_url_is_404(
    client: TestClient, family: Family, method: str, caller: str, owner: str
) -> None:
    """A number sid of another account under the caller's own URL is 404 and stays unchanged."""
    who, whose = member(family, caller), member(family, owner)
    number = family.numbers[whose.sid]
    response = await client.request(
        method,
        numbers_path(who.sid, "/" + number["sid"]),
        data={"FriendlyName": "hijacked", "VoiceUrl": "http://evil.example/x"},
        headers=who.auth,
    )
    text = await assert_error(response, status=404, code=NOT_FOUND)
    assert number["phone_number"] not in text
    assert "hijacked" not in text
    assert await number_as_owner_sees_it(client, whose, number["sid"]) == number


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
@pytest.mark.parametrize(
    ("caller", "owner"),
    [("tenant", "sibling"), ("tenant", "admin"), ("grandchild", "tenant")],
    ids=["sibling", "parent", "grandchild to parent"],
)
async def test_other_accounts_number_through_its_url_is_403_without_data(
    client: TestClient, family: Family, method: str, caller: str, owner: str
) -> None:
    """Another tenant's number through that tenant's URL is 403 with no data in the body."""
    who, whose = member(family, caller), member(family, owner)
    number = family.numbers[whose.sid]
    response = await client.request(
        method,
        numbers_path(whose.sid, "/" + number["sid"]),
        data={"FriendlyName": "hijacked"},
        headers=who.auth,
    )
    text = await assert_error(response, status=403, code=FORBIDDEN)
    for value in (number["phone_number"], number["voice_url"], number["friendly_name"]):
        assert value not in text
    assert await number_as_owner_sees_it(client, whose, number["sid"]) == number


# ---------------------------------------------------------------------------- super admin routes


@pytest.mark.parametrize(
    ("caller", "target"),
    [("tenant", "grandchild"), ("tenant", "tenant"), ("sibling", "tenant")],
    ids=["own child", "itself", "sibling"],
)
async def test_migrate_by_non_super_admin_is_forbidden(
    client: TestClient,
    family: Family,
    make_org: MakeOrg,
    caller: str,
    target: str,
) -> None:
    """Only a super admin may migrate: anyone else gets 403 and no number moves."""
    who, whom = member(family, caller), member(family, target)
    destination = await make_org()
    response = await client.post(
        numbers_path(whom.sid, "/migrate"),
        data={"OrganizationSid": destination.sid},
        headers=who.auth,
    )
    await assert_error(response, status=403, code=FORBIDDEN)
    for account in (family.tenant, family.grandchild):
        number = family.numbers[account.sid]
        still = await number_as_owner_sees_it(client, account, number["sid"])
        assert still["organization_sid"] == number["organization_sid"]


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("GET", "/Organizations.json", None),
        ("POST", "/Organizations.json", {"DomainName": "stolen.example.com"}),
        ("GET", "/Organizations/{org}.json", None),
    ],
    ids=["list", "create", "get"],
)
async def test_organizations_by_non_super_admin_are_forbidden(
    client: TestClient,
    tenant: Tenant,
    db: Database,
    method: str,
    path: str,
    data: dict[str, str] | None,
) -> None:
    """Organizations routes need a super admin: 403 for a tenant, and nothing is created."""
    org = tenant.account.organization_sid
    response = await client.request(
        method, API + path.format(org=org), data=data, headers=tenant.auth
    )
    text = await assert_error(response, status=403, code=FORBIDDEN)
    assert f"{org}.test" not in text
    async with db.connection() as conn:
        count = await conn.fetchval(
            "SELECT count(*) FROM organizations WHERE domain_name = 'stolen.example.com'"
        )
    assert count == 0


# ---------------------------------------------------------------------------- tokens


@pytest.mark.parametrize(
    ("viewer", "path"),
    [
        ("tenant", "/Accounts/{sid}.json"),
        ("tenant", "/Accounts/{sid}"),
        ("admin", "/Accounts/{sid}.json"),
        ("tenant", "/Accounts.json"),
        ("admin", "/Accounts"),
    ],
    ids=["self json", "self xml", "parent", "list", "parent list xml"],
)
async def test_get_account_never_returns_the_auth_token(
    client: TestClient, admin: Tenant, tenant: Tenant, viewer: str, path: str
) -> None:
    """GET Account and the account list never show an auth token, in either format."""
    who = admin if viewer == "admin" else tenant
    response = await client.get(API + path.format(sid=tenant.sid), headers=who.auth)
    assert response.status == 200
    text = await response.text()
    assert tenant.sid in text
    assert tenant.token not in text
    assert admin.token not in text
    assert "auth_token" not in text
    assert "AuthToken" not in text


async def test_auth_token_is_shown_once_on_creation(client: TestClient, tenant: Tenant) -> None:
    """A new sub-account's token is in the creation answer, works, and is never shown again."""
    response = await client.post(
        API + "/Accounts.json", data={"FriendlyName": "new"}, headers=tenant.auth
    )
    assert response.status == 200
    created = await response.json()
    token = created["auth_token"]
    assert len(token) >= 32
    own = await client.get(
        API + f"/Accounts/{created['sid']}.json", headers=basic(created["sid"], token)
    )
    assert own.status == 200
    assert token not in await own.text()
    by_parent = await client.get(API + f"/Accounts/{created['sid']}.json", headers=tenant.auth)
    assert "auth_token" not in await by_parent.json()


async def test_rotated_auth_token_is_shown_once_and_replaces_the_old(
    client: TestClient, tenant: Tenant
) -> None:
    """Rotation answers the new token once; the old one stops working."""
    path = API + f"/Accounts/{tenant.sid}.json"
    response = await client.post(path, data={"RotateAuthToken": "true"}, headers=tenant.auth)
    assert response.status == 200
    token = (await response.json())["auth_token"]
    assert token != tenant.token
    await assert_unauthenticated(await client.get(path, headers=tenant.auth))
    again = await client.get(path, headers=basic(tenant.sid, token))
    assert again.status == 200
    assert token not in await again.text()


async def test_auth_tokens_are_stored_hashed(
    client: TestClient, admin: Tenant, tenant: Tenant, db: Database
) -> None:
    """No column of the accounts table holds a plain token, in any encoding."""
    response = await client.post(
        API + "/Accounts.json", data={"FriendlyName": "new"}, headers=tenant.auth
    )
    created_token = (await response.json())["auth_token"]
    async with db.connection() as conn:
        rows = [r[0] for r in await conn.fetch("SELECT row_to_json(a)::text FROM accounts a")]
    assert len(rows) == 3
    for token in (admin.token, tenant.token, created_token):
        for row in rows:
            assert token not in row
            assert token.encode().hex() not in row
            assert base64.b64encode(token.encode()).decode() not in row
