"""USSD (SPEC 1, 3, 4): numbers' Ussd fields on the 2012-04-24 mounts, kind=ussd
applications, POST /v1/events/ussd routed exact then by patterns with fallback, and a
USSD session recorded like a call, so status events and callbacks work for it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.api.test_events import RcmlServer, serving_rcml
from tests.conftest import Tenant

Client = TestClient[web.Request, web.Application]
API = "/2012-04-24"


@pytest.fixture
async def receiver() -> AsyncIterator[RcmlServer]:
    """The tenant's web server: /ok... answers a document naming the path, /error 500."""
    async with serving_rcml() as server:
        yield server


async def provision(client: Client, owner: Tenant, status: int = 200, **data: str) -> Any:
    response = await client.post(
        f"{API}/Accounts/{owner.sid}/IncomingPhoneNumbers.json",
        data={"isSIP": "true", **data},
        headers=owner.auth,
    )
    body = await response.json()
    assert response.status == status, body
    return body


async def ussd(client: Client, gateway: dict[str, str], tenant: Tenant, **fields: str) -> Any:
    response = await client.post(
        "/v1/events/ussd",
        json={
            "From": "+15105559999",
            "DestinationOrganizationSid": tenant.account.organization_sid,
            **fields,
        },
        headers=gateway,
    )
    return response.status, await response.json()


async def test_ussd_pull_routes_to_the_numbers_ussd_url(
    client: Client, gateway: dict[str, str], tenant: Tenant, receiver: RcmlServer
) -> None:
    """*777# reaches the number's UssdUrl (not its VoiceUrl) with the call parameters."""
    number = await provision(
        client,
        tenant,
        PhoneNumber="*777#",
        UssdUrl=receiver.url("/ok/ussd"),
        VoiceUrl=receiver.url("/ok/voice"),
    )
    assert (number["ussd_url"], number["ussd_method"]) == (receiver.url("/ok/ussd"), "POST")

    status, body = await ussd(client, gateway, tenant, To="*777#")

    assert (status, body["outcome"], body["rcml_source"]) == (200, "routed", "primary")
    assert body["call_sid"].startswith("CA")
    assert body["match"]["how"] == "exact"
    assert body["target"]["url"] == receiver.url("/ok/ussd")
    assert "/ok/ussd" in body["rcml"]
    [hit] = receiver.received
    assert hit.path == "/ok/ussd"
    assert (hit.form["To"], hit.form["CallSid"]) == ("*777#", body["call_sid"])


async def test_ussd_pull_matches_patterns_and_falls_back(
    client: Client, gateway: dict[str, str], tenant: Tenant, receiver: RcmlServer
) -> None:
    """No exact number: the organization's patterns decide; a failing UssdUrl falls back to
    UssdFallbackUrl with ErrorCode."""
    await provision(
        client,
        tenant,
        PhoneNumber="*77.#",
        UssdUrl=receiver.url("/error"),
        UssdFallbackUrl=receiver.url("/ok/fallback"),
        UssdFallbackMethod="GET",
    )

    status, body = await ussd(client, gateway, tenant, To="*779#")

    assert (status, body["outcome"], body["rcml_source"]) == (200, "routed", "fallback")
    assert body["match"] == {"how": "pattern", "spelling": "*779#", "pattern": "*77.#"}
    assert [h.method for h in receiver.received] == ["POST", "GET"]
    assert "ErrorCode=11200" in receiver.received[1].url


async def test_ussd_application_wins_over_the_ussd_url(
    client: Client, gateway: dict[str, str], tenant: Tenant, receiver: RcmlServer
) -> None:
    response = await client.post(
        f"{API}/Accounts/{tenant.sid}/Applications.json",
        data={"FriendlyName": "menu", "RcmlUrl": receiver.url("/ok/app"), "Kind": "ussd"},
        headers=tenant.auth,
    )
    application = await response.json()
    assert application["kind"] == "ussd"
    number = await provision(
        client,
        tenant,
        PhoneNumber="*100#",
        UssdUrl=receiver.url("/ok/ussd"),
        UssdApplicationSid=application["sid"],
    )
    assert number["ussd_application_name"] == "menu"

    status, body = await ussd(client, gateway, tenant, To="*100#")

    assert (status, body["target"]["kind"], body["target"]["url"]) == (
        200,
        "application",
        receiver.url("/ok/app"),
    )
    response = await client.delete(
        f"{API}/Accounts/{tenant.sid}/Applications/{application['sid']}.json", headers=tenant.auth
    )
    assert response.status == 409  # in use by the number


async def test_voice_application_is_refused_as_ussd_application(
    client: Client, tenant: Tenant
) -> None:
    response = await client.post(
        f"{API}/Accounts/{tenant.sid}/Applications.json",
        data={"FriendlyName": "ivr", "RcmlUrl": "http://127.0.0.1:9/", "Kind": "voice"},
        headers=tenant.auth,
    )
    application = await response.json()

    body = await provision(
        client, tenant, 400, PhoneNumber="*100#", UssdApplicationSid=application["sid"]
    )

    assert body["code"] == 21100
    assert "UssdApplicationSid" in body["message"]


async def test_number_without_ussd_settings_answers_no_application(
    client: Client, gateway: dict[str, str], tenant: Tenant, receiver: RcmlServer
) -> None:
    await provision(client, tenant, PhoneNumber="*200#", VoiceUrl=receiver.url("/ok/voice"))

    status, body = await ussd(client, gateway, tenant, To="*200#")

    assert (status, body["outcome"]) == (404, "no_application")
    assert receiver.received == []


async def test_ussd_session_takes_status_events_and_fires_callbacks(
    client: Client, gateway: dict[str, str], tenant: Tenant, receiver: RcmlServer
) -> None:
    await provision(
        client,
        tenant,
        PhoneNumber="*777#",
        UssdUrl=receiver.url("/ok/ussd"),
        StatusCallback=receiver.url("/ok/status"),
    )
    status, body = await ussd(client, gateway, tenant, To="*777#")
    assert status == 200
    call_sid = body["call_sid"]

    response = await client.post(
        f"/v1/events/calls/{call_sid}/status", json={"CallStatus": "completed"}, headers=gateway
    )

    assert response.status == 202
    callback = await receiver.wait_for("/ok/status")
    assert (callback.form["CallSid"], callback.form["CallStatus"]) == (call_sid, "completed")
    assert (callback.form["SequenceNumber"], callback.form["To"]) == ("0", "*777#")
    # A repeated event with the same CallSid gets the same decision and records nothing new.
    again_status, again = await ussd(client, gateway, tenant, To="*777#", CallSid=call_sid)
    assert (again_status, again["call_sid"]) == (200, call_sid)
    assert [h.path for h in receiver.received].count("/ok/ussd") == 1


async def test_dry_run_resolves_the_ussd_channel(
    client: Client, gateway: dict[str, str], tenant: Tenant
) -> None:
    await provision(client, tenant, PhoneNumber="*5#", UssdUrl="http://127.0.0.1:9/u")
    response = await client.get(
        "/v1/routes/resolve",
        params={
            "To": "*5#",
            "Channel": "ussd",
            "DestinationOrganizationSid": tenant.account.organization_sid,
        },
        headers=gateway,
    )
    body = await response.json()
    assert (response.status, body["channel"], body["outcome"]) == (200, "ussd", "routed")
    assert body["target"]["url"] == "http://127.0.0.1:9/u"


async def test_ussd_fields_update_and_clear(client: Client, tenant: Tenant) -> None:
    number = await provision(client, tenant, PhoneNumber="*9#", UssdUrl="http://127.0.0.1:9/a")
    path = f"{API}/Accounts/{tenant.sid}/IncomingPhoneNumbers/{number['sid']}.json"

    response = await client.post(
        path, data={"UssdMethod": "get", "UssdUrl": ""}, headers=tenant.auth
    )
    body = await response.json()
    assert (body["ussd_method"], body["ussd_url"]) == ("GET", None)
    twilio = await client.get(
        f"/2010-04-01/Accounts/{tenant.sid}/IncomingPhoneNumbers/{number['sid']}.json",
        headers=tenant.auth,
    )
    assert not [k for k in await twilio.json() if k.startswith("ussd")]


BAD = [
    ("url-scheme", {"UssdUrl": "ftp://x.example"}, "UssdUrl", 21402),
    (
        "fallback-url",
        {"UssdUrl": "http://x.example", "UssdFallbackUrl": "nope"},
        "UssdFallbackUrl",
        21402,
    ),
    ("method", {"UssdMethod": "PUT"}, "UssdMethod", 21100),
    ("fallback-method", {"UssdFallbackMethod": "DELETE"}, "UssdFallbackMethod", 21100),
    ("fallback-without-primary", {"UssdFallbackUrl": "http://x.example"}, "UssdFallbackUrl", 21405),
    ("application-malformed", {"UssdApplicationSid": "AP123"}, "UssdApplicationSid", 21100),
    ("application-unknown", {"UssdApplicationSid": "AP" + "0" * 32}, "UssdApplicationSid", 21100),
]


@pytest.mark.parametrize(("data", "param", "code"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
async def test_bad_ussd_fields_are_400_and_create_nothing(
    client: Client, tenant: Tenant, data: dict[str, str], param: str, code: int
) -> None:
    body = await provision(client, tenant, 400, PhoneNumber="*1#", **data)

    assert body["code"] == code
    assert param in body["message"]
    response = await client.get(
        f"{API}/Accounts/{tenant.sid}/IncomingPhoneNumbers.json", headers=tenant.auth
    )
    assert (await response.json())["total"] == 0


@pytest.mark.parametrize(
    ("body", "param"),
    [({"From": "a"}, "To"), ({"To": "*1#"}, "From"), ({"From": "a", "To": "*1<#"}, "To")],
    ids=["missing-to", "missing-from", "bad-to"],
)
async def test_bad_ussd_event_is_400_naming_the_field(
    client: Client, gateway: dict[str, str], body: dict[str, str], param: str
) -> None:
    response = await client.post("/v1/events/ussd", json=body, headers=gateway)
    answer = await response.json()
    assert (response.status, answer["code"]) == (400, 21100)
    assert param in answer["message"]


async def test_ussd_event_needs_the_gateway_token(client: Client) -> None:
    response = await client.post("/v1/events/ussd", json={"From": "a", "To": "*1#"})
    assert response.status == 401
