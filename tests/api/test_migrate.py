"""POST /Accounts/{TargetAccountSid}/IncomingPhoneNumbers/migrate (SPEC 2.1 "Migrate"):
the checks in their order, the move of a whole account tree, and all-or-nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from router.domain import Organization, new_sid
from tests.conftest import MakeAccount, MakeOrg, Tenant

API = "/2012-04-24"


def migrate_path(target_sid: str, suffix: str = ".json") -> str:
    return f"{API}/Accounts/{target_sid}/IncomingPhoneNumbers/migrate{suffix}"


@dataclass(frozen=True)
class Tree:
    """tenant -> child -> grandchild, a sibling of tenant, and their numbers by account."""

    admin: Tenant
    tenant: Tenant
    child: Tenant
    grandchild: Tenant
    sibling: Tenant
    destination: Organization
    numbers: dict[str, list[str]]  # account sid -> number sids

    @property
    def moving(self) -> list[tuple[str, str]]:
        """(account sid, number sid) of every number of the tenant's tree."""
        tree = (self.tenant, self.child, self.grandchild)
        return [(a.sid, n) for a in tree for n in self.numbers[a.sid]]

    @property
    def staying(self) -> list[tuple[str, str]]:
        """(account sid, number sid) of the numbers outside the tenant's tree."""
        return [(a.sid, n) for a in (self.admin, self.sibling) for n in self.numbers[a.sid]]


async def provision(client: TestClient, by: Tenant, account_sid: str, **params: str) -> str:
    response = await client.post(
        f"{API}/Accounts/{account_sid}/IncomingPhoneNumbers.json", data=params, headers=by.auth
    )
    body = await response.json()
    assert response.status == 200, body
    return str(body["sid"])


async def organization_of(client: TestClient, admin: Tenant, account_sid: str, sid: str) -> str:
    response = await client.get(
        f"{API}/Accounts/{account_sid}/IncomingPhoneNumbers/{sid}.json", headers=admin.auth
    )
    assert response.status == 200
    return str((await response.json())["organization_sid"])


@pytest.fixture
async def tree(
    client: TestClient,
    admin: Tenant,
    tenant: Tenant,
    make_account: MakeAccount,
    make_org: MakeOrg,
    add_inventory: Any,
) -> Tree:
    child = await make_account(tenant)
    grandchild = await make_account(child)
    sibling = await make_account(admin)
    destination = await make_org("destination.test")
    await add_inventory("+15105550001", "+15105550003", "+15105550004")
    plan: dict[str, list[dict[str, str]]] = {
        tenant.sid: [{"PhoneNumber": "1001", "isSIP": "true"}, {"PhoneNumber": "+15105550001"}],
        child.sid: [
            {"PhoneNumber": "2002", "isSIP": "true"},
            {"PhoneNumber": "^99.*", "isSIP": "true"},
        ],
        grandchild.sid: [{"PhoneNumber": "3003", "isSIP": "true"}, {"PhoneNumber": "+15105550003"}],
        sibling.sid: [{"PhoneNumber": "4004", "isSIP": "true"}, {"PhoneNumber": "+15105550004"}],
        admin.sid: [{"PhoneNumber": "5005", "isSIP": "true"}],
    }
    numbers = {
        account: [await provision(client, admin, account, **p) for p in params]
        for account, params in plan.items()
    }
    return Tree(admin, tenant, child, grandchild, sibling, destination, numbers)


async def post_migrate(
    client: TestClient, caller: Tenant, target_sid: str, data: dict[str, str] | None = None
) -> tuple[int, Any]:
    response = await client.post(migrate_path(target_sid), data=data or {}, headers=caller.auth)
    return response.status, await response.json()


def assert_error(status: int, body: Any, expected_status: int, code: int, param: str) -> None:
    assert (status, body["status"], body["code"]) == (expected_status, expected_status, code), body
    assert param in body["message"]
    assert body["more_info"]


async def test_success_moves_every_number_of_the_tree_and_no_other(
    client: TestClient, tree: Tree
) -> None:
    """Numbers of the target, its child and its grandchild move; the others stay."""
    before = {
        n: await organization_of(client, tree.admin, a, n) for a, n in tree.moving + tree.staying
    }
    status, body = await post_migrate(
        client, tree.admin, tree.tenant.sid, {"OrganizationSid": tree.destination.sid}
    )
    assert status == 200, body
    assert body == {
        "account_sid": tree.tenant.sid,
        "organization_sid": tree.destination.sid,
        "migrated": 6,
    }
    for account, number in tree.moving:
        assert await organization_of(client, tree.admin, account, number) == tree.destination.sid
    for account, number in tree.staying:
        assert await organization_of(client, tree.admin, account, number) == before[number]
        assert before[number] != tree.destination.sid


async def test_migrating_a_leaf_moves_only_its_numbers(client: TestClient, tree: Tree) -> None:
    """Migrating the grandchild leaves its ancestors' numbers where they were."""
    status, body = await post_migrate(
        client, tree.admin, tree.grandchild.sid, {"OrganizationSid": tree.destination.sid}
    )
    assert status == 200
    assert body["migrated"] == 2
    for account, number in tree.moving:
        moved = await organization_of(client, tree.admin, account, number) == tree.destination.sid
        assert moved == (account == tree.grandchild.sid)


async def test_migrate_accepts_a_json_body_and_answers_xml_without_suffix(
    client: TestClient, tree: Tree
) -> None:
    """A JSON body works, and without .json or Accept the answer is XML."""
    response = await client.post(
        migrate_path(tree.child.sid, ""),
        json={"OrganizationSid": tree.destination.sid},
        headers=tree.admin.auth,
    )
    assert response.status == 200
    text = await response.text()
    assert "<RestcommResponse><Migration>" in text
    assert "<Migrated>4</Migrated>" in text


async def test_collision_with_a_sip_number_of_the_destination_moves_nothing(
    client: TestClient, tree: Tree, make_account: MakeAccount
) -> None:
    """A tree SIP number equal to a SIP number of the destination: 409 and no number moved."""
    resident = await make_account(tree.admin, organization=tree.destination)
    await provision(client, tree.admin, resident.sid, PhoneNumber="3003", isSIP="true")
    before = {n: await organization_of(client, tree.admin, a, n) for a, n in tree.moving}
    status, body = await post_migrate(
        client, tree.admin, tree.tenant.sid, {"OrganizationSid": tree.destination.sid}
    )
    assert (status, body["status"], body["code"]) == (409, 409, 20409)
    for account, number in tree.moving:
        assert await organization_of(client, tree.admin, account, number) == before[number]


async def test_collision_inside_the_tree_moves_nothing(
    client: TestClient, tree: Tree, make_account: MakeAccount, make_org: MakeOrg
) -> None:
    """Two tree SIP numbers equal but in different organizations cannot both move: 409."""
    elsewhere = await make_org("elsewhere.test")
    cousin = await make_account(tree.child, organization=elsewhere)
    await provision(client, tree.admin, cousin.sid, PhoneNumber="1001", isSIP="true")
    status, _ = await post_migrate(
        client, tree.admin, tree.tenant.sid, {"OrganizationSid": tree.destination.sid}
    )
    assert status == 409
    for account, number in tree.moving:
        assert await organization_of(client, tree.admin, account, number) != tree.destination.sid


async def test_same_did_phone_number_never_collides(
    client: TestClient, tree: Tree, make_account: MakeAccount
) -> None:
    """A SIP number of the destination spelled like a tree DID does not block the move."""
    resident = await make_account(tree.admin, organization=tree.destination)
    await provision(client, tree.admin, resident.sid, PhoneNumber="+15105550001", isSIP="true")
    status, body = await post_migrate(
        client, tree.admin, tree.tenant.sid, {"OrganizationSid": tree.destination.sid}
    )
    assert status == 200, body


async def test_caller_not_super_admin_is_checked_first(client: TestClient, tree: Tree) -> None:
    """A non-super-admin gets 403 even when the target and the body are also wrong."""
    for target in (new_sid("AC"), "ACnot-a-sid", tree.admin.sid, tree.child.sid):
        status, body = await post_migrate(client, tree.tenant, target, {"OrganizationSid": "x"})
        assert (status, body["code"]) == (403, 20403), target
        status, body = await post_migrate(client, tree.tenant, target)
        assert (status, body["code"]) == (403, 20403), target


async def test_non_super_admin_cannot_migrate_even_a_valid_request(
    client: TestClient, tree: Tree
) -> None:
    """The tenant may not migrate its own child to a real organization: 403, nothing moves."""
    status, body = await post_migrate(
        client, tree.tenant, tree.child.sid, {"OrganizationSid": tree.destination.sid}
    )
    assert (status, body["code"]) == (403, 20403)
    for account, number in tree.moving:
        assert await organization_of(client, tree.admin, account, number) != tree.destination.sid


async def test_unknown_target_is_checked_second(client: TestClient, tree: Tree) -> None:
    """An unknown target answers 404 naming AccountSid, before the body is looked at."""
    for target in (new_sid("AC"), "ACnot-a-sid", new_sid("PN")):
        status, body = await post_migrate(client, tree.admin, target, {"OrganizationSid": "x"})
        assert_error(status, body, 404, 20404, "AccountSid")
        status, body = await post_migrate(client, tree.admin, target)
        assert_error(status, body, 404, 20404, "AccountSid")


async def test_super_admin_target_is_checked_third(
    client: TestClient, tree: Tree, make_account: MakeAccount
) -> None:
    """A super admin target answers 400 naming AccountSid, even with a bad OrganizationSid."""
    other_root = await make_account()
    for target in (tree.admin.sid, other_root.sid):
        for data in ({}, {"OrganizationSid": "x"}, {"OrganizationSid": new_sid("OR")}):
            status, body = await post_migrate(client, tree.admin, target, data)
            assert_error(status, body, 400, 21100, "AccountSid")
            assert "OrganizationSid" not in body["message"]


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"OrganizationSid": ""},
        {"OrganizationSid": "OR123"},
        {"OrganizationSid": "OR" + "G" * 32},
        {"OrganizationSid": new_sid("AC")},
        {"organizationsid": new_sid("OR")},
    ],
)
async def test_missing_or_malformed_organization_sid_is_checked_fourth(
    client: TestClient, tree: Tree, data: dict[str, str]
) -> None:
    """OrganizationSid missing or malformed: 400 naming OrganizationSid."""
    status, body = await post_migrate(client, tree.admin, tree.tenant.sid, data)
    assert_error(status, body, 400, 21100, "OrganizationSid")


async def test_unknown_organization_is_checked_last(client: TestClient, tree: Tree) -> None:
    """A well-formed OrganizationSid naming no organization: 404 naming OrganizationSid."""
    status, body = await post_migrate(
        client, tree.admin, tree.tenant.sid, {"OrganizationSid": new_sid("OR")}
    )
    assert_error(status, body, 404, 20404, "OrganizationSid")
    for account, number in tree.moving:
        assert await organization_of(client, tree.admin, account, number) != tree.destination.sid


async def test_migrate_needs_credentials(client: TestClient, tree: Tree) -> None:
    """Without Basic credentials the answer is 401 with a Basic challenge."""
    response = await client.post(
        migrate_path(tree.tenant.sid), data={"OrganizationSid": tree.destination.sid}
    )
    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="router"'
    assert (await response.json())["code"] == 20003


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
async def test_put_and_delete_are_not_allowed(
    client: TestClient, admin: Tenant, tenant: Tenant, organization: Organization, method: str
) -> None:
    """PUT and DELETE on /migrate answer 405."""
    response = await client.request(
        method,
        migrate_path(tenant.sid),
        data={"OrganizationSid": organization.sid},
        headers=admin.auth,
    )
    assert response.status == 405
    body = await response.json()
    assert (body["status"], body["code"]) == (405, 20405)
    assert method in body["message"]


@pytest.fixture
async def organization(make_org: MakeOrg) -> Organization:
    return await make_org("another.test")


async def test_migrate_answers_on_the_restcomm_mount_point(client: TestClient, tree: Tree) -> None:
    """The /restcomm/2012-04-24 prefix serves the same route."""
    response = await client.post(
        "/restcomm" + migrate_path(tree.tenant.sid),
        data={"OrganizationSid": tree.destination.sid},
        headers=tree.admin.auth,
    )
    assert response.status == 200
    assert (await response.json())["migrated"] == 6


async def test_errors_are_xml_without_the_json_suffix(client: TestClient, tree: Tree) -> None:
    """A refused migrate without .json answers a Restcomm XML RestException."""
    response = await client.post(
        migrate_path(tree.child.sid, ""),
        data={"OrganizationSid": tree.destination.sid},
        headers=tree.tenant.auth,
    )
    assert response.status == 403
    assert response.content_type == "application/xml"
    text = await response.text()
    assert "<RestcommResponse><RestException><Code>20403</Code><Message>" in text
    assert "<Status>403</Status></RestException></RestcommResponse>" in text
