"""Bad input to the gateway event API (SPEC 4, 7, 8): every malformed event answers a SPEC 8
JSON error naming the parameter, never a 500, and records nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from router.domain import Organization
from router.store.postgres import Database
from tests.api.test_events import (
    CALL_SID,
    DOMAIN,
    FROM,
    Client,
    RcmlServer,
    count,
    provision,
    serving_rcml,
)
from tests.conftest import MakeAccount, MakeOrg, Tenant

UNKNOWN_ORG = "OR" + "0" * 32
ERROR_KEYS = {"code", "message", "more_info", "status"}
CODES = {400: 21100, 401: 20003, 413: 20413}
DROP = ...  # marks a field to leave out of the event


@pytest.fixture
async def rcml() -> AsyncIterator[RcmlServer]:
    async with serving_rcml() as server:
        yield server


@pytest.fixture
async def owner(admin: Tenant, make_account: MakeAccount, make_org: MakeOrg) -> Tenant:
    """A tenant of acme.test with a routable 1234, so that accepted bad input would be seen."""
    org: Organization = await make_org(DOMAIN)
    return await make_account(admin, organization=org)


@pytest.fixture
async def routable(client: Client, owner: Tenant, rcml: RcmlServer) -> RcmlServer:
    """1234 in acme.test answers voice and SMS with good RCML; returns the RCML server."""
    await provision(
        client, owner, "1234", VoiceUrl=rcml.url("/ok/voice"), SmsUrl=rcml.url("/ok/sms")
    )
    return rcml


async def assert_rejected(
    response: Any, status: int, param: str | None, db: Database, rcml: RcmlServer
) -> dict[str, Any]:
    """The answer is the SPEC 8 JSON error with this status naming `param`; nothing happened."""
    text = await response.text()
    assert response.status == status, text
    assert response.content_type == "application/json"
    body = orjson.loads(text)
    assert set(body) == ERROR_KEYS
    assert (body["status"], body["code"]) == (status, CODES[status])
    assert str(body["more_info"]).startswith("http")
    if param is not None:
        assert param in body["message"], body["message"]
    assert await count(db, "calls") == 0
    assert await count(db, "messages") == 0
    assert rcml.received == []
    return dict(body)


def call(**fields: Any) -> dict[str, Any]:
    """A valid call event to 1234 in acme.test, `fields` replacing keys or removing them (DROP)."""
    body = {"CallSid": CALL_SID, "From": FROM, "To": "1234", "Domain": DOMAIN, **fields}
    return {k: v for k, v in body.items() if v is not DROP}


BAD_CALLS = [
    # (id, fields, param)
    ("missing-from", {"From": DROP}, "From"),
    ("empty-from", {"From": ""}, "From"),
    ("missing-to", {"To": DROP}, "To"),
    ("empty-to", {"To": ""}, "To"),
    ("null-to", {"To": None}, "To"),
    (
        "unknown-destination-sid",
        {"Domain": DROP, "DestinationOrganizationSid": UNKNOWN_ORG},
        "DestinationOrganizationSid",
    ),
    ("unknown-source-sid", {"SourceOrganizationSid": UNKNOWN_ORG}, "SourceOrganizationSid"),
    (
        "malformed-destination-sid",
        {"Domain": DROP, "DestinationOrganizationSid": "OR123"},
        "DestinationOrganizationSid",
    ),
    (
        "destination-sid-wrong-prefix",
        {"DestinationOrganizationSid": "AC" + "0" * 32},
        "DestinationOrganizationSid",
    ),
    (
        "destination-sid-uppercase",
        {"DestinationOrganizationSid": "OR" + "A" * 32},
        "DestinationOrganizationSid",
    ),
    ("malformed-source-sid", {"SourceOrganizationSid": "ORxyz"}, "SourceOrganizationSid"),
    ("to-with-spaces", {"To": "12 34"}, "To"),
    ("to-script", {"To": "<script>"}, "To"),
    ("to-65-characters", {"To": "1" * 65}, "To"),
    ("to-nul", {"To": "12\x0034"}, "To"),
    ("to-newline", {"To": "12\n34"}, "To"),
    ("to-delete", {"To": "12\x7f34"}, "To"),
    ("to-non-ascii", {"To": "1234é"}, "To"),
    ("to-fullwidth-digits", {"To": "１２３４"}, "To"),
    ("to-sql", {"To": "1234';DROP TABLE calls;--"}, "To"),
    ("to-integer", {"To": 5}, "To"),
    ("to-float", {"To": 1234.0}, "To"),
    ("to-boolean", {"To": True}, "To"),
    ("to-list", {"To": ["1234"]}, "To"),
    ("to-object", {"To": {"n": "1234"}}, "To"),
    ("from-integer", {"From": 5}, "From"),
    ("from-control", {"From": "+1555\x01"}, "From"),
    ("from-huge", {"From": "1" * 10_000}, "From"),
    ("caller-name-list", {"CallerName": ["Ada"]}, "CallerName"),
    ("caller-name-too-long", {"CallerName": "A" * 257}, "CallerName"),
    ("forwarded-from-control", {"ForwardedFrom": "+1\r\n555"}, "ForwardedFrom"),
    ("domain-integer", {"Domain": 5}, "Domain"),
    ("sip-headers-string", {"SipHeaders": "x"}, "SipHeaders"),
    ("sip-headers-list", {"SipHeaders": ["X-A: 1"]}, "SipHeaders"),
    ("sip-header-integer-value", {"SipHeaders": {"X-A": 5}}, "SipHeaders"),
    ("sip-header-object-value", {"SipHeaders": {"X-A": {"b": "c"}}}, "SipHeaders"),
    ("sip-header-value-control", {"SipHeaders": {"X-A": "a\r\nInjected: 1"}}, "SipHeaders"),
    ("sip-header-value-too-long", {"SipHeaders": {"X-A": "a" * 1025}}, "SipHeaders"),
    ("sip-header-bad-name", {"SipHeaders": {"X A": "1"}}, "SipHeaders"),
    ("sip-header-empty-name", {"SipHeaders": {"": "1"}}, "SipHeaders"),
    ("sip-headers-too-many", {"SipHeaders": {f"X-{i}": "1" for i in range(51)}}, "SipHeaders"),
    ("call-sid-short", {"CallSid": "CA123"}, "CallSid"),
    ("call-sid-uppercase", {"CallSid": "CA" + "A" * 32}, "CallSid"),
    ("call-sid-wrong-prefix", {"CallSid": "SM" + "1" * 32}, "CallSid"),
    ("call-sid-integer", {"CallSid": 5}, "CallSid"),
]


@pytest.mark.parametrize(
    ("fields", "param"), [case[1:] for case in BAD_CALLS], ids=[case[0] for case in BAD_CALLS]
)
async def test_bad_call_event_answers_400_naming_the_field(
    client: Client,
    gateway: dict[str, str],
    routable: RcmlServer,
    db: Database,
    fields: dict[str, Any],
    param: str,
) -> None:
    """A call event with a missing, malformed or unknown field answers 400 naming it."""
    response = await client.post("/v1/events/calls", json=call(**fields), headers=gateway)

    await assert_rejected(response, 400, param, db, routable)


BAD_MESSAGES = [
    ("missing-from", {"From": DROP}, "From"),
    ("missing-to", {"To": DROP}, "To"),
    ("to-script", {"To": "<script>"}, "To"),
    ("body-integer", {"Body": 5}, "Body"),
    ("body-too-long", {"Body": "a" * 4097}, "Body"),
    ("body-control", {"Body": "a\x00b"}, "Body"),
    ("sms-sid-malformed", {"SmsSid": "SM123"}, "SmsSid"),
    ("sms-sid-call-prefix", {"SmsSid": CALL_SID}, "SmsSid"),
]


@pytest.mark.parametrize(
    ("fields", "param"),
    [case[1:] for case in BAD_MESSAGES],
    ids=[case[0] for case in BAD_MESSAGES],
)
async def test_bad_message_event_answers_400_naming_the_field(
    client: Client,
    gateway: dict[str, str],
    routable: RcmlServer,
    db: Database,
    fields: dict[str, Any],
    param: str,
) -> None:
    """A message event with a missing or malformed field answers 400 naming it."""
    body = call(CallSid=DROP, SmsSid="SM" + "2" * 32, Body="hi")
    body.update(fields)
    body = {k: v for k, v in body.items() if v is not DROP}

    response = await client.post("/v1/events/messages", json=body, headers=gateway)

    await assert_rejected(response, 400, param, db, routable)


BAD_REFERS = [
    ("missing-call-sid", {"CallSid": DROP}, "CallSid"),
    ("malformed-call-sid", {"CallSid": "CA-1"}, "CallSid"),
    ("missing-refer-target", {"ReferTarget": DROP}, "ReferTarget"),
    ("refer-target-integer", {"ReferTarget": 5}, "ReferTarget"),
    ("transferor-control", {"Transferor": "a\x00"}, "Transferor"),
]


@pytest.mark.parametrize(
    ("fields", "param"), [case[1:] for case in BAD_REFERS], ids=[case[0] for case in BAD_REFERS]
)
async def test_bad_refer_event_answers_400_naming_the_field(
    client: Client,
    gateway: dict[str, str],
    routable: RcmlServer,
    db: Database,
    fields: dict[str, Any],
    param: str,
) -> None:
    """A refer event with a missing or malformed field answers 400 naming it."""
    body: dict[str, Any] = {"CallSid": CALL_SID, "ReferTarget": "5678", **fields}
    body = {k: v for k, v in body.items() if v is not DROP}

    response = await client.post("/v1/events/refers", json=body, headers=gateway)

    await assert_rejected(response, 400, param, db, routable)


BAD_FORMS = [
    ("missing-from", b"To=1234&Domain=acme.test", "From"),
    ("to-with-spaces", b"From=%2B1555&To=12+34&Domain=acme.test", "To"),
    ("to-script", b"From=%2B1555&To=%3Cscript%3E&Domain=acme.test", "To"),
    ("to-nul", b"From=%2B1555&To=12%0034&Domain=acme.test", "To"),
    ("to-twice", b"From=%2B1555&To=1234&To=5678&Domain=acme.test", "To"),
    (
        "sip-header-bad-name",
        b"From=%2B1555&To=1234&Domain=acme.test&SipHeader_X%20A=1",
        "SipHeaders",
    ),
    ("call-sid-malformed", b"From=%2B1555&To=1234&Domain=acme.test&CallSid=CA1", "CallSid"),
    ("bad-utf8-escape", b"From=%2B1555&To=12%FF&Domain=acme.test", None),
    ("bad-utf8-raw", b"From=%2B1555&To=12\xff&Domain=acme.test", None),
]


@pytest.mark.parametrize(
    ("raw", "param"), [case[1:] for case in BAD_FORMS], ids=[case[0] for case in BAD_FORMS]
)
async def test_bad_form_call_event_answers_400(
    client: Client,
    gateway: dict[str, str],
    routable: RcmlServer,
    db: Database,
    raw: bytes,
    param: str | None,
) -> None:
    """A form call event with a bad field (or bad encoding) answers 400, naming the field."""
    response = await client.post(
        "/v1/events/calls",
        data=raw,
        headers={**gateway, "Content-Type": "application/x-www-form-urlencoded"},
    )

    await assert_rejected(response, 400, param, db, routable)


BAD_JSON = [
    ("invalid-json", b'{"From": "+1555", "To": ', "JSON"),
    ("json-array", b'[{"From": "+1555", "To": "1234"}]', "object"),
    ("json-string", b'"From=+1555&To=1234"', "object"),
    ("json-number", b"1234", "object"),
    ("json-bad-utf8", b'{"From": "+1555", "To": "12\xff34", "Domain": "acme.test"}', None),
    ("json-trailing-garbage", b'{"From": "+1555", "To": "1234"} x', "JSON"),
]


@pytest.mark.parametrize(
    ("raw", "mentions"), [case[1:] for case in BAD_JSON], ids=[case[0] for case in BAD_JSON]
)
@pytest.mark.parametrize("route", ["calls", "messages", "refers"])
async def test_body_that_is_not_a_json_object_answers_400(
    client: Client,
    gateway: dict[str, str],
    routable: RcmlServer,
    db: Database,
    raw: bytes,
    mentions: str | None,
    route: str,
) -> None:
    """A JSON body that does not parse, or is not an object, answers 400 saying what is accepted."""
    response = await client.post(
        f"/v1/events/{route}",
        data=raw,
        headers={**gateway, "Content-Type": "application/json"},
    )

    await assert_rejected(response, 400, mentions, db, routable)


@pytest.mark.parametrize(
    ("size", "content_type"),
    [
        (1024 * 1024, "application/json"),
        (1024 * 1024, "application/x-www-form-urlencoded"),
        (64 * 1024 + 1, "application/json"),
        (64 * 1024 + 1, "application/x-www-form-urlencoded"),
    ],
    ids=["1MiB-json", "1MiB-form", "64KiB+1-json", "64KiB+1-form"],
)
async def test_body_over_64_kib_answers_413(
    client: Client,
    gateway: dict[str, str],
    routable: RcmlServer,
    db: Database,
    size: int,
    content_type: str,
) -> None:
    """An event body over the 64 KiB limit answers 413, however it is encoded."""
    if content_type == "application/json":
        prefix = b'{"From": "+1555", "To": "1234", "Domain": "acme.test", "CallerName": "'
        raw = prefix + b"a" * (size - len(prefix) - 2) + b'"}'
    else:
        prefix = b"From=%2B1555&To=1234&Domain=acme.test&CallerName="
        raw = prefix + b"a" * (size - len(prefix))
    assert len(raw) == size

    response = await client.post(
        "/v1/events/calls", data=raw, headers={**gateway, "Content-Type": content_type}
    )

    await assert_rejected(response, 413, None, db, routable)


async def test_body_of_exactly_64_kib_is_read(
    client: Client, gateway: dict[str, str], routable: RcmlServer, db: Database
) -> None:
    """A body of exactly 64 KiB is within the limit: it is read and judged on its fields."""
    prefix = b'{"From": "+1555", "To": "1234", "Domain": "acme.test", "Padding": "'
    raw = prefix + b"a" * (64 * 1024 - len(prefix) - 2) + b'"}'

    response = await client.post(
        "/v1/events/calls",
        data=raw,
        headers={**gateway, "Content-Type": "application/json"},
    )

    assert response.status == 200
    assert await count(db, "calls") == 1


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer wrong-token",
        "Bearer ",
        "Bearer",
        "Token test-gateway-token-0123456789abcdef",
        "tenant-basic",
    ],
    ids=["none", "wrong-bearer", "empty-bearer", "bare-scheme", "other-scheme", "tenant-basic"],
)
@pytest.mark.parametrize("route", ["calls", "messages", "refers"])
async def test_event_without_the_gateway_token_answers_401(
    client: Client,
    owner: Tenant,
    routable: RcmlServer,
    db: Database,
    authorization: str | None,
    route: str,
) -> None:
    """Only the gateway's bearer token opens the event routes; tenants' Basic auth does not."""
    headers: dict[str, str] = {}
    if authorization == "tenant-basic":
        headers = owner.auth
    elif authorization is not None:
        headers = {"Authorization": authorization}
    body = call(SmsSid="SM" + "2" * 32, ReferTarget="5678")

    response = await client.post(f"/v1/events/{route}", json=body, headers=headers)

    answer = await assert_rejected(response, 401, None, db, routable)
    assert "Authorization" in answer["message"] or "Bearer" in answer["message"]


async def test_unauthenticated_bad_body_answers_401_not_400(
    client: Client, routable: RcmlServer, db: Database
) -> None:
    """Authentication is checked before the body is read: garbage without a token is a 401."""
    response = await client.post(
        "/v1/events/calls", data=b"[", headers={"Content-Type": "application/json"}
    )

    await assert_rejected(response, 401, None, db, routable)


async def test_unknown_parameters_are_ignored(
    client: Client, gateway: dict[str, str], routable: RcmlServer, db: Database
) -> None:
    """Parameters the event API does not know neither fail the event nor reach the RCML request."""
    body = call(Extra="x", Nested={"a": [1, 2]}, Number=5)

    response = await client.post("/v1/events/calls", json=body, headers=gateway)

    assert response.status == 200
    assert await count(db, "calls") == 1
    (request,) = routable.received
    assert not {"Extra", "Nested", "Number"} & set(request.form)
