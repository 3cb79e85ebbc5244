"""Resolution rules over HTTP (SPEC 3 and 4): gateway events and the dry-run
`GET /v1/routes/resolve` with its trace."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient

from router.domain import Organization
from tests.conftest import MakeAccount, MakeOrg, Tenant

Client = TestClient[web.Request, web.Application]

RESOLVE = "/v1/routes/resolve"
FORBIDDEN = 20403


def numbers_path(owner: Tenant) -> str:
    return f"/2012-04-24/Accounts/{owner.sid}/IncomingPhoneNumbers.json"


async def provision_sip(client: Client, owner: Tenant, phone_number: str) -> dict[str, Any]:
    """Provision a SIP number (or pattern) through the API with voice and SMS URLs."""
    response = await client.post(
        numbers_path(owner),
        data={
            "PhoneNumber": phone_number,
            "isSIP": "true",
            "VoiceUrl": f"http://127.0.0.1:9/voice/{phone_number}",
            "SmsUrl": f"http://127.0.0.1:9/sms/{phone_number}",
            "ReferUrl": f"http://127.0.0.1:9/refer/{phone_number}",
        },
        headers=owner.auth,
    )
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def in_org(admin: Tenant, make_account: MakeAccount, org: Organization) -> Tenant:
    return await make_account(admin, organization=org)


async def resolve(
    client: Client, headers: dict[str, str], **query: str
) -> tuple[int, dict[str, Any]]:
    response = await client.get(RESOLVE, params=query, headers=headers)
    return response.status, await response.json()


async def event(client: Client, gateway: dict[str, str], kind: str, **body: str) -> ClientResponse:
    """Post a gateway event without fetching RCML."""
    return await client.post(f"/v1/events/{kind}?fetch=false", json=body, headers=gateway)


def exact(spelling: str, result: str, number_sid: str | None = None) -> dict[str, Any]:
    return {"spelling": spelling, "result": result, "number_sid": number_sid}


def skipped(reason: str) -> dict[str, Any]:
    return {"ran": False, "reason": reason}


# --- the dry run -------------------------------------------------------------------------


async def test_dry_run_returns_the_decision_and_every_step_in_order(
    client: Client,
    gateway: dict[str, str],
    admin: Tenant,
    make_account: MakeAccount,
    make_org: MakeOrg,
) -> None:
    """The dry run shows the spellings, the exact result of each, the pattern candidates
    the engine decided, the winner and the patterns that outrank it."""
    owner = await in_org(admin, make_account, await make_org("acme.test"))
    await provision_sip(client, owner, "16508251256")
    await provision_sip(client, owner, "16.*")
    longest = await provision_sip(client, owner, "^7688[456]#$")
    winner = await provision_sip(client, owner, "16508.*")
    status, body = await resolve(client, gateway, To="16508251255", Domain="acme.test")
    assert status == 200
    assert body == {
        "to": "16508251255",
        "outcome": "routed",
        "number": {
            "sid": winner["sid"],
            "account_sid": owner.sid,
            "phone_number": "16508.*",
            "organization_sid": owner.account.organization_sid,
        },
        "match": {"how": "pattern", "spelling": "16508251255", "pattern": "16508.*"},
        "target": {
            "kind": "url",
            "application_sid": None,
            "url": "http://127.0.0.1:9/voice/16508.*",
            "method": "POST",
            "fallback_url": None,
            "fallback_method": None,
        },
        "rcml": None,
        "rcml_source": None,
        "channel": "voice",
        "trace": {
            "spellings": ["16508251255", "+16508251255"],
            "exact": [exact("16508251255", "miss"), exact("+16508251255", "miss")],
            "pattern": {
                "ran": True,
                "matcher": body["trace"]["pattern"]["matcher"],
                "patterns": 3,
                "candidates": [
                    {
                        "pattern": "16508.*",
                        "number_sid": winner["sid"],
                        "spelling": "16508251255",
                        "result": "match",
                        "decided_by": body["trace"]["pattern"]["candidates"][0]["decided_by"],
                    }
                ],
                "winner": {
                    "pattern": "16508.*",
                    "number_sid": winner["sid"],
                    "spelling": "16508251255",
                },
                "outranking": {
                    "count": 1,
                    "listed": [{"pattern": "^7688[456]#$", "number_sid": longest["sid"]}],
                },
            },
        },
    }
    # The first pattern call of an organization is answered by the prefix index while
    # its automaton compiles; either engine proposes the same candidate here.
    assert body["trace"]["pattern"]["matcher"] in ("automaton", "prefix_index")


async def test_dry_run_of_an_exact_hit_stops_at_the_first_spelling_that_hits(
    client: Client, gateway: dict[str, str], tenant: Tenant
) -> None:
    """A SIP number found under spelling (c) is traced after the misses before it."""
    number = await provision_sip(client, tenant, "16505551234")
    await provision_sip(client, tenant, "*")
    status, body = await resolve(
        client,
        gateway,
        To="+16505551234",
        DestinationOrganizationSid=tenant.account.organization_sid,
    )
    assert status == 200
    assert body["outcome"] == "routed"
    assert body["match"] == {"how": "exact", "spelling": "16505551234", "pattern": None}
    assert body["trace"] == {
        "spellings": ["+16505551234", "16505551234"],
        "exact": [exact("+16505551234", "miss"), exact("16505551234", "hit", number["sid"])],
        "pattern": skipped("the exact stage found the number"),
    }


async def test_dry_run_of_another_organizations_sip_number_is_forbidden_with_its_step(
    client: Client,
    gateway: dict[str, str],
    admin: Tenant,
    make_account: MakeAccount,
    make_org: MakeOrg,
) -> None:
    """A spelling held only by another organization is traced as other_organization."""
    owner = await in_org(admin, make_account, await make_org("owner.test"))
    await make_org("caller.test")
    number = await provision_sip(client, owner, "1000")
    status, body = await resolve(client, gateway, To="1000", Domain="caller.test")
    assert status == 200
    assert body["outcome"] == "forbidden"
    assert body["number"] is None
    assert body["trace"] == {
        "spellings": ["1000", "+1000"],
        "exact": [exact("1000", "other_organization", number["sid"]), exact("+1000", "miss")],
        "pattern": {
            "ran": True,
            "matcher": body["trace"]["pattern"]["matcher"],
            "patterns": 0,
            "candidates": [],
            "winner": None,
            "outranking": {"count": 0, "listed": []},
        },
    }


@pytest.mark.parametrize(
    ("channel", "outcome"), [("sms", "not_found"), ("SMS", "not_found"), ("refer", "routed")]
)
async def test_dry_run_channel_sms_has_no_pattern_steps(
    client: Client, gateway: dict[str, str], tenant: Tenant, channel: str, outcome: str
) -> None:
    """With Channel=sms the trace holds exact steps only; refer runs the patterns."""
    await provision_sip(client, tenant, "*")
    status, body = await resolve(
        client,
        gateway,
        To="5551234",
        Channel=channel,
        DestinationOrganizationSid=tenant.account.organization_sid,
    )
    assert status == 200
    assert body["outcome"] == outcome
    assert body["channel"] == channel.lower()
    trace = body["trace"]
    assert trace["spellings"] == ["5551234", "+15551234", "+5551234"]
    assert [step["result"] for step in trace["exact"]] == ["miss"] * 3
    if outcome == "routed":
        assert trace["pattern"]["winner"]["pattern"] == "*"
        assert body["target"]["url"] == "http://127.0.0.1:9/refer/*"
    else:
        assert trace["pattern"] == skipped("messages never match patterns")


async def test_dry_run_refuses_an_unknown_channel(
    client: Client, gateway: dict[str, str], tenant: Tenant
) -> None:
    """Channel must be voice, sms, refer or ussd: anything else is a 400 naming Channel."""
    status, body = await resolve(client, gateway, To="1000", Channel="fax")
    assert status == 400
    assert "Channel" in body["message"]


async def test_tenant_dry_run_resolves_within_its_own_organization(
    client: Client, tenant: Tenant
) -> None:
    """A tenant's dry run uses its organization as the destination, given or not."""
    number = await provision_sip(client, tenant, "1000")
    org = tenant.account.organization_sid
    for query in ({"To": "1000"}, {"To": "1000", "DestinationOrganizationSid": org}):
        status, body = await resolve(client, tenant.auth, **query)
        assert status == 200
        assert body["outcome"] == "routed"
        assert body["number"]["sid"] == number["sid"]


async def test_tenant_dry_run_in_another_organization_is_forbidden(
    client: Client, tenant: Tenant, make_org: MakeOrg
) -> None:
    """A tenant naming another organization (by sid or domain) gets 403."""
    other = await make_org("other.test")
    for query in ({"Domain": "other.test"}, {"DestinationOrganizationSid": other.sid}):
        status, body = await resolve(client, tenant.auth, To="1000", **query)
        assert status == 403
        assert body["code"] == FORBIDDEN
        assert body["status"] == 403
        assert "organization" in body["message"]


@pytest.mark.parametrize(
    "names",
    [
        {"Domain": "nowhere.test"},
        {"SourceDomain": "nowhere.test"},
        {"DestinationOrganizationSid": "OR" + "0" * 32},
        {"SourceOrganizationSid": "OR" + "0" * 32},
    ],
    ids=["domain", "source-domain", "sid", "source-sid"],
)
async def test_tenant_cannot_probe_whether_other_organizations_exist(
    client: Client, tenant: Tenant, make_org: MakeOrg, names: dict[str, str]
) -> None:
    """Unknown and existing foreign organizations both get 403, so a tenant learns nothing."""
    status, body = await resolve(client, tenant.auth, To="1000", **names)
    assert status == 403, body
    assert body["code"] == FORBIDDEN


@pytest.mark.parametrize(
    "query",
    [{"To": "1000"}, {"To": "1000", "Domain": "nowhere.test"}, {"To": "a b"}, {}],
    ids=["valid", "unknown-domain", "bad-to", "empty"],
)
@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}], ids=["no-auth", "wrong-token"]
)
async def test_dry_run_without_credentials_is_refused_before_reading_the_query(
    client: Client, query: dict[str, str], headers: dict[str, str]
) -> None:
    """No valid gateway token or Basic credentials: 401, whatever the query holds."""
    response = await client.get(RESOLVE, params=query, headers=headers)
    assert response.status == 401
    body = await response.json()
    assert body["code"] == 20003
    assert body["status"] == 401


async def test_dry_run_has_no_side_effects(
    client: Client, gateway: dict[str, str], tenant: Tenant
) -> None:
    """A dry run records no call: the same number then routes a real call normally."""
    await provision_sip(client, tenant, "1000")
    org = tenant.account.organization_sid
    status, body = await resolve(client, gateway, To="1000", DestinationOrganizationSid=org)
    assert (status, body["outcome"]) == (200, "routed")
    assert "call_sid" not in body
    response = await event(
        client, gateway, "calls", From="alice", To="1000", DestinationOrganizationSid=org
    )
    assert response.status == 200


# --- events ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stored", "how", "winner"),
    [
        (("16508251255", "16.*"), "exact", "16508251255"),
        (("16508251256", "16.*"), "pattern", "16.*"),
        (("16508251256", "16.*", "16508.*"), "pattern", "16508.*"),
    ],
    ids=["perfect-match", "regex-applies", "longest-regex-applies"],
)
async def test_seed_first_table_through_call_events(
    client: Client,
    gateway: dict[str, str],
    tenant: Tenant,
    stored: tuple[str, ...],
    how: str,
    winner: str,
) -> None:
    """A call to 16508251255 routes as each row of the seed's first table says."""
    for phone_number in stored:
        await provision_sip(client, tenant, phone_number)
    response = await event(
        client,
        gateway,
        "calls",
        From="alice",
        To="16508251255",
        DestinationOrganizationSid=tenant.account.organization_sid,
    )
    assert response.status == 200
    body = await response.json()
    assert body["outcome"] == "routed"
    assert body["number"]["phone_number"] == winner
    assert body["match"]["how"] == how
    assert body["target"]["url"] == f"http://127.0.0.1:9/voice/{winner}"


async def test_catch_all_catches_calls_but_never_messages(
    client: Client,
    gateway: dict[str, str],
    admin: Tenant,
    make_account: MakeAccount,
    make_org: MakeOrg,
) -> None:
    """The catch-all `*` routes a call; the same To as an SMS is not found."""
    owner = await in_org(admin, make_account, await make_org("acme.test"))
    catch_all = await provision_sip(client, owner, "*")
    call = await event(client, gateway, "calls", From="alice", To="5551234", Domain="acme.test")
    assert call.status == 200
    body = await call.json()
    assert body["number"]["sid"] == catch_all["sid"]
    assert body["match"] == {"how": "pattern", "spelling": "5551234", "pattern": "*"}
    message = await event(
        client, gateway, "messages", From="alice", To="5551234", Domain="acme.test"
    )
    assert message.status == 404
    body = await message.json()
    assert body["outcome"] == "not_found"
    assert body["sms_sid"].startswith("SM")
    assert body["number"] is None


async def test_message_to_an_exact_number_routes_despite_a_catch_all(
    client: Client, gateway: dict[str, str], tenant: Tenant
) -> None:
    """SMS keeps the exact stage: a provisioned SIP number gets its SmsUrl."""
    number = await provision_sip(client, tenant, "1000")
    await provision_sip(client, tenant, "*")
    response = await event(
        client,
        gateway,
        "messages",
        From="alice",
        To="1000",
        DestinationOrganizationSid=tenant.account.organization_sid,
    )
    assert response.status == 200
    body = await response.json()
    assert body["number"]["sid"] == number["sid"]
    assert body["target"]["url"] == "http://127.0.0.1:9/sms/1000"


async def test_call_from_another_source_organization_reaches_dids_not_sip_numbers(
    client: Client,
    gateway: dict[str, str],
    admin: Tenant,
    make_account: MakeAccount,
    make_org: MakeOrg,
    add_inventory: Callable[..., Awaitable[None]],
) -> None:
    """SourceDomain different from Domain: the SIP number is forbidden (403), the DID routed."""
    tenant = await in_org(admin, make_account, await make_org("acme.test"))
    await make_org("elsewhere.test")
    await add_inventory("+15105550100")
    response = await client.post(
        numbers_path(tenant),
        data={"PhoneNumber": "+15105550100", "VoiceUrl": "http://127.0.0.1:9/did"},
        headers=tenant.auth,
    )
    assert response.status == 200
    await provision_sip(client, tenant, "1000")
    domain = "acme.test"
    sip = await event(
        client, gateway, "calls", From="a", To="1000", Domain=domain, SourceDomain="elsewhere.test"
    )
    assert sip.status == 403
    assert (await sip.json())["outcome"] == "forbidden"
    did = await event(
        client,
        gateway,
        "calls",
        From="a",
        To="15105550100",
        Domain=domain,
        SourceDomain="elsewhere.test",
    )
    assert did.status == 200
    body = await did.json()
    assert body["match"] == {"how": "exact", "spelling": "+15105550100", "pattern": None}
    nowhere = await event(client, gateway, "calls", From="a", To="1000")
    assert nowhere.status == 403  # a SIP number needs its destination organization
    anywhere = await event(client, gateway, "calls", From="a", To="+15105550100")
    assert anywhere.status == 200  # an inventory DID does not


async def test_seed_backslash_sample_is_refused_and_its_meaning_routes(
    client: Client, gateway: dict[str, str], tenant: Tenant
) -> None:
    """`7777\\8888` does not compile (400 naming PhoneNumber); `7777|8888` routes both."""
    response = await client.post(
        numbers_path(tenant),
        data={"PhoneNumber": "7777\\8888", "isSIP": "true", "VoiceUrl": "http://127.0.0.1:9/v"},
        headers=tenant.auth,
    )
    assert response.status == 400
    body = await response.json()
    assert body["code"] == 21421
    assert "PhoneNumber" in body["message"]
    number = await provision_sip(client, tenant, "7777|8888")
    org = tenant.account.organization_sid
    for dialed, expected in (("7777", 200), ("8888", 200), ("77778888", 404)):
        routed = await event(
            client, gateway, "calls", From="a", To=dialed, DestinationOrganizationSid=org
        )
        assert routed.status == expected, dialed
        if expected == 200:
            assert (await routed.json())["number"]["sid"] == number["sid"]


async def provision_pattern(client: Client, owner: Tenant, text: str) -> dict[str, Any]:
    response = await client.post(
        numbers_path(owner),
        data={"PhoneNumber": text, "isSIP": "true", "VoiceUrl": "http://127.0.0.1:9/voice"},
        headers=owner.auth,
    )
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


LONG_MISSES = 120  # patterns of 245 characters that outrank the winner and never match


async def test_dry_run_stays_small_whatever_the_patterns_and_full_lists_every_attempt(
    client: Client, gateway: dict[str, str], tenant: Tenant
) -> None:
    """Many long patterns that outrank the winner: the default trace names how many and
    lists the first of them within 16 KiB; trace=full lists every naive attempt."""
    org = tenant.account.organization_sid
    for i in range(LONG_MISSES):
        await provision_pattern(client, tenant, f"9{i:04d}" + "\\d" * 120)
    winner = await provision_pattern(client, tenant, "16.*")

    response = await client.get(
        RESOLVE, params={"To": "16505551234", "DestinationOrganizationSid": org}, headers=gateway
    )
    assert response.status == 200
    raw = await response.read()
    assert len(raw) < 16 * 1024
    stage = (await response.json())["trace"]["pattern"]
    assert stage["patterns"] == LONG_MISSES + 1
    assert stage["winner"] == {
        "pattern": "16.*",
        "number_sid": winner["sid"],
        "spelling": "16505551234",
    }
    assert stage["outranking"]["count"] == LONG_MISSES
    listed = stage["outranking"]["listed"]
    assert 0 < len(listed) <= 50
    assert [item["pattern"] for item in listed] == [
        f"9{i:04d}" + "\\d" * 120 for i in range(len(listed))
    ]
    assert "full" not in (await response.json())["trace"]

    status, body = await resolve(
        client, gateway, To="16505551234", DestinationOrganizationSid=org, trace="full"
    )
    assert status == 200
    steps = body["trace"]["full"]["steps"]
    assert body["trace"]["full"]["truncated"] is False
    assert len(steps) == 2 * LONG_MISSES + 1  # both spellings of each, then the winner
    assert steps[-1] == {
        "pattern": "16.*",
        "number_sid": winner["sid"],
        "spelling": "16505551234",
        "result": "match",
    }
    assert {step["result"] for step in steps[:-1]} == {"no_match"}


@pytest.mark.parametrize("value", ["", "verbose", "FULLL", "0"])
async def test_dry_run_refuses_an_unknown_trace_value(
    client: Client, gateway: dict[str, str], tenant: Tenant, value: str
) -> None:
    """trace must be default or full: anything else is a 400 naming trace."""
    status, body = await resolve(client, gateway, To="1000", trace=value)
    assert status == 400
    assert body["message"] == "Invalid trace: must be default or full."


async def test_every_dry_run_answer_is_the_documented_decision(
    client: Client,
    gateway: dict[str, str],
    admin: Tenant,
    make_account: MakeAccount,
    make_org: MakeOrg,
) -> None:
    """The answer and its trace (pattern stage run or skipped, default or full) match
    the OpenAPI document's Decision schema (schemathesis once found the trace documented
    as an array)."""
    import jsonschema_rs

    from router.api.openapi import document
    from router.api.routes import DOCUMENTED_MOUNTS

    schema = document(DOCUMENTED_MOUNTS)["components"]["schemas"]["Decision"]  # type: ignore[index]
    owner = await in_org(admin, make_account, await make_org("acme.test"))
    await provision_sip(client, owner, "16508.*")
    answers = [
        await resolve(client, gateway, To="16508251255", Domain="acme.test"),
        await resolve(client, gateway, To="16508251255", Domain="acme.test", trace="full"),
        await resolve(client, gateway, To="99", Domain="acme.test"),
        await resolve(client, gateway, To="DI"),
    ]
    assert [status for status, _ in answers] == [200, 200, 200, 200]
    assert [body["outcome"] for _, body in answers] == [
        "routed",
        "routed",
        "not_found",
        "not_found",
    ]
    for _, body in answers:
        jsonschema_rs.validate(schema, body)
    assert "full" in answers[1][1]["trace"]
    assert answers[3][1]["trace"]["pattern"] == skipped("no destination organization")
