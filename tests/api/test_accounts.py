"""Accounts and Organizations routes (SPEC 2.2, with the auth rules of 2 and 7)."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from router.domain import Role, new_sid
from tests.conftest import MakeAccount, MakeOrg, Tenant

API = "/2012-04-24"


def parse_xml(text: str) -> ET.Element:
    return ET.fromstring(text)  # noqa: S314 - our own server's answer, not untrusted input


def basic(sid: str, token: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{sid}:{token}".encode()).decode()}


def account_path(sid: str, suffix: str = ".json") -> str:
    return f"{API}/Accounts/{sid}{suffix}"


async def get_account(client: TestClient, caller: dict[str, str], sid: str) -> tuple[int, Any]:
    response = await client.get(account_path(sid), headers=caller)
    return response.status, await response.json()


async def post_account(
    client: TestClient, caller: dict[str, str], sid: str, data: dict[str, str]
) -> tuple[int, Any]:
    response = await client.post(account_path(sid), data=data, headers=caller)
    return response.status, await response.json()


def assert_error(body: Any, status: int, code: int, param: str | None = None) -> None:
    assert (body["status"], body["code"]) == (status, code), body
    assert body["more_info"]
    if param:
        assert param in body["message"]


# --- Accounts: reading ---------------------------------------------------------------


async def test_get_self_as_json_shows_the_account_without_its_token(
    client: TestClient, admin: Tenant, tenant: Tenant
) -> None:
    """GET /Accounts/{own sid}.json returns the account, its signing key, never its token."""
    status, body = await get_account(client, tenant.auth, tenant.sid)
    assert status == 200
    assert body["sid"] == tenant.sid
    assert body["status"] == "active"
    assert body["role"] == "Administrator"
    assert body["parent_sid"] == admin.sid
    assert body["organization_sid"] == tenant.account.organization_sid
    assert body["signing_key"] == tenant.account.signing_key
    assert body["uri"] == f"{API}/Accounts/{tenant.sid}.json"
    assert "auth_token" not in body
    assert tenant.token not in str(body)


async def test_get_self_as_xml_uses_pascal_case_elements(
    client: TestClient, tenant: Tenant
) -> None:
    """Without .json or Accept the account is XML under <RestcommResponse><Account>."""
    response = await client.get(account_path(tenant.sid, ""), headers=tenant.auth)
    assert response.status == 200
    assert response.content_type == "application/xml"
    account = parse_xml(await response.text()).find("Account")
    assert account is not None
    assert account.findtext("Sid") == tenant.sid
    assert account.findtext("Status") == "active"
    assert account.findtext("SigningKey") == tenant.account.signing_key
    assert account.findtext("AuthToken") is None


async def test_accept_header_selects_json(client: TestClient, tenant: Tenant) -> None:
    """An Accept header naming json selects JSON on a path without the suffix."""
    response = await client.get(
        account_path(tenant.sid, ""), headers={**tenant.auth, "Accept": "application/json"}
    )
    assert response.status == 200
    assert (await response.json())["sid"] == tenant.sid


async def test_list_is_the_caller_and_its_sub_account_tree(
    client: TestClient, admin: Tenant, tenant: Tenant, make_account: MakeAccount
) -> None:
    """GET /Accounts lists the caller and every descendant, parents first, never others."""
    child = await make_account(tenant)
    grandchild = await make_account(child)
    sibling = await make_account(admin)
    response = await client.get(f"{API}/Accounts.json", headers=tenant.auth)
    assert response.status == 200
    assert [a["sid"] for a in await response.json()] == [tenant.sid, child.sid, grandchild.sid]
    response = await client.get(f"{API}/Accounts.json", headers=child.auth)
    assert [a["sid"] for a in await response.json()] == [child.sid, grandchild.sid]
    response = await client.get(f"{API}/Accounts.json", headers=admin.auth)
    listed = [a["sid"] for a in await response.json()]
    assert listed[0] == admin.sid
    assert set(listed) == {admin.sid, tenant.sid, child.sid, grandchild.sid, sibling.sid}


async def test_list_as_xml_has_one_account_element_each(
    client: TestClient, tenant: Tenant, make_account: MakeAccount
) -> None:
    """The XML list is <Accounts> with an <Account> per account."""
    child = await make_account(tenant)
    response = await client.get(f"{API}/Accounts", headers=tenant.auth)
    assert response.status == 200
    listing = parse_xml(await response.text()).find("Accounts")
    assert listing is not None
    assert [a.findtext("Sid") for a in listing.findall("Account")] == [tenant.sid, child.sid]


async def test_parent_and_sibling_are_forbidden(
    client: TestClient, admin: Tenant, tenant: Tenant, make_account: MakeAccount
) -> None:
    """A child may not read its parent, nor an account its sibling: 403."""
    child = await make_account(tenant)
    sibling = await make_account(admin)
    for caller, target in ((child, tenant), (child, admin), (tenant, sibling), (sibling, tenant)):
        status, body = await get_account(client, caller.auth, target.sid)
        assert status == 403
        assert_error(body, 403, 20403)
        assert target.account.signing_key not in str(body)


async def test_unknown_account_is_not_revealed_to_a_tenant(
    client: TestClient, tenant: Tenant
) -> None:
    """A tenant asking for a sid that exists nowhere gets 403, like for another tenant's."""
    status, body = await get_account(client, tenant.auth, new_sid("AC"))
    assert status == 403
    assert_error(body, 403, 20403)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer abc"},
        {"Authorization": "Basic !!!"},
        {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
    ],
)
async def test_missing_or_malformed_credentials_get_401(
    client: TestClient, tenant: Tenant, headers: dict[str, str]
) -> None:
    """No usable Basic credentials: 401 with a Basic challenge and code 20003."""
    response = await client.get(account_path(tenant.sid), headers=headers)
    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="router"'
    assert_error(await response.json(), 401, 20003)


async def test_wrong_token_gets_401(client: TestClient, tenant: Tenant) -> None:
    """A wrong token for an existing account is refused with 401."""
    status, body = await get_account(client, basic(tenant.sid, "0" * 32), tenant.sid)
    assert status == 401
    assert_error(body, 401, 20003)


# --- Accounts: creating sub-accounts ---------------------------------------------------


async def test_create_sub_account_returns_its_token_once(
    client: TestClient, tenant: Tenant
) -> None:
    """POST /Accounts makes a child of the caller; the token is shown once and works."""
    status, body = await post_account_list(client, tenant.auth, {"FriendlyName": "Team A"})
    assert status == 200, body
    token = body["auth_token"]
    assert len(token) == 32
    assert body["friendly_name"] == "Team A"
    assert body["parent_sid"] == tenant.sid
    assert body["organization_sid"] == tenant.account.organization_sid
    assert body["status"] == "active"
    assert body["role"] == "Developer"
    assert body["signing_key"]
    status, own = await get_account(client, basic(body["sid"], token), body["sid"])
    assert status == 200
    assert "auth_token" not in own
    status, seen_by_parent = await get_account(client, tenant.auth, body["sid"])
    assert status == 200
    assert "auth_token" not in seen_by_parent
    assert seen_by_parent["signing_key"] == body["signing_key"]


async def post_account_list(
    client: TestClient, caller: dict[str, str], data: dict[str, str]
) -> tuple[int, Any]:
    response = await client.post(f"{API}/Accounts.json", data=data, headers=caller)
    return response.status, await response.json()


async def test_create_sub_account_with_administrator_role(
    client: TestClient, tenant: Tenant
) -> None:
    """Role=Administrator gives the new account the right to make its own sub-accounts."""
    status, body = await post_account_list(client, tenant.auth, {"Role": "Administrator"})
    assert status == 200
    assert body["role"] == "Administrator"
    status, grandchild = await post_account_list(client, basic(body["sid"], body["auth_token"]), {})
    assert status == 200
    assert grandchild["parent_sid"] == body["sid"]


async def test_developer_cannot_create_sub_accounts(
    client: TestClient, tenant: Tenant, make_account: MakeAccount
) -> None:
    """A Developer-role account gets 403 on POST /Accounts."""
    developer = await make_account(tenant, role=Role.DEVELOPER)
    status, body = await post_account_list(client, developer.auth, {"FriendlyName": "nope"})
    assert status == 403
    assert_error(body, 403, 20403)
    response = await client.get(f"{API}/Accounts.json", headers=developer.auth)
    assert [a["sid"] for a in await response.json()] == [developer.sid]


@pytest.mark.parametrize(
    ("data", "param", "expected"),
    [
        ({"Role": "Owner"}, "Role", 400),
        ({"FriendlyName": "x" * 65}, "FriendlyName", 400),
        ({"FriendlyName": ""}, "FriendlyName", 400),
        ({"OrganizationSid": "OR42"}, "OrganizationSid", 400),
        ({"OrganizationSid": new_sid("OR")}, "OrganizationSid", 404),
    ],
)
async def test_create_sub_account_validates_parameters(
    client: TestClient, admin: Tenant, data: dict[str, str], param: str, expected: int
) -> None:
    """Bad Role, FriendlyName or OrganizationSid is refused naming the parameter."""
    status, body = await post_account_list(client, admin.auth, data)
    assert status == expected
    assert_error(body, expected, 21100 if expected == 400 else 20404, param)
    response = await client.get(f"{API}/Accounts.json", headers=admin.auth)
    assert [a["sid"] for a in await response.json()] == [admin.sid]


async def test_super_admin_places_a_sub_account_in_another_organization(
    client: TestClient, admin: Tenant, tenant: Tenant, make_org: MakeOrg
) -> None:
    """Only a super admin may give OrganizationSid of another organization."""
    other = await make_org("other.test")
    status, body = await post_account_list(client, admin.auth, {"OrganizationSid": other.sid})
    assert status == 200
    assert body["organization_sid"] == other.sid
    status, body = await post_account_list(client, tenant.auth, {"OrganizationSid": other.sid})
    assert status == 403


# --- Accounts: updating ------------------------------------------------------------------


async def test_update_friendly_name_persists(
    client: TestClient, tenant: Tenant, make_account: MakeAccount
) -> None:
    """A parent renames its child; GET shows the new name."""
    child = await make_account(tenant)
    status, body = await post_account(client, tenant.auth, child.sid, {"FriendlyName": "Renamed"})
    assert status == 200
    assert body["friendly_name"] == "Renamed"
    assert "auth_token" not in body
    status, body = await get_account(client, child.auth, child.sid)
    assert body["friendly_name"] == "Renamed"


async def test_parent_suspends_child_then_reactivates_it(
    client: TestClient, tenant: Tenant, make_account: MakeAccount
) -> None:
    """A suspended child is refused with 403 code 20005 until its parent reactivates it."""
    child = await make_account(tenant)
    status, body = await post_account(client, tenant.auth, child.sid, {"Status": "suspended"})
    assert status == 200
    assert body["status"] == "suspended"
    status, body = await get_account(client, child.auth, child.sid)
    assert status == 403
    assert_error(body, 403, 20005)
    status, body = await post_account(client, tenant.auth, child.sid, {"Status": "active"})
    assert (status, body["status"]) == (200, "active")
    status, _ = await get_account(client, child.auth, child.sid)
    assert status == 200


async def test_closed_account_is_refused(
    client: TestClient, tenant: Tenant, make_account: MakeAccount
) -> None:
    """A closed account cannot use the API: 403 code 20005."""
    child = await make_account(tenant)
    status, _ = await post_account(client, tenant.auth, child.sid, {"Status": "closed"})
    assert status == 200
    response = await client.get(f"{API}/Accounts.json", headers=child.auth)
    assert response.status == 403
    assert_error(await response.json(), 403, 20005)


@pytest.mark.parametrize("status_value", ["suspended", "closed"])
async def test_account_cannot_deactivate_itself(
    client: TestClient, tenant: Tenant, status_value: str
) -> None:
    """Status other than active on one's own account: 400 naming Status."""
    status, body = await post_account(client, tenant.auth, tenant.sid, {"Status": status_value})
    assert status == 400
    assert_error(body, 400, 21100, "Status")
    status, _ = await get_account(client, tenant.auth, tenant.sid)
    assert status == 200


@pytest.mark.parametrize(
    ("data", "param"),
    [
        ({"Status": "paused"}, "Status"),
        ({"FriendlyName": "y" * 65}, "FriendlyName"),
        ({"AuthToken": "short"}, "AuthToken"),
        ({"AuthToken": "!" * 40}, "AuthToken"),
        ({"RotateAuthToken": "yes"}, "RotateAuthToken"),
        ({"RotateSigningKey": "please"}, "RotateSigningKey"),
    ],
)
async def test_update_validates_parameters(
    client: TestClient,
    tenant: Tenant,
    make_account: MakeAccount,
    data: dict[str, str],
    param: str,
) -> None:
    """Malformed update parameters answer 400 naming the parameter; nothing changes."""
    child = await make_account(tenant)
    status, body = await post_account(client, tenant.auth, child.sid, data)
    assert status == 400
    assert_error(body, 400, 21100, param)
    status, after = await get_account(client, child.auth, child.sid)
    assert status == 200
    assert after["signing_key"] == child.account.signing_key


async def test_child_cannot_update_its_parent(
    client: TestClient, tenant: Tenant, make_account: MakeAccount
) -> None:
    """Updating a parent is 403 and changes nothing."""
    child = await make_account(tenant)
    status, body = await post_account(client, child.auth, tenant.sid, {"Status": "suspended"})
    assert status == 403
    assert_error(body, 403, 20403)
    status, _ = await get_account(client, tenant.auth, tenant.sid)
    assert status == 200


async def test_rotate_auth_token_returns_a_new_token_once(
    client: TestClient, tenant: Tenant
) -> None:
    """RotateAuthToken=true returns a fresh token; the old one stops working."""
    status, body = await post_account(client, tenant.auth, tenant.sid, {"RotateAuthToken": "true"})
    assert status == 200
    new_token = body["auth_token"]
    assert new_token != tenant.token
    assert len(new_token) == 32
    status, body = await get_account(client, tenant.auth, tenant.sid)
    assert status == 401
    assert_error(body, 401, 20003)
    status, body = await get_account(client, basic(tenant.sid, new_token), tenant.sid)
    assert status == 200
    assert "auth_token" not in body


async def test_parent_rotates_child_token(
    client: TestClient, tenant: Tenant, make_account: MakeAccount
) -> None:
    """A parent may rotate its child's token: the child's old token is then refused."""
    child = await make_account(tenant)
    status, body = await post_account(client, tenant.auth, child.sid, {"RotateAuthToken": "true"})
    assert status == 200
    status, _ = await get_account(client, child.auth, child.sid)
    assert status == 401
    status, _ = await get_account(client, basic(child.sid, body["auth_token"]), child.sid)
    assert status == 200


async def test_auth_token_can_be_set_explicitly(client: TestClient, tenant: Tenant) -> None:
    """AuthToken=<32+ letters and digits> becomes the token."""
    chosen = "A1b2" * 10
    status, body = await post_account(client, tenant.auth, tenant.sid, {"AuthToken": chosen})
    assert status == 200
    assert body["auth_token"] == chosen
    status, _ = await get_account(client, basic(tenant.sid, chosen), tenant.sid)
    assert status == 200
    status, _ = await get_account(client, tenant.auth, tenant.sid)
    assert status == 401


async def test_rotate_signing_key_changes_it_for_the_account_and_ancestors(
    client: TestClient, admin: Tenant, tenant: Tenant, make_account: MakeAccount
) -> None:
    """RotateSigningKey=true gives a new signing_key, shown to the account and its ancestors."""
    child = await make_account(tenant)
    status, body = await post_account(client, child.auth, child.sid, {"RotateSigningKey": "true"})
    assert status == 200
    new_key = body["signing_key"]
    assert new_key != child.account.signing_key
    assert len(new_key) >= 32
    assert "auth_token" not in body
    for viewer in (child, tenant, admin):
        status, seen = await get_account(client, viewer.auth, child.sid)
        assert status == 200
        assert seen["signing_key"] == new_key
    status, _ = await get_account(client, child.auth, child.sid)
    assert status == 200  # the auth token did not change


async def test_signing_key_is_never_shown_to_a_descendant(
    client: TestClient, tenant: Tenant, make_account: MakeAccount
) -> None:
    """A child sees its own signing key, never its parent's (reading the parent is 403)."""
    child = await make_account(tenant)
    response = await client.get(f"{API}/Accounts.json", headers=child.auth)
    text = await response.text()
    assert child.account.signing_key in text
    assert tenant.account.signing_key not in text
    status, body = await get_account(client, child.auth, tenant.sid)
    assert status == 403
    assert tenant.account.signing_key not in str(body)


# --- Organizations ---------------------------------------------------------------------


def org_path(suffix: str = ".json") -> str:
    return f"{API}/Organizations{suffix}"


async def test_super_admin_lists_organizations(
    client: TestClient, admin: Tenant, make_org: MakeOrg
) -> None:
    """GET /Organizations lists every organization."""
    extra = await make_org("listed.test")
    response = await client.get(org_path(), headers=admin.auth)
    assert response.status == 200
    listed = {o["sid"]: o for o in await response.json()}
    assert set(listed) == {admin.account.organization_sid, extra.sid}
    assert listed[extra.sid]["domain_name"] == "listed.test"
    assert listed[extra.sid]["status"] == "active"


async def test_create_organization_then_get_it(client: TestClient, admin: Tenant) -> None:
    """POST DomainName returns the organization; GET by sid returns the same."""
    response = await client.post(
        org_path(), data={"DomainName": "acme.example.com"}, headers=admin.auth
    )
    assert response.status == 200
    created = await response.json()
    assert created["sid"].startswith("OR")
    assert len(created["sid"]) == 34
    assert created["domain_name"] == "acme.example.com"
    assert created["uri"] == f"{API}/Organizations/{created['sid']}.json"
    response = await client.get(f"{API}/Organizations/{created['sid']}.json", headers=admin.auth)
    assert response.status == 200
    assert await response.json() == created


async def test_get_organization_as_xml(client: TestClient, admin: Tenant) -> None:
    """The organization in XML has <DomainName>."""
    sid = admin.account.organization_sid
    response = await client.get(f"{API}/Organizations/{sid}", headers=admin.auth)
    assert response.status == 200
    organization = parse_xml(await response.text()).find("Organization")
    assert organization is not None
    assert organization.findtext("Sid") == sid
    assert organization.findtext("DomainName")


@pytest.mark.parametrize("again", ["dup.example.com", "DUP.Example.com", "dup.example.com."])
async def test_duplicate_domain_is_a_conflict(
    client: TestClient, admin: Tenant, again: str
) -> None:
    """A domain already used (in any case, with or without the root dot): 409."""
    first = await client.post(
        org_path(), data={"DomainName": "dup.example.com"}, headers=admin.auth
    )
    assert first.status == 200
    response = await client.post(org_path(), data={"DomainName": again}, headers=admin.auth)
    assert response.status == 409
    assert_error(await response.json(), 409, 20409, "DomainName")


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"DomainName": ""},
        {"DomainName": "not a domain"},
        {"DomainName": "-bad.example.com"},
        {"DomainName": "bad-.example.com"},
        {"DomainName": "under_score.example.com"},
        {"DomainName": "a..b"},
        {"DomainName": "x" * 64 + ".example.com"},
        {"DomainName": "caf\u00e9.example.com"},
    ],
)
async def test_bad_domain_name_is_refused(
    client: TestClient, admin: Tenant, data: dict[str, str]
) -> None:
    """A missing or malformed DomainName: 400 naming DomainName."""
    response = await client.post(org_path(), data=data, headers=admin.auth)
    assert response.status == 400
    assert_error(await response.json(), 400, 21100, "DomainName")


@pytest.mark.parametrize(
    "sid",
    [new_sid("OR"), "ORnot-a-sid", new_sid("AC")],
    ids=["unknown", "malformed", "an-account-sid"],
)
async def test_unknown_organization_is_404(client: TestClient, admin: Tenant, sid: str) -> None:
    """GET of an organization that does not exist: 404."""
    response = await client.get(f"{API}/Organizations/{sid}.json", headers=admin.auth)
    assert response.status == 404
    assert_error(await response.json(), 404, 20404)


async def test_organizations_need_a_super_admin(
    client: TestClient, admin: Tenant, tenant: Tenant
) -> None:
    """Every Organizations route answers 403 to a tenant and creates nothing."""
    sid = admin.account.organization_sid
    responses = [
        await client.get(org_path(), headers=tenant.auth),
        await client.get(f"{API}/Organizations/{sid}.json", headers=tenant.auth),
        await client.post(org_path(), data={"DomainName": "x.example.com"}, headers=tenant.auth),
    ]
    for response in responses:
        assert response.status == 403
        assert_error(await response.json(), 403, 20403)
    listing = await client.get(org_path(), headers=admin.auth)
    assert [o["domain_name"] for o in await listing.json()] != ["x.example.com"]
    assert "x.example.com" not in await listing.text()
