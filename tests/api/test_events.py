"""The gateway event API (SPEC 4): POST /v1/events/calls, /messages and /refers, each outcome
with its status and answer envelope, idempotent repeats, call records, and organizations."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from multidict import CIMultiDictProxy

from router.domain import Organization
from router.store.postgres import Database
from tests.conftest import MakeAccount, MakeOrg, Tenant

API = "/2012-04-24"
DOMAIN = "acme.test"
OTHER_DOMAIN = "other.test"
CALL_SID = "CA" + "1" * 32
SMS_SID = "SM" + "2" * 32
FROM = "+15550001111"

Client = TestClient[web.Request, web.Application]


# --- a tenant's web application on 127.0.0.1 ---------------------------------------------


def rcml_for(path: str) -> str:
    """The document the RCML server answers on a good path: it names the path."""
    return f"<Response><Say>{path}</Say></Response>"


@dataclass(frozen=True)
class Received:
    """One request as the RCML server saw it; `url` is the full URL as requested."""

    method: str
    path: str
    url: str
    query: dict[str, str]
    form: dict[str, str]
    headers: CIMultiDictProxy[str]


@dataclass
class RcmlServer:
    """A loopback web application whose answer depends on the path.

    `/ok...` answers a good document naming the path; `/error` 500; `/missing` 404;
    `/malformed` a document that is not well-formed; `/wrong-root` XML rooted elsewhere;
    `/slow` answers only once released (or after 5 s).
    """

    port: int = 0
    received: list[Received] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    async def wait_for(self, path: str) -> Received:
        """The first request to `path`, waiting for it (at most 15 s: callbacks are
        delivered in the background)."""
        async with asyncio.timeout(15):
            # Polling the list handle() appends to keeps the server stateless otherwise.
            while not self.at(path):  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        return self.at(path)[0]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        form = {name: str(value) for name, value in (await request.post()).items()}
        url = f"{request.scheme}://{request.host}{request.raw_path}"
        self.received.append(
            Received(request.method, request.path, url, dict(request.query), form, request.headers)
        )
        return await self._answer(request.path)

    async def _answer(self, path: str) -> web.StreamResponse:
        xml = "text/xml"
        if path.startswith("/ok"):
            return web.Response(text=rcml_for(path), content_type=xml)
        if path == "/error":
            return web.Response(status=500, text="boom")
        if path == "/malformed":
            return web.Response(text="<Response><Say>hi</Response>", content_type=xml)
        if path == "/wrong-root":
            return web.Response(text="<Other><Say>hi</Say></Other>", content_type=xml)
        if path == "/slow":
            with suppress(TimeoutError):
                await asyncio.wait_for(self.release.wait(), 5)
            return web.Response(text=rcml_for(path), content_type=xml)
        return web.Response(status=404, text="not here")


@asynccontextmanager
async def serving_rcml() -> AsyncIterator[RcmlServer]:
    """An RcmlServer listening on 127.0.0.1 at a free port until the block ends."""
    server = RcmlServer()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", server.handle)
    test_server = TestServer(app, host="127.0.0.1")
    await test_server.start_server()
    server.port = test_server.port or 0
    try:
        yield server
    finally:
        server.release.set()  # let a stalled /slow handler finish so shutdown does not wait
        await test_server.close()


@pytest.fixture
async def rcml() -> AsyncIterator[RcmlServer]:
    """The tenant's RCML server."""
    async with serving_rcml() as server:
        yield server


# --- data and calls ----------------------------------------------------------------------


@pytest.fixture
async def org(make_org: MakeOrg) -> Organization:
    return await make_org(DOMAIN)


@pytest.fixture
async def other_org(make_org: MakeOrg) -> Organization:
    return await make_org(OTHER_DOMAIN)


@pytest.fixture
async def owner(admin: Tenant, make_account: MakeAccount, org: Organization) -> Tenant:
    """The tenant whose numbers the events reach, in organization acme.test."""
    return await make_account(admin, organization=org)


async def provision(client: Client, owner: Tenant, phone: str, **fields: str) -> dict[str, Any]:
    """A number of `owner` provisioned through the API (a SIP number unless isSIP says not)."""
    data = {"PhoneNumber": phone, "isSIP": "true", **fields}
    response = await client.post(
        f"{API}/Accounts/{owner.sid}/IncomingPhoneNumbers.json", data=data, headers=owner.auth
    )
    assert response.status == 200, await response.text()
    return dict(await response.json())


async def make_application(
    client: Client, owner: Tenant, rcml_url: str, kind: str = "voice"
) -> str:
    """The sid of a new application of `owner` whose RcmlUrl is `rcml_url`."""
    response = await client.post(
        f"{API}/Accounts/{owner.sid}/Applications.json",
        data={"FriendlyName": "app", "RcmlUrl": rcml_url, "Kind": kind},
        headers=owner.auth,
    )
    assert response.status in (200, 201), await response.text()
    return str((await response.json())["sid"])


async def post_event(
    client: Client,
    gateway: dict[str, str],
    route: str,
    body: dict[str, Any],
    *,
    form: bool = False,
    query: str = "",
) -> tuple[int, dict[str, Any]]:
    """POST an event as the gateway (JSON, or form when `form`); the status and JSON answer."""
    payload: dict[str, Any] = {"data": body} if form else {"json": body}
    response = await client.post(f"/v1/events/{route}{query}", headers=gateway, **payload)
    return response.status, dict(await response.json())


def call_body(to: str = "1234", **extra: Any) -> dict[str, Any]:
    return {"CallSid": CALL_SID, "From": FROM, "To": to, "Domain": DOMAIN, **extra}


def message_body(to: str = "1234", **extra: Any) -> dict[str, Any]:
    return {"SmsSid": SMS_SID, "From": FROM, "To": to, "Domain": DOMAIN, "Body": "hi", **extra}


def number_part(number: dict[str, Any]) -> dict[str, Any]:
    """The envelope's `number` for a provisioned number's API representation."""
    return {
        "sid": number["sid"],
        "account_sid": number["account_sid"],
        "phone_number": number["phone_number"],
        "organization_sid": number["organization_sid"],
    }


def exact(spelling: str) -> dict[str, Any]:
    return {"how": "exact", "spelling": spelling, "pattern": None}


def url_target(
    url: str,
    method: str = "POST",
    fallback_url: str | None = None,
    fallback_method: str | None = None,
) -> dict[str, Any]:
    return {
        "kind": "url",
        "application_sid": None,
        "url": url,
        "method": method,
        "fallback_url": fallback_url,
        "fallback_method": fallback_method,
    }


def unrouted(sid_key: str, sid: str, outcome: str, **parts: Any) -> dict[str, Any]:
    """An envelope without RCML: every key present, the unset ones null."""
    body: dict[str, Any] = {
        sid_key: sid,
        "outcome": outcome,
        "number": None,
        "match": None,
        "target": None,
        "rcml": None,
        "rcml_source": None,
    }
    body.update(parts)
    return body


async def call_rows(db: Database) -> list[dict[str, Any]]:
    async with db.connection() as conn:
        return [dict(r) for r in await conn.fetch("SELECT * FROM calls ORDER BY date_created")]


async def count(db: Database, table: str) -> int:
    async with db.connection() as conn:
        return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))  # noqa: S608 (fixed names)


async def set_in_progress(db: Database, call_sid: str) -> None:
    async with db.connection() as conn:
        await conn.execute("UPDATE calls SET status = 'in-progress' WHERE sid = $1", call_sid)


async def suspend(client: Client, admin: Tenant, account: Tenant) -> None:
    response = await client.post(
        f"{API}/Accounts/{account.sid}.json", data={"Status": "suspended"}, headers=admin.auth
    )
    assert response.status == 200, await response.text()


# --- calls: each outcome -------------------------------------------------------------------


@pytest.mark.parametrize("form", [False, True], ids=["json", "form"])
async def test_routed_call_answers_200_with_the_full_envelope(
    client: Client, gateway: dict[str, str], owner: Tenant, rcml: RcmlServer, form: bool
) -> None:
    """A call to a number with a VoiceUrl is routed: 200, number, match, target, the RCML."""
    number = await provision(client, owner, "1234", VoiceUrl=rcml.url("/ok/voice"))

    status, body = await post_event(client, gateway, "calls", call_body(), form=form)

    assert status == 200
    assert body == {
        "call_sid": CALL_SID,
        "outcome": "routed",
        "number": number_part(number),
        "match": exact("1234"),
        "target": url_target(rcml.url("/ok/voice")),
        "rcml": rcml_for("/ok/voice"),
        "rcml_source": "primary",
    }
    assert number["organization_sid"] == owner.account.organization_sid
    assert [r.method for r in rcml.at("/ok/voice")] == ["POST"]


async def test_unknown_number_answers_404_not_found(
    client: Client, gateway: dict[str, str], owner: Tenant, db: Database
) -> None:
    """A call to a number nobody has answers 404 not_found with an otherwise empty envelope."""
    status, body = await post_event(client, gateway, "calls", call_body("9999"))

    assert status == 404
    assert body == unrouted("call_sid", CALL_SID, "not_found")
    assert await count(db, "calls") == 0


async def test_number_without_url_or_application_answers_404_no_application(
    client: Client, gateway: dict[str, str], owner: Tenant, db: Database
) -> None:
    """A matched number with neither VoiceUrl nor VoiceApplicationSid answers no_application."""
    number = await provision(client, owner, "1234", SmsUrl="http://127.0.0.1:9/sms")

    status, body = await post_event(client, gateway, "calls", call_body())

    assert status == 404
    assert body == unrouted(
        "call_sid", CALL_SID, "no_application", number=number_part(number), match=exact("1234")
    )
    assert await count(db, "calls") == 0


async def test_sip_number_of_another_organization_answers_403_forbidden(
    client: Client,
    gateway: dict[str, str],
    owner: Tenant,
    other_org: Organization,
    rcml: RcmlServer,
    db: Database,
) -> None:
    """A SIP number dialed with another organization as destination answers 403 forbidden."""
    await provision(client, owner, "1234", VoiceUrl=rcml.url("/ok"))

    status, body = await post_event(client, gateway, "calls", call_body(Domain=OTHER_DOMAIN))

    assert status == 403
    assert body == unrouted("call_sid", CALL_SID, "forbidden")
    assert rcml.received == []
    assert await count(db, "calls") == 0


async def test_number_of_a_suspended_account_answers_403_account_inactive(
    client: Client,
    gateway: dict[str, str],
    admin: Tenant,
    owner: Tenant,
    rcml: RcmlServer,
    db: Database,
) -> None:
    """A number whose account is suspended answers 403 account_inactive and fetches nothing."""
    number = await provision(client, owner, "1234", VoiceUrl=rcml.url("/ok"))
    await suspend(client, admin, owner)

    status, body = await post_event(client, gateway, "calls", call_body())

    assert status == 403
    assert body == unrouted(
        "call_sid", CALL_SID, "account_inactive", number=number_part(number), match=exact("1234")
    )
    assert rcml.received == []
    assert await count(db, "calls") == 0


async def test_suspending_an_account_stops_routing_its_numbers_within_a_second(
    client: Client, gateway: dict[str, str], admin: Tenant, owner: Tenant, rcml: RcmlServer
) -> None:
    """A number routed once (so cached) answers account_inactive soon after a suspension."""
    await provision(client, owner, "1234", VoiceUrl=rcml.url("/ok"))
    status, _ = await post_event(client, gateway, "calls", call_body(CallSid=None))
    assert status == 200
    await suspend(client, admin, owner)

    deadline = asyncio.get_running_loop().time() + 1.0
    while True:
        status, body = await post_event(client, gateway, "calls", call_body(CallSid=None))
        if status != 200 or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.05)

    assert (status, body["outcome"]) == (403, "account_inactive")


async def test_primary_and_fallback_failing_answers_502_rcml_unavailable(
    client: Client, gateway: dict[str, str], owner: Tenant, rcml: RcmlServer, db: Database
) -> None:
    """When both the primary and the fallback URL fail the answer is 502 rcml_unavailable."""
    number = await provision(
        client,
        owner,
        "1234",
        VoiceUrl=rcml.url("/error"),
        VoiceFallbackUrl=rcml.url("/missing"),
    )

    status, body = await post_event(client, gateway, "calls", call_body())

    assert status == 502
    assert body == unrouted(
        "call_sid",
        CALL_SID,
        "rcml_unavailable",
        number=number_part(number),
        match=exact("1234"),
        target=url_target(rcml.url("/error"), "POST", rcml.url("/missing"), "POST"),
    )
    assert len(rcml.at("/error")) == 1
    assert len(rcml.at("/missing")) == 1
    assert await count(db, "calls") == 0


async def test_failing_primary_without_fallback_answers_502_rcml_unavailable(
    client: Client, gateway: dict[str, str], owner: Tenant, rcml: RcmlServer
) -> None:
    """A failing primary URL with no fallback configured answers 502 rcml_unavailable."""
    await provision(client, owner, "1234", VoiceUrl=rcml.url("/error"))

    status, body = await post_event(client, gateway, "calls", call_body())

    assert (status, body["outcome"], body["rcml"]) == (502, "rcml_unavailable", None)


# --- calls: the target -------------------------------------------------------------------


async def test_voice_application_wins_over_the_numbers_urls(
    client: Client, gateway: dict[str, str], owner: Tenant, rcml: RcmlServer
) -> None:
    """With VoiceApplicationSid set the application's RcmlUrl is fetched by POST, not VoiceUrl."""
    app_sid = await make_application(client, owner, rcml.url("/ok/app"))
    await provision(
        client,
        owner,
        "1234",
        VoiceApplicationSid=app_sid,
        VoiceUrl=rcml.url("/ok/number"),
        VoiceMethod="GET",
        VoiceFallbackUrl=rcml.url("/ok/fallback"),
    )

    status, body = await post_event(client, gateway, "calls", call_body())

    assert status == 200
    assert body["target"] == {
        "kind": "application",
        "application_sid": app_sid,
        "url": rcml.url("/ok/app"),
        "method": "POST",
        "fallback_url": None,
        "fallback_method": None,
    }
    assert (body["rcml"], body["rcml_source"]) == (rcml_for("/ok/app"), "primary")
    assert [r.method for r in rcml.received] == ["POST"]
    assert rcml.at("/ok/number") == []


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_numbers_voice_url_is_fetched_with_its_method(
    client: Client, gateway: dict[str, str], owner: Tenant, rcml: RcmlServer, method: str
) -> None:
    """Without an application the number's VoiceUrl is requested with VoiceMethod."""
    await provision(
        client,
        owner,
        "1234",
        VoiceUrl=rcml.url("/ok/voice"),
        VoiceMethod=method,
        VoiceFallbackUrl=rcml.url("/ok/fallback"),
        VoiceFallbackMethod="GET",
    )

    status, body = await post_event(client, gateway, "calls", call_body())

    assert status == 200
    assert body["target"] == url_target(
        rcml.url("/ok/voice"), method, rcml.url("/ok/fallback"), "GET"
    )
    assert [(r.method, r.path) for r in rcml.received] == [(method, "/ok/voice")]


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_numbers_voice_fallback_url_is_used_with_its_method_when_the_primary_fails(
    client: Client, gateway: dict[str, str], owner: Tenant, rcml: RcmlServer, method: str
) -> None:
    """A failing VoiceUrl sends the call to VoiceFallbackUrl with VoiceFallbackMethod."""
    await provision(
        client,
        owner,
        "1234",
        VoiceUrl=rcml.url("/error"),
        VoiceFallbackUrl=rcml.url("/ok/fallback"),
        VoiceFallbackMethod=method,
    )

    status, body = await post_event(client, gateway, "calls", call_body())

    assert status == 200
    assert (body["rcml"], body["rcml_source"]) == (rcml_for("/ok/fallback"), "fallback")
    assert body["target"] == url_target(
        rcml.url("/error"), "POST", rcml.url("/ok/fallback"), method
    )
    assert [(r.method, r.path) for r in rcml.received] == [
        ("POST", "/error"),
        (method, "/ok/fallback"),
    ]


async def test_pattern_number_routes_a_call_with_the_pattern_in_the_match(
    client: Client, gateway: dict[str, str], owner: Tenant, rcml: RcmlServer
) -> None:
    """A call reaching a pattern number reports how=pattern, the spelling and the pattern."""
    number = await provision(client, owner, "999...", VoiceUrl=rcml.url("/ok/pattern"))

    status, body = await post_event(client, gateway, "calls", call_body("999123"))

    assert status == 200
    assert body["number"] == number_part(number)
    assert body["match"] == {"how": "pattern", "spelling": "999123", "pattern": "999..."}
    assert body["rcml"] == rcml_for("/ok/pattern")


# --- ?fetch=false, generated sids, repeats, records --------------------------------------


@pytest.mark.parametrize(
    ("route", "fields", "body", "sid_key"),
    [
        ("calls", {"VoiceUrl": "/ok/voice"}, call_body(), "call_sid"),
        ("messages", {"SmsUrl": "/ok/sms"}, message_body(), "sms_sid"),
    ],
)
async def test_fetch_false_answers_the_decision_without_requesting_rcml(
    client: Client,
    gateway: dict[str, str],
    owner: Tenant,
    rcml: RcmlServer,
    route: str,
    fields: dict[str, str],
    body: dict[str, Any],
    sid_key: str,
) -> None:
    """With ?fetch=false the routed decision comes back with rcml null and nothing is fetched."""
    ((name, path),) = fields.items()
    number = await provision(client, owner, "1234", **{name: rcml.url(path)})

    status, answer = await post_event(client, gateway, route, body, query="?fetch=false")

    assert status == 200
    assert answer == {
        sid_key: body["CallSid" if route == "calls" else "SmsSid"],
        "outcome": "routed",
        "number": number_part(number),
        "match": exact("1234"),
        "target": url_target(rcml.url(path)),
        "rcml": None,
        "rcml_source": None,
    }
    assert rcml.received == []


async def test_call_sid_is_generated_when_absent(
    client: Client, gateway: dict[str, str], owner: Tenant, rcml: RcmlServer, db: Database
) -> None:
    """A call without CallSid gets CA + 32 lowercase hex, sent to the RCML server and recorded."""
    await provision(client, owner, "1234", VoiceUrl=rcml.url("/ok"))
    body = call_body()
    del body["CallSid"]

    status, answer = await post_event(client, gateway, "calls", body)

    assert status == 200
    assert re.fullmatch(r"CA[0-9a-f]{32}", answer["call_sid"])
    assert rcml.received[0].form["CallSid"] == answer["call_sid"]
    assert [row["sid"] for row in await call_rows(db)] == [answer["call_sid"]]


async def test_sms_sid_is_generated_when_absent(
    client: Client, gateway: dict[str, str], owner: Tenant, rcml: RcmlServer
) -> None:
    """A message without SmsSid gets SM + 32 lowercase hex, also sent to the RCML server."""
    await provision(client, owner, "1234", SmsUrl=rcml.url("/ok"))
    body = message_body()
    del body["SmsSid"]

    status, answer = await post_event(client, gateway, "messages", body)

    assert status == 200
    assert re.fullmatch(r"SM[0-9a-f]{32}", answer["sms_sid"])
    assert rcml.received[0].form["SmsSid"] == answer["sms_sid"]


async def test_two_calls_without_call_sid_get_different_sids(
    client: Client, gateway: dict[str, str], owner: Tenant, rcml: RcmlServer, db: Database
) -> None:
    """Each call without CallSid is a new call with its own generated sid."""
    await provision(client, owner, "1234", VoiceUrl=rcml.url("/ok"))
    body = call_body()
    del body["CallSid"]

    _, first = await post_event(client, gateway, "calls", body)
    _, second = await post_event(client, gateway, "calls", body)

    assert first["call_sid"] != second["call_sid"]
    assert await count(db, "calls") == 2


async def test_repeated_call_event_gets_the_same_decision_and_creates_nothing_twice(
    client: Client, gateway: dict[str, str], owner: Tenant, rcml: RcmlServer, db: Database
) -> None:
    """A CallSid posted again gets its first answer (even after the number changed), one row."""
    number = await provision(client, owner, "1234", VoiceUrl=rcml.url("/ok/first"))
    status, first = await post_event(client, gateway, "calls", call_body())
    assert status == 200
    response = await client.post(
        f"{API}/Accounts/{owner.sid}/IncomingPhoneNumbers/{number['sid']}.json",
        data={"VoiceUrl": rcml.url("/ok/second")},
        headers=owner.auth,
    )
    assert response.status == 200

    again_status, again = await post_event(client, gateway, "calls", call_body(), form=True)

    assert (again_status, again) == (200, first)
    assert await count(db, "calls") == 1
    assert [r.path for r in rcml.received] == ["/ok/first"]


async def test_concurrent_repeats_of_one_call_share_one_decision_and_one_record(
    client: Client, gateway: dict[str, str], owner: Tenant, rcml: RcmlServer, db: Database
) -> None:
    """Two deliveries of one CallSid racing each other get the same answer and one calls row."""
    await provision(client, owner, "1234", VoiceUrl=rcml.url("/ok"))

    answers = await asyncio.gather(
        *(post_event(client, gateway, "calls", call_body()) for _ in range(2))
    )

    assert answers[0] == answers[1]
    assert answers[0][0] == 200
    assert await count(db, "calls") == 1


async def test_repeated_message_event_gets_the_same_decision_and_creates_nothing_twice(
    client: Client, gateway: dict[str, str], owner: Tenant, rcml: RcmlServer, db: Database
) -> None:
    """An SmsSid posted again gets the first answer; one messages row, one RCML request."""
    await provision(client, owner, "1234", SmsUrl=rcml.url("/ok/sms"))

    first = await post_event(client, gateway, "messages", message_body())
    again = await post_event(client, gateway, "messages", message_body())

    assert first[0] == 200
    assert again == first
    assert await count(db, "messages") == 1
    assert len(rcml.received) == 1


async def test_routed_call_is_recorded_as_ringing(
    client: Client, gateway: dict[str, str], owner: Tenant, rcml: RcmlServer, db: Database
) -> None:
    """A routed call leaves one calls row: number, account, organization, from, to, ringing."""
    number = await provision(client, owner, "1234", VoiceUrl=rcml.url("/ok"))
    body = call_body(CallerName="Ada", ForwardedFrom="+15550002222", SipHeaders={"X-Tag": "7"})

    status, _ = await post_event(client, gateway, "calls", body)

    assert status == 200
    (row,) = await call_rows(db)
    assert {
        key: row[key]
        for key in (
            "sid",
            "number_sid",
            "account_sid",
            "organization_sid",
            "from_number",
            "to_number",
            "status",
            "caller_name",
            "forwarded_from",
        )
    } == {
        "sid": CALL_SID,
        "number_sid": number["sid"],
        "account_sid": owner.sid,
        "organization_sid": owner.account.organization_sid,
        "from_number": FROM,
        "to_number": "1234",
        "status": "ringing",
        "caller_name": "Ada",
        "forwarded_from": "+15550002222",
    }
    assert row["date_created"] is not None


@pytest.mark.parametrize(
    "fields",
    [
        {},  # nothing provisioned: not_found
        {"SmsUrl": "/ok"},  # no voice target: no_application
        {"VoiceUrl": "/error"},  # rcml_unavailable
    ],
    ids=["not_found", "no_application", "rcml_unavailable"],
)
async def test_unrouted_call_is_not_recorded(
    client: Client,
    gateway: dict[str, str],
    owner: Tenant,
    rcml: RcmlServer,
    db: Database,
    fields: dict[str, str],
) -> None:
    """A call that is not routed leaves no calls row, so a refer of it finds nothing."""
    if fields:
        await provision(client, owner, "1234", **{k: rcml.url(v) for k, v in fields.items()})

    status, _ = await post_event(client, gateway, "calls", call_body())
    refer_status, _ = await post_event(
        client, gateway, "refers", {"CallSid": CALL_SID, "ReferTarget": "5678"}
    )

    assert status in (404, 502)
    assert refer_status == 404
    assert await count(db, "calls") == 0


# --- messages ----------------------------------------------------------------------------


@pytest.mark.parametrize("form", [False, True], ids=["json", "form"])
async def test_routed_message_answers_200_with_the_full_envelope(
    client: Client, gateway: dict[str, str], owner: Tenant, rcml: RcmlServer, form: bool
) -> None:
    """A message to a number with an SmsUrl is routed with its SmsMethod and fallback."""
    number = await provision(
        client,
        owner,
        "1234",
        SmsUrl=rcml.url("/ok/sms"),
        SmsMethod="GET",
        SmsFallbackUrl=rcml.url("/ok/sms-fallback"),
        VoiceUrl=rcml.url("/ok/voice"),
    )

    status, body = await post_event(client, gateway, "messages", message_body(), form=form)

    assert status == 200
    assert body == {
        "sms_sid": SMS_SID,
        "outcome": "routed",
        "number": number_part(number),
        "match": exact("1234"),
        "target": url_target(rcml.url("/ok/sms"), "GET", rcml.url("/ok/sms-fallback"), "POST"),
        "rcml": rcml_for("/ok/sms"),
        "rcml_source": "primary",
    }
    assert [(r.method, r.path) for r in rcml.received] == [("GET", "/ok/sms")]


async def test_sms_application_wins_over_the_numbers_sms_url(
    client: Client, gateway: dict[str, str], owner: Tenant, rcml: RcmlServer
) -> None:
    """With SmsApplicationSid set the message goes to the application's RcmlUrl by POST."""
    app_sid = await make_application(client, owner, rcml.url("/ok/sms-app"), kind="sms")
    await provision(
        client,
        owner,
        "1234",
        SmsApplicationSid=app_sid,
        SmsUrl=rcml.url("/ok/sms"),
        SmsMethod="GET",
    )

    status, body = await post_event(client, gateway, "messages", message_body())

    assert status == 200
    assert (body["target"]["kind"], body["target"]["application_sid"]) == ("application", app_sid)
    assert [(r.method, r.path) for r in rcml.received] == [("POST", "/ok/sms-app")]


@pytest.mark.parametrize(
    ("fields", "outcome", "status"),
    [
        ({"VoiceUrl": "/ok"}, "no_application", 404),
        ({"SmsUrl": "/error"}, "rcml_unavailable", 502),
    ],
)
async def test_unrouted_messages_answer_with_the_envelope(
    client: Client,
    gateway: dict[str, str],
    owner: Tenant,
    rcml: RcmlServer,
    db: Database,
    fields: dict[str, str],
    outcome: str,
    status: int,
) -> None:
    """A message to a number without SMS target, or whose SMS URL fails, is answered, not stored."""
    await provision(client, owner, "1234", **{k: rcml.url(v) for k, v in fields.items()})

    got, body = await post_event(client, gateway, "messages", message_body())

    assert (got, body["sms_sid"], body["outcome"], body["rcml"]) == (status, SMS_SID, outcome, None)
    assert await count(db, "messages") == 0


async def test_messages_never_reach_pattern_numbers(
    client: Client, gateway: dict[str, str], owner: Tenant, rcml: RcmlServer
) -> None:
    """A pattern number routes calls but a message to the same string answers not_found."""
    await provision(client, owner, "999...", VoiceUrl=rcml.url("/ok"), SmsUrl=rcml.url("/ok/sms"))

    call_status, _ = await post_event(client, gateway, "calls", call_body("999123"))
    status, body = await post_event(client, gateway, "messages", message_body("999123"))

    assert call_status == 200
    assert (status, body) == (404, unrouted("sms_sid", SMS_SID, "not_found"))


# --- organizations -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "organization",
    ["sid", "domain", "domain_in_capitals"],
)
async def test_destination_is_given_by_organization_sid_or_domain(
    client: Client,
    gateway: dict[str, str],
    owner: Tenant,
    org: Organization,
    rcml: RcmlServer,
    organization: str,
) -> None:
    """A SIP number is reached with DestinationOrganizationSid or Domain (case-insensitive)."""
    await provision(client, owner, "1234", VoiceUrl=rcml.url("/ok"))
    body = call_body()
    del body["Domain"]
    if organization == "sid":
        body["DestinationOrganizationSid"] = org.sid
    else:
        body["Domain"] = DOMAIN.upper() if organization == "domain_in_capitals" else DOMAIN

    status, answer = await post_event(client, gateway, "calls", body)

    assert (status, answer["outcome"]) == (200, "routed")


async def test_sip_number_without_destination_answers_forbidden(
    client: Client, gateway: dict[str, str], owner: Tenant, rcml: RcmlServer
) -> None:
    """Without a destination only inventory numbers count: a SIP number is forbidden."""
    await provision(client, owner, "1234", VoiceUrl=rcml.url("/ok"))
    body = call_body()
    del body["Domain"]

    status, answer = await post_event(client, gateway, "calls", body)

    assert (status, answer["outcome"]) == (403, "forbidden")


@pytest.mark.parametrize(
    ("source", "status", "outcome"),
    [
        ({"SourceOrganizationSid": "own"}, 200, "routed"),
        ({"SourceDomain": DOMAIN}, 200, "routed"),
        ({"SourceOrganizationSid": "other"}, 403, "forbidden"),
        ({"SourceDomain": OTHER_DOMAIN}, 403, "forbidden"),
    ],
    ids=["sid-same", "domain-same", "sid-other", "domain-other"],
)
async def test_sip_number_is_reachable_only_from_its_own_organization(
    client: Client,
    gateway: dict[str, str],
    owner: Tenant,
    org: Organization,
    other_org: Organization,
    rcml: RcmlServer,
    source: dict[str, str],
    status: int,
    outcome: str,
) -> None:
    """The source organization, by sid or domain, must equal the destination for a SIP number."""
    await provision(client, owner, "1234", VoiceUrl=rcml.url("/ok"))
    sids = {"own": org.sid, "other": other_org.sid}
    given = {k: sids.get(v, v) for k, v in source.items()}

    got, answer = await post_event(client, gateway, "calls", call_body(**given))

    assert (got, answer["outcome"]) == (status, outcome)


@pytest.mark.parametrize(
    ("to", "organizations", "spelling"),
    [
        ("+15105550100", {}, "+15105550100"),
        ("15105550100", {}, "+15105550100"),
        ("+15105550100", {"Domain": DOMAIN, "SourceDomain": OTHER_DOMAIN}, "+15105550100"),
    ],
    ids=["no-organization", "without-plus", "from-another-organization"],
)
async def test_inventory_number_is_reachable_without_destination_and_across_organizations(
    client: Client,
    gateway: dict[str, str],
    owner: Tenant,
    other_org: Organization,
    rcml: RcmlServer,
    add_inventory: Any,
    to: str,
    organizations: dict[str, str],
    spelling: str,
) -> None:
    """An inventory DID is global: routed with no destination, and from another organization."""
    await add_inventory("+15105550100")
    number = await provision(client, owner, "+15105550100", isSIP="false", VoiceUrl=rcml.url("/ok"))
    body = {"CallSid": CALL_SID, "From": FROM, "To": to, **organizations}

    status, answer = await post_event(client, gateway, "calls", body)

    assert status == 200
    assert answer["number"] == number_part(number)
    assert answer["match"] == exact(spelling)


async def test_inventory_number_of_another_destination_organization_is_forbidden(
    client: Client,
    gateway: dict[str, str],
    owner: Tenant,
    other_org: Organization,
    rcml: RcmlServer,
    add_inventory: Any,
) -> None:
    """With a destination organization an inventory DID of another organization is forbidden."""
    await add_inventory("+15105550100")
    await provision(client, owner, "+15105550100", isSIP="false", VoiceUrl=rcml.url("/ok"))

    status, answer = await post_event(
        client, gateway, "calls", call_body("+15105550100", Domain=OTHER_DOMAIN)
    )

    assert (status, answer["outcome"]) == (403, "forbidden")


# --- refers ------------------------------------------------------------------------------


async def routed_call(
    client: Client,
    gateway: dict[str, str],
    db: Database,
    *,
    in_progress: bool = True,
    **extra: Any,
) -> None:
    """Route CALL_SID to 1234 and, unless told otherwise, mark it in progress."""
    status, body = await post_event(client, gateway, "calls", call_body(**extra))
    assert status == 200, body
    if in_progress:
        await set_in_progress(db, CALL_SID)


def refer_body(**extra: Any) -> dict[str, Any]:
    return {
        "CallSid": CALL_SID,
        "ReferTarget": "sip:5678@acme.test",
        "Transferor": "sip:1234@acme.test",
        "Transferee": "sip:alice@acme.test",
        **extra,
    }


@pytest.mark.parametrize("form", [False, True], ids=["json", "form"])
async def test_refer_of_a_call_in_progress_is_routed_by_the_numbers_refer_url(
    client: Client,
    gateway: dict[str, str],
    owner: Tenant,
    rcml: RcmlServer,
    db: Database,
    form: bool,
) -> None:
    """A refer uses the number's ReferUrl and ReferMethod, never the voice fallback."""
    number = await provision(
        client,
        owner,
        "1234",
        VoiceUrl=rcml.url("/ok/voice"),
        VoiceFallbackUrl=rcml.url("/ok/voice-fallback"),
        ReferUrl=rcml.url("/ok/refer"),
        ReferMethod="GET",
    )
    await routed_call(client, gateway, db)

    status, body = await post_event(client, gateway, "refers", refer_body(), form=form)

    assert status == 200
    assert body == {
        "call_sid": CALL_SID,
        "outcome": "routed",
        "number": number_part(number),
        "match": {"how": "call", "spelling": "1234", "pattern": None},
        "target": url_target(rcml.url("/ok/refer"), "GET"),
        "rcml": rcml_for("/ok/refer"),
        "rcml_source": "primary",
    }
    assert [(r.method, r.path) for r in rcml.received] == [
        ("POST", "/ok/voice"),
        ("GET", "/ok/refer"),
    ]


async def test_refer_application_wins_over_the_refer_url(
    client: Client, gateway: dict[str, str], owner: Tenant, rcml: RcmlServer, db: Database
) -> None:
    """With ReferApplicationSid set the refer goes to the application's RcmlUrl by POST."""
    app_sid = await make_application(client, owner, rcml.url("/ok/refer-app"))
    await provision(
        client,
        owner,
        "1234",
        VoiceUrl=rcml.url("/ok/voice"),
        ReferApplicationSid=app_sid,
        ReferUrl=rcml.url("/ok/refer"),
    )
    await routed_call(client, gateway, db)

    status, body = await post_event(client, gateway, "refers", refer_body())

    assert status == 200
    assert body["target"] == {
        "kind": "application",
        "application_sid": app_sid,
        "url": rcml.url("/ok/refer-app"),
        "method": "POST",
        "fallback_url": None,
        "fallback_method": None,
    }
    assert body["rcml"] == rcml_for("/ok/refer-app")
    assert rcml.at("/ok/refer") == []


async def test_refer_without_refer_url_or_application_answers_no_application(
    client: Client, gateway: dict[str, str], owner: Tenant, rcml: RcmlServer, db: Database
) -> None:
    """A number with neither ReferUrl nor ReferApplicationSid answers 404 no_application."""
    number = await provision(client, owner, "1234", VoiceUrl=rcml.url("/ok/voice"))
    await routed_call(client, gateway, db)

    status, body = await post_event(client, gateway, "refers", refer_body())

    assert status == 404
    assert body == unrouted(
        "call_sid",
        CALL_SID,
        "no_application",
        number=number_part(number),
        match={"how": "call", "spelling": "1234", "pattern": None},
    )


async def test_refer_with_failing_refer_url_has_no_fallback(
    client: Client, gateway: dict[str, str], owner: Tenant, rcml: RcmlServer, db: Database
) -> None:
    """A failing ReferUrl answers 502 even though the number has a voice fallback."""
    await provision(
        client,
        owner,
        "1234",
        VoiceUrl=rcml.url("/ok/voice"),
        VoiceFallbackUrl=rcml.url("/ok/voice-fallback"),
        ReferUrl=rcml.url("/error"),
    )
    await routed_call(client, gateway, db)

    status, body = await post_event(client, gateway, "refers", refer_body())

    assert (status, body["outcome"]) == (502, "rcml_unavailable")
    assert body["target"]["fallback_url"] is None
    assert rcml.at("/ok/voice-fallback") == []


async def test_refer_of_an_unknown_call_answers_404_naming_call_sid(
    client: Client, gateway: dict[str, str], owner: Tenant
) -> None:
    """A refer whose CallSid was never routed answers 404 with the error JSON naming CallSid."""
    status, body = await post_event(client, gateway, "refers", refer_body())

    assert status == 404
    assert set(body) == {"code", "message", "more_info", "status"}
    assert (body["code"], body["status"]) == (20404, 404)
    assert "CallSid" in body["message"] or CALL_SID in body["message"]


@pytest.mark.parametrize("call_status", ["ringing", "completed"])
async def test_refer_of_a_call_not_in_progress_answers_409(
    client: Client,
    gateway: dict[str, str],
    owner: Tenant,
    rcml: RcmlServer,
    db: Database,
    call_status: str,
) -> None:
    """Only a call in progress can be transferred: otherwise 409 naming the call."""
    await provision(client, owner, "1234", VoiceUrl=rcml.url("/ok"), ReferUrl=rcml.url("/ok/refer"))
    await routed_call(client, gateway, db, in_progress=False)
    async with db.connection() as conn:
        await conn.execute("UPDATE calls SET status = $2 WHERE sid = $1", CALL_SID, call_status)

    status, body = await post_event(client, gateway, "refers", refer_body())

    assert status == 409
    assert set(body) == {"code", "message", "more_info", "status"}
    assert body["status"] == 409
    assert CALL_SID in body["message"]
    assert rcml.at("/ok/refer") == []


async def test_refer_sends_the_voice_parameters_and_the_refer_fields(
    client: Client, gateway: dict[str, str], owner: Tenant, rcml: RcmlServer, db: Database
) -> None:
    """The refer's RCML request: the call's voice set plus ReferTarget, Transferor, Transferee."""
    await provision(client, owner, "1234", VoiceUrl=rcml.url("/ok"), ReferUrl=rcml.url("/ok/refer"))
    await routed_call(
        client,
        gateway,
        db,
        CallerName="Ada",
        ForwardedFrom="+15550002222",
        SipHeaders={"X-Tag": "7"},
    )

    status, _ = await post_event(client, gateway, "refers", refer_body())

    assert status == 200
    (request,) = rcml.at("/ok/refer")
    assert request.form == {
        "CallSid": CALL_SID,
        "AccountSid": owner.sid,
        "From": FROM,
        "To": "1234",
        "CallStatus": "in-progress",
        "ApiVersion": "2012-04-24",
        "Direction": "inbound",
        "CallerName": "Ada",
        "ForwardedFrom": "+15550002222",
        "SipHeader_X-Tag": "7",
        "ReferTarget": "sip:5678@acme.test",
        "Transferor": "sip:1234@acme.test",
        "Transferee": "sip:alice@acme.test",
    }
