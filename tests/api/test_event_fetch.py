"""RCML fetched for gateway events against real loopback servers (SPEC 5, 7): the exact request
parameters, the signatures checked by an independent implementation, and the fallback."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from router import config
from router.app import create_app
from router.store.postgres import Database
from tests.api.test_events import (
    CALL_SID,
    DOMAIN,
    FROM,
    SMS_SID,
    Client,
    RcmlServer,
    Received,
    count,
    post_event,
    provision,
    rcml_for,
    serving_rcml,
)
from tests.conftest import MakeAccount, MakeOrg, Tenant

API = "/2012-04-24"
FALLBACK = "/ok/fallback"
SIP_HEADERS = {"X-Custom": "a b&c=d", "P-Asserted-Identity": "<sip:alice@acme.test>"}


@pytest.fixture
async def rcml() -> AsyncIterator[RcmlServer]:
    async with serving_rcml() as server:
        yield server


@pytest.fixture
async def owner(admin: Tenant, make_account: MakeAccount, make_org: MakeOrg) -> Tenant:
    """The tenant of acme.test whose numbers the events reach."""
    return await make_account(admin, organization=await make_org(DOMAIN))


@pytest.fixture
async def fast_client(db: Database, settings: config.Settings) -> AsyncIterator[Client]:
    """A client of an app that gives up on an RCML URL after half a second."""
    app = create_app(config.replace(settings, rcml_total_timeout=0.5), database=db)
    async with TestClient(TestServer(app, host="127.0.0.1")) as test_client:
        yield test_client


async def signing_key(client: Client, owner: Tenant) -> str:
    """The account's signing key, as the Account resource shows it to the account."""
    response = await client.get(f"{API}/Accounts/{owner.sid}.json", headers=owner.auth)
    assert response.status == 200
    return str((await response.json())["signing_key"])


def twilio_signature(url: str, form: dict[str, str], key: str) -> str:
    """SPEC 7 written from scratch: base64 HMAC-SHA1 over the URL then sorted name+value pairs."""
    message = url
    for name in sorted(form):
        message += name + form[name]
    digest = hmac.new(key.encode("utf-8"), message.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def assert_signed(request: Received, key: str) -> None:
    """Both signature headers are present, equal, and what a Twilio validator computes."""
    twilio = request.headers.get("X-Twilio-Signature")
    restcomm = request.headers.get("X-Restcomm-Signature")
    assert twilio is not None
    assert restcomm is not None
    assert twilio == restcomm
    assert twilio == twilio_signature(request.url, request.form, key)
    assert twilio != twilio_signature(request.url, request.form, key + "x")


def voice_event(**extra: Any) -> dict[str, Any]:
    return {
        "CallSid": CALL_SID,
        "From": FROM,
        "To": "1234",
        "Domain": DOMAIN,
        "CallerName": "Ada Lovelace",
        "ForwardedFrom": "+15550002222",
        "SipHeaders": SIP_HEADERS,
        **extra,
    }


def voice_params(owner: Tenant) -> dict[str, str]:
    """What SPEC 5 says the RCML server receives for voice_event()."""
    return {
        "CallSid": CALL_SID,
        "AccountSid": owner.sid,
        "From": FROM,
        "To": "1234",
        "CallStatus": "ringing",
        "ApiVersion": "2012-04-24",
        "Direction": "inbound",
        "CallerName": "Ada Lovelace",
        "ForwardedFrom": "+15550002222",
        "SipHeader_X-Custom": "a b&c=d",
        "SipHeader_P-Asserted-Identity": "<sip:alice@acme.test>",
    }


def sms_event(**extra: Any) -> dict[str, Any]:
    return {
        "SmsSid": SMS_SID,
        "From": FROM,
        "To": "1234",
        "Domain": DOMAIN,
        "Body": "héllo & bye=1 +",
        **extra,
    }


def sms_params(owner: Tenant) -> dict[str, str]:
    return {
        "SmsSid": SMS_SID,
        "AccountSid": owner.sid,
        "From": FROM,
        "To": "1234",
        "Body": "héllo & bye=1 +",
        "ApiVersion": "2012-04-24",
    }


def closed_port_url() -> str:
    """A loopback URL on which nothing listens: connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/rcml"


# --- the request parameters --------------------------------------------------------------


async def test_voice_rcml_post_carries_exactly_the_spec_parameters_as_a_form(
    client: Client, gateway: dict[str, str], owner: Tenant, rcml: RcmlServer
) -> None:
    """A POST VoiceUrl gets the voice set, SipHeader_<name> included, as a form body."""
    await provision(client, owner, "1234", VoiceUrl=rcml.url("/ok/voice"))

    status, _ = await post_event(client, gateway, "calls", voice_event())

    assert status == 200
    (request,) = rcml.received
    assert request.method == "POST"
    assert request.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert request.form == voice_params(owner)
    assert request.query == {}


async def test_voice_rcml_get_carries_the_parameters_in_the_query_keeping_the_urls_own(
    client: Client, gateway: dict[str, str], owner: Tenant, rcml: RcmlServer
) -> None:
    """A GET VoiceUrl gets the voice set in its query string, after the URL's own parameters."""
    url = rcml.url("/ok/voice") + "?tenant=7&lang=en"
    await provision(client, owner, "1234", VoiceUrl=url, VoiceMethod="GET")

    status, _ = await post_event(client, gateway, "calls", voice_event())

    assert status == 200
    (request,) = rcml.received
    assert request.method == "GET"
    assert request.form == {}
    assert request.query == {"tenant": "7", "lang": "en", **voice_params(owner)}
    assert request.url.startswith(url + "&")


async def test_voice_rcml_request_without_optional_fields_has_the_required_set(
    client: Client, gateway: dict[str, str], owner: Tenant, rcml: RcmlServer
) -> None:
    """With no CallerName, ForwardedFrom or SIP headers the request carries the seven others."""
    await provision(client, owner, "1234", VoiceUrl=rcml.url("/ok/voice"))
    event = {"CallSid": CALL_SID, "From": FROM, "To": "1234", "Domain": DOMAIN}

    await post_event(client, gateway, "calls", event)

    (request,) = rcml.received
    assert request.form == {
        "CallSid": CALL_SID,
        "AccountSid": owner.sid,
        "From": FROM,
        "To": "1234",
        "CallStatus": "ringing",
        "ApiVersion": "2012-04-24",
        "Direction": "inbound",
    }


async def test_form_event_sip_header_fields_are_passed_as_sip_header_parameters(
    client: Client, gateway: dict[str, str], owner: Tenant, rcml: RcmlServer
) -> None:
    """A form event's SipHeader_<name> fields reach the RCML request under the same names."""
    await provision(client, owner, "1234", VoiceUrl=rcml.url("/ok/voice"))
    event = {
        "CallSid": CALL_SID,
        "From": FROM,
        "To": "1234",
        "Domain": DOMAIN,
        "CallerName": "Ada Lovelace",
        "ForwardedFrom": "+15550002222",
        **{f"SipHeader_{name}": value for name, value in SIP_HEADERS.items()},
    }

    status, _ = await post_event(client, gateway, "calls", event, form=True)

    assert status == 200
    assert rcml.received[0].form == voice_params(owner)


@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_sms_rcml_request_carries_exactly_the_spec_parameters(
    client: Client, gateway: dict[str, str], owner: Tenant, rcml: RcmlServer, method: str
) -> None:
    """An SmsUrl gets SmsSid, AccountSid, From, To, Body, ApiVersion as form or query."""
    await provision(client, owner, "1234", SmsUrl=rcml.url("/ok/sms"), SmsMethod=method)

    status, _ = await post_event(client, gateway, "messages", sms_event())

    assert status == 200
    (request,) = rcml.received
    assert request.method == method
    sent = request.form if method == "POST" else request.query
    unused = request.query if method == "POST" else request.form
    assert (sent, unused) == (sms_params(owner), {})


# --- signatures --------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "GET"])
@pytest.mark.parametrize("channel", ["calls", "messages"])
async def test_rcml_requests_are_signed_with_the_accounts_signing_key(
    client: Client,
    gateway: dict[str, str],
    owner: Tenant,
    rcml: RcmlServer,
    method: str,
    channel: str,
) -> None:
    """X-Twilio-Signature and X-Restcomm-Signature are equal and verify with the signing key."""
    url = rcml.url("/ok/signed") + "?tenant=7"
    if channel == "calls":
        await provision(client, owner, "1234", VoiceUrl=url, VoiceMethod=method)
        event = voice_event()
    else:
        await provision(client, owner, "1234", SmsUrl=url, SmsMethod=method)
        event = sms_event()

    status, _ = await post_event(client, gateway, channel, event)

    assert status == 200
    (request,) = rcml.received
    assert_signed(request, await signing_key(client, owner))


async def test_fallback_request_is_signed_over_its_parameters_with_the_error_fields(
    client: Client, gateway: dict[str, str], owner: Tenant, rcml: RcmlServer
) -> None:
    """The fallback request's signature covers ErrorCode and ErrorUrl and verifies."""
    await provision(
        client, owner, "1234", VoiceUrl=rcml.url("/error"), VoiceFallbackUrl=rcml.url(FALLBACK)
    )

    await post_event(client, gateway, "calls", voice_event())

    key = await signing_key(client, owner)
    primary, fallback = rcml.received
    assert_signed(primary, key)
    assert_signed(fallback, key)
    assert "ErrorCode" in fallback.form


async def test_rotated_signing_key_signs_the_next_requests(
    client: Client, gateway: dict[str, str], owner: Tenant, rcml: RcmlServer
) -> None:
    """After RotateSigningKey=true requests verify with the new key within a second."""
    await provision(client, owner, "1234", VoiceUrl=rcml.url("/ok/voice"))
    old_key = await signing_key(client, owner)
    await post_event(client, gateway, "calls", voice_event(CallSid=None))
    response = await client.post(
        f"{API}/Accounts/{owner.sid}.json", data={"RotateSigningKey": "true"}, headers=owner.auth
    )
    assert response.status == 200
    new_key = await signing_key(client, owner)
    assert new_key != old_key

    deadline = asyncio.get_running_loop().time() + 1.0
    while True:
        await post_event(client, gateway, "calls", voice_event(CallSid=None))
        last = rcml.received[-1]
        signed = last.headers["X-Twilio-Signature"]
        if signed == twilio_signature(last.url, last.form, new_key):
            break
        assert asyncio.get_running_loop().time() < deadline, "still signed with the old key"
        await asyncio.sleep(0.05)

    assert_signed(last, new_key)


# --- fallback ----------------------------------------------------------------------------

TRIGGERS = [
    ("connection-refused", None, 11200),
    ("timeout", "/slow", 11205),
    ("status-500", "/error", 11200),
    ("status-404", "/missing", 11200),
    ("malformed-xml", "/malformed", 12100),
    ("wrong-root", "/wrong-root", 12100),
]


@pytest.mark.parametrize(
    ("path", "error_code"), [t[1:] for t in TRIGGERS], ids=[t[0] for t in TRIGGERS]
)
async def test_failing_voice_url_falls_back_with_error_code_and_url(
    fast_client: Client,
    gateway: dict[str, str],
    owner: Tenant,
    rcml: RcmlServer,
    db: Database,
    path: str | None,
    error_code: int,
) -> None:
    """Each failure of the primary sends the fallback the voice set plus ErrorCode and ErrorUrl."""
    primary = closed_port_url() if path is None else rcml.url(path)
    await provision(
        fast_client, owner, "1234", VoiceUrl=primary, VoiceFallbackUrl=rcml.url(FALLBACK)
    )
    started = asyncio.get_running_loop().time()

    status, body = await post_event(fast_client, gateway, "calls", voice_event())

    assert asyncio.get_running_loop().time() - started < 3
    assert status == 200
    assert (body["outcome"], body["rcml_source"]) == ("routed", "fallback")
    assert body["rcml"] == rcml_for(FALLBACK)
    (fallback,) = rcml.at(FALLBACK)
    assert fallback.method == "POST"
    assert fallback.form == {
        **voice_params(owner),
        "ErrorCode": str(error_code),
        "ErrorUrl": primary,
    }
    assert await count(db, "calls") == 1


async def test_failing_sms_url_falls_back_by_get_with_error_fields_in_the_query(
    client: Client, gateway: dict[str, str], owner: Tenant, rcml: RcmlServer
) -> None:
    """An SMS fallback by GET receives the SMS set plus ErrorCode and ErrorUrl in its query."""
    await provision(
        client,
        owner,
        "1234",
        SmsUrl=rcml.url("/wrong-root"),
        SmsFallbackUrl=rcml.url(FALLBACK),
        SmsFallbackMethod="GET",
    )

    status, body = await post_event(client, gateway, "messages", sms_event())

    assert (status, body["rcml_source"]) == (200, "fallback")
    (fallback,) = rcml.at(FALLBACK)
    assert fallback.method == "GET"
    assert fallback.query == {
        **sms_params(owner),
        "ErrorCode": "12100",
        "ErrorUrl": rcml.url("/wrong-root"),
    }


@pytest.mark.parametrize(
    "fallback_path", [None, "/malformed", "/slow"], ids=["refused", "bad", "timeout"]
)
async def test_fallback_also_failing_answers_502_rcml_unavailable(
    fast_client: Client,
    gateway: dict[str, str],
    owner: Tenant,
    rcml: RcmlServer,
    db: Database,
    fallback_path: str | None,
) -> None:
    """When the fallback fails too the answer is 502 rcml_unavailable and no call is recorded."""
    fallback = closed_port_url() if fallback_path is None else rcml.url(fallback_path)
    await provision(
        fast_client, owner, "1234", VoiceUrl=rcml.url("/error"), VoiceFallbackUrl=fallback
    )

    status, body = await post_event(fast_client, gateway, "calls", voice_event())

    assert status == 502
    assert (body["outcome"], body["rcml"], body["rcml_source"]) == ("rcml_unavailable", None, None)
    assert body["target"]["fallback_url"] == fallback
    assert await count(db, "calls") == 0
