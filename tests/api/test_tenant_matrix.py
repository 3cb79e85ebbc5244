"""The cross-tenant matrix (SPEC 2 "Auth", SPEC 7 "Tenant isolation", issue 12.5): every
route of the application's route table (both API mounts, /restcomm, the /v1 routes,
the public ones), every method, tried with one caller's credentials on its own account,
a child, its parent, a sibling and an unrelated tenant.

The cases are generated from `app.router`, not listed: a route added later is tried
too, and the test fails unless it follows the rule, or fails asking to be taught how to
fill a path parameter it has never seen. The rule, per route and method:
- own account first: that answer is the baseline. A 404 there means the matrix could
  not reach the caller's own resource (the matrix needs teaching), so it fails.
- baseline 401, 403 or 405 (gateway-only, super-admin-only, not allowed): every relation
  gets the same answer, and nothing is written.
- otherwise: the child gets the baseline answer (the caller acts on its descendants);
  the parent, the sibling and the unrelated tenant get 403 or 404 and nothing is
  written, also when the URL names the caller's own account but the resource is theirs.
- routes that name no account act on the caller alone: they refuse a tenant (401, 403,
  405) or are listed below as public or caller-scoped.
- `/v1/routes/resolve` is scoped by organization (SPEC 4: a tenant resolves within its
  own organization), so the unrelated tenant's organization is refused, not the others.
No answer to the caller ever names a number, application, call or account of the
sibling or the unrelated tenant, nor a resource of the parent.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from router import config
from router.app import create_app
from router.store.accounts import AccountStore
from router.store.postgres import Database
from tests.conftest import GATEWAY_TOKEN, MakeAccount, MakeOrg, Tenant

ALLOWED = ("own", "child")
REFUSED = ("parent", "sibling", "unrelated")
RELATIONS = (*ALLOWED, *REFUSED)
CALLER_LEVEL_REFUSALS = frozenset({401, 403, 405})
GATEWAY = {"Authorization": f"Bearer {GATEWAY_TOKEN}"}
# Routes without an account in their path that answer a tenant, and why that is right.
PUBLIC = frozenset({"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"})
CALLER_SCOPED = frozenset(  # the caller's own tree: GET lists it, POST adds a sub-account
    f"{mount}/Accounts{suffix}"
    for mount in ("/2012-04-24", "/restcomm/2012-04-24", "/2010-04-01")
    for suffix in ("", ".json")
)
ORGANIZATION_SCOPED = frozenset({"/v1/routes/resolve"})
PARAMETER = re.compile(r"\{(\w+)(?::[^}]*)?\}")
_numbers = itertools.count(7000)


@dataclass
class Target:
    """One account of the tree with a resource of each kind."""

    tenant: Tenant
    organization_sid: str
    number_sid: str = ""
    phone_number: str = ""
    application_sid: str = ""
    call_sid: str = ""
    callback_id: int = 0

    @property
    def sid(self) -> str:
        return self.tenant.sid


@dataclass
class World:
    client: TestClient
    db: Database
    caller: Tenant
    targets: dict[str, Target]
    answers: list[tuple[str, str, str, int, str]] = field(default_factory=list)

    def foreign_names(self) -> set[str]:
        """What no answer to the caller may contain (outside organization-scoped routes)."""
        names: set[str] = set()
        for relation in REFUSED:
            target = self.targets[relation]
            names |= {target.number_sid, target.application_sid, target.call_sid}
            if relation != "parent":  # the caller's own record names its parent
                names.add(target.sid)
        return names


async def _resources(world_db: Database, client: TestClient, target: Target) -> None:
    """A SIP number with a status callback, an application, a routed call of that number
    and its status callback (pending: no dispatcher runs)."""
    await _fresh_number(client, target)
    await _fresh_application(world_db, target)
    call = await client.post(
        "/v1/events/calls?fetch=false",
        json={
            "From": "+15550001",
            "To": target.phone_number,
            "DestinationOrganizationSid": target.organization_sid,
        },
        headers=GATEWAY,
    )
    assert call.status == 200, await call.text()
    target.call_sid = (await call.json())["call_sid"]
    status = await client.post(
        f"/v1/events/calls/{target.call_sid}/status",
        json={"CallStatus": "completed"},
        headers=GATEWAY,
    )
    assert status.status == 202, await status.text()
    listing = await client.get(f"/v1/calls/{target.call_sid}/callbacks", headers=GATEWAY)
    target.callback_id = (await listing.json())["callbacks"][0]["id"]


async def _fresh_number(client: TestClient, target: Target) -> None:
    """Through the API, so this instance's resolver knows the number at once."""
    target.phone_number = str(next(_numbers))
    response = await client.post(
        f"/2012-04-24/Accounts/{target.sid}/IncomingPhoneNumbers.json",
        data={
            "PhoneNumber": target.phone_number,
            "isSIP": "true",
            "VoiceUrl": "http://127.0.0.1:9/voice",
            "StatusCallback": "http://127.0.0.1:9/cb",
        },
        headers=target.tenant.auth,
    )
    assert response.status == 200, await response.text()
    target.number_sid = (await response.json())["sid"]


async def _fresh_application(db: Database, target: Target) -> None:
    fields = {"friendly_name": "matrix", "kind": "voice", "rcml_url": "http://127.0.0.1:9/a"}
    application = await AccountStore(db).create_application(target.sid, fields)
    target.application_sid = application.sid


@pytest.fixture
async def world(
    db: Database,
    settings: config.Settings,
    admin: Tenant,
    make_account: MakeAccount,
    make_org: MakeOrg,
    add_inventory: Callable[..., Awaitable[None]],
) -> AsyncIterator[World]:
    """super admin -> parent -> caller -> child; parent -> sibling; super admin ->
    unrelated (another organization). Nothing delivers callbacks, so only requests write."""
    await add_inventory("+15105550100", "+15105550101")  # the operator's free DIDs (global)
    shared, elsewhere = await make_org(), await make_org()
    parent = await make_account(admin, organization=shared)
    caller = await make_account(parent)
    tenants = {
        "own": caller,
        "child": await make_account(caller),
        "parent": parent,
        "sibling": await make_account(parent),
        "unrelated": await make_account(admin, organization=elsewhere),
    }
    app = create_app(config.replace(settings, callbacks_dispatcher_enabled=False), database=db)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        targets = {}
        for relation, tenant in tenants.items():
            assert tenant.account.organization_sid is not None
            targets[relation] = Target(tenant, tenant.account.organization_sid)
            await _resources(db, client, targets[relation])
        yield World(client, db, caller, targets)


# ------------------------------------------------------------------ the route table


@dataclass(frozen=True)
class Case:
    template: str
    method: str

    @property
    def parameters(self) -> list[str]:
        return PARAMETER.findall(self.template)

    @property
    def targeted(self) -> bool:
        """Whether the request names an account, an organization or a tenant's resource."""
        return bool(self.parameters) or self.template in ORGANIZATION_SCOPED


def route_table() -> Iterator[Case]:
    """Every (path template, method) the application serves, in registration order."""
    app = create_app(config.Settings())
    for resource in app.router.resources():
        info = resource.get_info()
        template = info.get("path") or info.get("formatter")
        assert template, resource
        # DELETE last: the caller's own resources are replaced after it (see check_targeted).
        for method in sorted({route.method for route in resource}, key=_deletes_last):
            yield Case(template, method)


def _deletes_last(method: str) -> tuple[bool, str]:
    return method == "DELETE", method


def _value(case: Case, name: str, before: str, target: Target, own: Target) -> str:
    """The path parameter `name` (the segment before it is `before`) for this target;
    `own` is whose account the URL names."""
    if name == "account_sid":
        return own.sid
    if name == "kind":
        return "Local.json"
    if name == "country":
        return "US" if case.template.endswith("{kind}") else "US.json"
    if name == "call_sid":
        return target.call_sid
    if name == "callback_id":
        return str(target.callback_id)
    if name == "sid":
        by_collection = {
            "IncomingPhoneNumbers": target.number_sid,
            "Applications": target.application_sid,
            "Accounts": target.sid,
            "Organizations": target.organization_sid,
        }
        if before in by_collection:
            return by_collection[before] + ".json"
    pytest.fail(f"The matrix cannot fill {{{name}}} in {case.template}: teach it (_value).")


def url(case: Case, target: Target, *, account: Target | None = None) -> str:
    """The case's path for the target; `account` names another account in the URL."""
    named = account or target

    def fill(match: re.Match[str]) -> str:
        before = case.template[: match.start()].rstrip("/").rsplit("/", 1)[-1]
        return _value(case, match.group(1), before, target, named)

    path = PARAMETER.sub(fill, case.template)
    if case.template in ORGANIZATION_SCOPED:
        path += f"?To={target.phone_number}&DestinationOrganizationSid={target.organization_sid}"
    return path


def body(case: Case, target: Target) -> dict[str, str] | None:
    """A body that writes when the caller may act: a new SIP number, application, account
    or organization for collections, a new FriendlyName for instances (unknown
    parameters are ignored, SPEC 8)."""
    if case.method not in {"POST", "PUT"}:
        return None
    if case.template.endswith("}") and not case.template.endswith("{kind}"):
        return {"FriendlyName": "renamed by the matrix"}
    return {
        "FriendlyName": "made by the matrix",
        "PhoneNumber": str(next(_numbers)),
        "isSIP": "true",
        "RcmlUrl": "http://127.0.0.1:9/made",
        "DomainName": f"matrix{next(_numbers)}.test",
        "OrganizationSid": target.organization_sid,
    }


# --------------------------------------------------------------------- the checks


async def snapshot(db: Database) -> dict[str, str]:
    """A digest of every table's rows."""
    digests = {}
    async with db.connection() as conn:
        tables = await conn.fetch(
            "SELECT quote_ident(table_name) AS name FROM information_schema.tables"
            " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        )
        for row in tables:
            digests[row["name"]] = await conn.fetchval(
                # The names come from the catalog, quoted by PostgreSQL itself.
                f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"  # noqa: S608
                f" FROM {row['name']} t"
            )
    return digests


async def attempt(world: World, case: Case, target: Target, **url_options: Any) -> int:
    """Send the case as the caller; return the status, checking that a refusal wrote
    nothing and that no answer names what the caller may not see."""
    before = await snapshot(world.db)
    path = url(case, target, **url_options)
    response = await world.client.request(
        case.method, path, data=body(case, target), headers=world.caller.auth
    )
    text = await response.text()
    world.answers.append((case.template, case.method, path, response.status, text[:200]))
    if response.status >= 300:
        assert await snapshot(world.db) == before, f"{case.method} {path} wrote on a refusal"
    if case.template not in ORGANIZATION_SCOPED:
        # What the caller sent may be echoed (a message naming the path); nothing else.
        leaked = {name for name in world.foreign_names() if name and name in text} - {
            name for name in world.foreign_names() if name in path
        }
        assert not leaked, f"{case.method} {path} answered {response.status} naming {leaked}"
    return response.status


async def refresh_if_deleting(world: World, case: Case, target: Target) -> None:
    """A DELETE the caller may make removes the resource: give the target a new one."""
    if case.method == "DELETE":
        await _fresh_number(world.client, target)
        await _fresh_application(world.db, target)


async def check(world: World, case: Case) -> None:
    if case.targeted:
        await check_targeted(world, case)
    else:
        await check_untargeted(world, case)
    if case.method == "DELETE":  # the next cases need the resources the caller deleted
        for relation in ALLOWED:
            await refresh_if_deleting(world, case, world.targets[relation])


async def check_targeted(world: World, case: Case) -> None:
    own = world.targets["own"]
    baseline = await attempt(world, case, own)
    where = f"{case.method} {case.template}"
    assert baseline != 404, f"{where}: the caller's own resource was not found; teach the matrix"
    if case.template in ORGANIZATION_SCOPED:
        for relation in ("child", "parent", "sibling"):  # one organization
            assert await attempt(world, case, world.targets[relation]) == baseline, relation
        assert await attempt(world, case, world.targets["unrelated"]) == 403
        return
    for relation in ("child", *REFUSED):
        target = world.targets[relation]
        status = await attempt(world, case, target)
        if baseline in CALLER_LEVEL_REFUSALS or relation == "child":
            assert status == baseline, f"{where} for the {relation}: {status}, own {baseline}"
        else:
            assert status in {403, 404}, f"{where} for the {relation}: {status}"
        if relation in REFUSED and "account_sid" in case.parameters and "sid" in case.parameters:
            # The caller's own account in the URL, another tenant's resource in it.
            status = await attempt(world, case, target, account=own)
            if baseline in CALLER_LEVEL_REFUSALS:
                assert status == baseline, f"{where}, own URL, {relation}'s resource: {status}"
            else:
                assert status in {403, 404}, f"{where}, own URL, {relation}'s resource: {status}"


async def check_untargeted(world: World, case: Case) -> None:
    status = await attempt(world, case, world.targets["own"])
    if status in CALLER_LEVEL_REFUSALS:
        return
    assert case.template in PUBLIC | CALLER_SCOPED, (
        f"{case.method} {case.template} answers a tenant {status} without naming an account:"
        " scope it, or list it here as public or caller-scoped with the reason"
    )


# ---------------------------------------------------------------------- the tests


def test_the_route_table_covers_both_mounts_and_the_gateway_routes() -> None:
    """The generator sees what the application serves (a broken generator would pass)."""
    templates = {case.template for case in route_table()}
    assert "/2012-04-24/Accounts/{account_sid}/IncomingPhoneNumbers/{sid}" in templates
    assert "/2010-04-01/Accounts/{account_sid}/IncomingPhoneNumbers/{sid}" in templates
    assert "/restcomm/2012-04-24/Accounts/{account_sid}/Applications/{sid}" in templates
    assert "/v1/calls/{call_sid}/callbacks" in templates
    assert len(list(route_table())) > 100


async def test_every_route_and_method_follows_the_tenant_rule(world: World) -> None:
    """The whole matrix, own account first for each route and method."""
    for case in route_table():
        await check(world, case)
    statuses = {status for *_, status, _ in world.answers}
    assert {200, 403, 404} <= statuses  # the matrix reached allowed and refused answers
    assert len(world.answers) > 600
