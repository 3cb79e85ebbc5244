"""Call status events (SPEC 4 and 6): POST /v1/events/calls/{CallSid}/status answers 202
once the callback is durably queued, fires a status once, numbers callbacks from 0 without
gaps, and rejects bad input with a SPEC 8 error without writing anything."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from router import config
from router.app import create_app
from router.store.postgres import Database
from tests.conftest import MakeAccount, Tenant

API = "/2012-04-24"
FROM = "+15550001111"
DEAD_URL = "http://127.0.0.1:9"  # the discard port: nothing is ever sent there in these tests


# --- helpers shared with the delivery and cluster tests ------------------------------------


def fast_settings(settings: config.Settings, **changes: Any) -> config.Settings:
    """Settings with a dispatcher fast enough for tests (overridable)."""
    values: dict[str, Any] = {
        "callbacks_base_delay_seconds": 0.05,
        "callbacks_max_delay_seconds": 0.5,
        "callbacks_max_attempts": 3,
        "callbacks_poll_interval_seconds": 0.1,
        "callbacks_lease_seconds": 2.0,
        "callbacks_timeout_seconds": 1.5,
        **changes,
    }
    return config.replace(settings, **values)


async def provision(client: TestClient, owner: Tenant, phone: str, **fields: str) -> dict[str, Any]:
    """A SIP number of `owner` provisioned through the API with the given Restcomm fields."""
    response = await client.post(
        f"{API}/Accounts/{owner.sid}/IncomingPhoneNumbers.json",
        data={"PhoneNumber": phone, "isSIP": "true", "VoiceUrl": f"{DEAD_URL}/voice", **fields},
        headers=owner.auth,
    )
    assert response.status == 200, await response.text()
    return dict(await response.json())


async def route_call(
    client: TestClient, gateway: dict[str, str], owner: Tenant, to: str, **extra: Any
) -> str:
    """Route a call to `to` in the owner's organization (no RCML fetch); its CallSid."""
    body = {
        "From": FROM,
        "To": to,
        "DestinationOrganizationSid": owner.account.organization_sid,
        **extra,
    }
    response = await client.post("/v1/events/calls?fetch=false", json=body, headers=gateway)
    assert response.status == 200, await response.text()
    answer = await response.json()
    assert answer["outcome"] == "routed", answer
    return str(answer["call_sid"])


async def post_status(
    client: TestClient, gateway: dict[str, str], call_sid: str, status: str, **fields: Any
) -> tuple[int, dict[str, Any]]:
    """Report a status as the gateway; the HTTP status and JSON answer."""
    response = await client.post(
        f"/v1/events/calls/{call_sid}/status",
        json={"CallStatus": status, **fields},
        headers=gateway,
    )
    return response.status, dict(await response.json())


async def callback_rows(db: Database, call_sid: str | None = None) -> list[dict[str, Any]]:
    """Stored callbacks (of one call, or all), by call and SequenceNumber."""
    async with db.connection() as conn:
        found = await conn.fetch(
            "SELECT * FROM callbacks WHERE $1::text IS NULL OR call_sid = $1"
            " ORDER BY call_sid, sequence_number",
            call_sid,
        )
    rows = [dict(r) for r in found]
    for row in rows:
        if isinstance(row["params"], str):
            row["params"] = json.loads(row["params"])
    return rows


# --- local fixtures ------------------------------------------------------------------------


@pytest.fixture
async def api(db: Database, settings: config.Settings) -> AsyncIterator[TestClient]:
    """The service without a dispatcher: queued callbacks stay exactly as accepted."""
    app = create_app(fast_settings(settings, callbacks_dispatcher_enabled=False), database=db)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


@pytest.fixture
async def call_sid(api: TestClient, gateway: dict[str, str], tenant: Tenant) -> str:
    """A routed call to a number with a StatusCallback."""
    await provision(api, tenant, "1234", StatusCallback=f"{DEAD_URL}/status")
    return await route_call(api, gateway, tenant, "1234")


async def count(db: Database, sql: str, *args: Any) -> int:
    async with db.connection() as conn:
        return int(await conn.fetchval(sql, *args))


async def call_status(db: Database, sid: str) -> str:
    async with db.connection() as conn:
        return str(await conn.fetchval("SELECT status FROM calls WHERE sid = $1", sid))


async def events_of(db: Database, sid: str) -> list[str]:
    async with db.connection() as conn:
        found = await conn.fetch(
            "SELECT call_status FROM call_events WHERE call_sid = $1 ORDER BY id", sid
        )
    return [r["call_status"] for r in found]


def assert_error(body: dict[str, Any], status: int, code: int, param: str | None) -> None:
    assert body["status"] == status, body
    assert body["code"] == code, body
    assert body["more_info"]
    if param is not None:
        assert param in body["message"], body


# --- acceptance ----------------------------------------------------------------------------


@pytest.mark.parametrize("form", [False, True], ids=["json", "form"])
async def test_status_answers_202_after_its_callback_is_committed(
    api: TestClient, gateway: dict[str, str], db: Database, call_sid: str, form: bool
) -> None:
    """The 202 comes after commit: another connection sees the event, the new call status and
    the pending callback with SequenceNumber 0 as soon as the answer arrives."""
    payload: dict[str, Any] = {"CallStatus": "in-progress"}
    response = await api.post(
        f"/v1/events/calls/{call_sid}/status",
        headers=gateway,
        **({"data": payload} if form else {"json": payload}),
    )
    assert response.status == 202, await response.text()
    assert await response.json() == {
        "call_sid": call_sid,
        "call_status": "in-progress",
        "duplicate": False,
    }
    rows = await callback_rows(db, call_sid)
    assert [(r["sequence_number"], r["call_status"], r["state"]) for r in rows] == [
        (0, "in-progress", "pending")
    ]
    assert rows[0]["url"] == f"{DEAD_URL}/status"
    assert rows[0]["method"] == "POST"
    assert rows[0]["params"]["CallStatus"] == "in-progress"
    assert rows[0]["params"]["SequenceNumber"] == "0"
    assert rows[0]["delivery_id"]
    assert await events_of(db, call_sid) == ["in-progress"]
    assert await call_status(db, call_sid) == "in-progress"


async def test_status_callback_method_is_stored_with_the_callback(
    api: TestClient, gateway: dict[str, str], db: Database, tenant: Tenant
) -> None:
    """A number's StatusCallbackMethod GET is the method of its queued callbacks."""
    await provision(api, tenant, "1234", StatusCallback=f"{DEAD_URL}/s", StatusCallbackMethod="GET")
    sid = await route_call(api, gateway, tenant, "1234")
    assert (await post_status(api, gateway, sid, "ringing"))[0] == 202
    assert [r["method"] for r in await callback_rows(db, sid)] == ["GET"]


async def test_optional_fields_are_queued_with_the_callback(
    api: TestClient, gateway: dict[str, str], db: Database, call_sid: str
) -> None:
    """OutboundCallSid, ForwardedFrom, CallDuration, ReferTarget, Transferor, Transferee
    reported with the status end up in the queued parameters."""
    fields = {
        "OutboundCallSid": "CA" + "e" * 32,
        "ForwardedFrom": "+15550002222",
        "CallDuration": 42,
        "ReferTarget": "sip:bob@example.test",
        "Transferor": "alice",
        "Transferee": "carol",
    }
    status, _ = await post_status(api, gateway, call_sid, "completed", **fields)
    assert status == 202
    params = (await callback_rows(db, call_sid))[0]["params"]
    assert {name: params[name] for name in fields} == {k: str(v) for k, v in fields.items()}


async def test_same_status_twice_is_fired_once(
    api: TestClient, gateway: dict[str, str], db: Database, call_sid: str
) -> None:
    """A gateway retry of a status answers 202 with duplicate true and queues nothing more."""
    first = await post_status(api, gateway, call_sid, "ringing")
    second = await post_status(api, gateway, call_sid, "ringing")
    assert first == (202, {"call_sid": call_sid, "call_status": "ringing", "duplicate": False})
    assert second == (202, {"call_sid": call_sid, "call_status": "ringing", "duplicate": True})
    assert len(await callback_rows(db, call_sid)) == 1
    assert await events_of(db, call_sid) == ["ringing"]


async def test_same_status_posted_concurrently_is_fired_once(
    api: TestClient, gateway: dict[str, str], db: Database, call_sid: str
) -> None:
    """Eight simultaneous reports of one status: one accepted, seven duplicates, one callback."""
    answers = await asyncio.gather(
        *(post_status(api, gateway, call_sid, "in-progress") for _ in range(8))
    )
    assert {status for status, _ in answers} == {202}
    assert sorted(body["duplicate"] for _, body in answers) == [False] + [True] * 7
    rows = await callback_rows(db, call_sid)
    assert [r["sequence_number"] for r in rows] == [0]


async def test_sequence_numbers_count_from_zero_without_gaps(
    api: TestClient, gateway: dict[str, str], db: Database, tenant: Tenant
) -> None:
    """Each call's callbacks are numbered 0, 1, 2 in reporting order; duplicates and rejected
    statuses take no number; another call starts again from 0."""
    await provision(api, tenant, "1234", StatusCallback=f"{DEAD_URL}/status")
    first = await route_call(api, gateway, tenant, "1234")
    second = await route_call(api, gateway, tenant, "1234")
    for sid, status, expected in [
        (first, "ringing", 202),
        (second, "ringing", 202),
        (first, "ringing", 202),  # duplicate
        (first, "in-progress", 202),
        (first, "completed", 202),
        (first, "busy", 409),  # nothing follows completed
        (second, "canceled", 202),
        (first, "completed", 202),  # duplicate
    ]:
        assert (await post_status(api, gateway, sid, status))[0] == expected
    rows = await callback_rows(db, first)
    assert [(r["sequence_number"], r["call_status"]) for r in rows] == [
        (0, "ringing"),
        (1, "in-progress"),
        (2, "completed"),
    ]
    assert [r["params"]["SequenceNumber"] for r in rows] == ["0", "1", "2"]
    assert [r["sequence_number"] for r in await callback_rows(db, second)] == [0, 1]
    assert len({r["delivery_id"] for r in await callback_rows(db)}) == 5


async def test_concurrent_statuses_get_gapless_numbers_in_reporting_order(
    api: TestClient, gateway: dict[str, str], db: Database, tenant: Tenant
) -> None:
    """Statuses of many calls reported at once: every call gets 0 and 1, in the order its
    events were recorded."""
    await provision(api, tenant, "1234", StatusCallback=f"{DEAD_URL}/status")
    sids = [await route_call(api, gateway, tenant, "1234") for _ in range(10)]
    answers = await asyncio.gather(
        *(
            post_status(api, gateway, sid, status)
            for sid in sids
            for status in ("ringing", "in-progress")
        )
    )
    assert {status for status, _ in answers} == {202}
    for sid in sids:
        rows = await callback_rows(db, sid)
        assert [r["sequence_number"] for r in rows] == [0, 1]
        by_sequence = [r["call_status"] for r in rows]
        assert by_sequence == await events_of(db, sid)


async def test_number_without_status_callback_records_the_event_and_sends_nothing(
    db: Database, settings: config.Settings, gateway: dict[str, str], tenant: Tenant
) -> None:
    """No StatusCallback: the call status and event are recorded, no callback is queued,
    and a running dispatcher sends nothing (not even to the number's VoiceUrl host)."""
    received: list[str] = []

    async def record(request: web.Request) -> web.Response:
        received.append(request.path)
        return web.Response(text="ok")

    receiver = web.Application()
    receiver.router.add_route("*", "/{tail:.*}", record)
    app = create_app(fast_settings(settings), database=db)
    async with (
        TestServer(receiver, host="127.0.0.1") as server,
        TestClient(TestServer(app, host="127.0.0.1")) as client,
    ):
        await provision(client, tenant, "1234", VoiceUrl=str(server.make_url("/voice")))
        sid = await route_call(client, gateway, tenant, "1234")
        for status in ("ringing", "in-progress", "completed"):
            answer = await post_status(client, gateway, sid, status)
            assert answer == (202, {"call_sid": sid, "call_status": status, "duplicate": False})
        await asyncio.sleep(0.4)  # several dispatcher polls
        listed = await client.get(f"/v1/calls/{sid}/callbacks", headers=gateway)
        assert await listed.json() == {"call_sid": sid, "callbacks": []}
    assert await call_status(db, sid) == "completed"
    assert await events_of(db, sid) == ["ringing", "in-progress", "completed"]
    assert await callback_rows(db) == []
    assert received == []


# --- rejections ----------------------------------------------------------------------------


async def test_unknown_call_is_404(api: TestClient, gateway: dict[str, str], db: Database) -> None:
    """A status for a CallSid never routed: 404 naming the CallSid, nothing written."""
    sid = "CA" + "0" * 32
    status, body = await post_status(api, gateway, sid, "ringing")
    assert status == 404
    assert_error(body, 404, 20404, sid)
    assert await count(db, "SELECT count(*) FROM call_events") == 0


@pytest.mark.parametrize("sid", ["CA123", "XX" + "0" * 32, "CA" + "G" * 32, "%FF"])
async def test_malformed_call_sid_is_404(
    api: TestClient, gateway: dict[str, str], sid: str
) -> None:
    """A path that cannot be a CallSid is a 404 like an unknown call."""
    status, body = await post_status(api, gateway, sid, "ringing")
    assert status == 404
    assert_error(body, 404, 20404, None)


@pytest.mark.parametrize("final", ["completed", "busy", "failed", "no-answer", "canceled"])
@pytest.mark.parametrize("later", ["ringing", "in-progress", "completed", "busy"])
async def test_status_after_a_final_status_is_409_and_writes_nothing(
    api: TestClient, gateway: dict[str, str], db: Database, call_sid: str, final: str, later: str
) -> None:
    """Once a call ended, another (different) status is a 409 naming CallStatus; the event log,
    the call and the callback queue stay as they were."""
    if later == final:
        later = "in-progress"
    assert (await post_status(api, gateway, call_sid, final))[0] == 202
    status, body = await post_status(api, gateway, call_sid, later)
    assert status == 409
    assert_error(body, 409, 20409, "CallStatus")
    assert await events_of(db, call_sid) == [final]
    assert await call_status(db, call_sid) == final
    assert [r["call_status"] for r in await callback_rows(db, call_sid)] == [final]


BAD_BODIES = [
    ({}, "CallStatus"),
    ({"CallStatus": ""}, "CallStatus"),
    ({"CallStatus": None}, "CallStatus"),
    ({"CallStatus": "dialing"}, "CallStatus"),
    ({"CallStatus": "in progress"}, "CallStatus"),
    ({"CallStatus": 5}, "CallStatus"),
    ({"CallStatus": ["ringing"]}, "CallStatus"),
    ({"CallStatus": {"v": "ringing"}}, "CallStatus"),
    ({"CallStatus": True}, "CallStatus"),
    ({"CallStatus": "ringing" * 100}, "CallStatus"),
    ({"CallStatus": "completed", "CallDuration": "abc"}, "CallDuration"),
    ({"CallStatus": "completed", "CallDuration": "-1"}, "CallDuration"),
    ({"CallStatus": "completed", "CallDuration": "1.5"}, "CallDuration"),
    ({"CallStatus": "completed", "CallDuration": 1.5}, "CallDuration"),
    ({"CallStatus": "completed", "CallDuration": -3}, "CallDuration"),
    ({"CallStatus": "completed", "CallDuration": True}, "CallDuration"),
    ({"CallStatus": "completed", "CallDuration": "9" * 40}, "CallDuration"),
    ({"CallStatus": "completed", "CallDuration": 10**40}, "CallDuration"),
    ({"CallStatus": "completed", "CallDuration": "\u0661\u0662"}, "CallDuration"),
    ({"CallStatus": "completed", "CallDuration": [1]}, "CallDuration"),
    ({"CallStatus": "completed", "OutboundCallSid": "CA123"}, "OutboundCallSid"),
    ({"CallStatus": "completed", "OutboundCallSid": "PN" + "0" * 32}, "OutboundCallSid"),
    ({"CallStatus": "completed", "OutboundCallSid": "CA" + "A" * 32}, "OutboundCallSid"),
    ({"CallStatus": "completed", "OutboundCallSid": 7}, "OutboundCallSid"),
    ({"CallStatus": "completed", "Transferor": 5}, "Transferor"),
    ({"CallStatus": "completed", "Transferee": "a\x00b"}, "Transferee"),
    ({"CallStatus": "completed", "ReferTarget": {"a": 1}}, "ReferTarget"),
    ({"CallStatus": "completed", "ForwardedFrom": "x" * 5000}, "ForwardedFrom"),
]


async def assert_nothing_written(db: Database, call_sid: str) -> None:
    assert await events_of(db, call_sid) == []
    assert await call_status(db, call_sid) == "ringing"
    assert await callback_rows(db) == []


@pytest.mark.parametrize(
    ("body", "param"), BAD_BODIES, ids=[f"{i}-{p}" for i, (_, p) in enumerate(BAD_BODIES)]
)
async def test_invalid_status_body_is_400_naming_the_parameter(
    api: TestClient,
    gateway: dict[str, str],
    db: Database,
    call_sid: str,
    body: dict[str, Any],
    param: str,
) -> None:
    """Missing, unknown or wrongly typed fields: 400 code 21100 naming the field; nothing
    written."""
    response = await api.post(f"/v1/events/calls/{call_sid}/status", json=body, headers=gateway)
    assert response.status == 400
    assert_error(await response.json(), 400, 21100, param)
    await assert_nothing_written(db, call_sid)


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        (b'{"CallStatus": "ringing"', "application/json"),
        (b'["ringing"]', "application/json"),
        (b'"ringing"', "application/json"),
        (b'{"CallStatus": "ring\xffing"}', "application/json"),
        (b"CallStatus=ring%FFing", "application/x-www-form-urlencoded"),
    ],
    ids=["truncated-json", "json-array", "json-string", "bad-utf8-json", "bad-utf8-form"],
)
async def test_malformed_status_body_is_400(
    api: TestClient,
    gateway: dict[str, str],
    db: Database,
    call_sid: str,
    raw: bytes,
    content_type: str,
) -> None:
    """A body that is not a JSON object or a decodable form: 400, nothing written."""
    response = await api.post(
        f"/v1/events/calls/{call_sid}/status",
        data=raw,
        headers={**gateway, "Content-Type": content_type},
    )
    assert response.status == 400
    assert_error(await response.json(), 400, 21100, None)
    await assert_nothing_written(db, call_sid)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_body_over_64_kib_is_413(
    api: TestClient, gateway: dict[str, str], db: Database, call_sid: str, chunked: bool
) -> None:
    """A status body over 64 KiB is refused with 413 (code 20413) before anything is written."""
    raw = json.dumps({"CallStatus": "completed", "Transferor": "x" * 70_000}).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(raw), 8192):
            yield raw[start : start + 8192]

    response = await api.post(
        f"/v1/events/calls/{call_sid}/status",
        data=chunks() if chunked else raw,
        headers={**gateway, "Content-Type": "application/json"},
    )
    assert response.status == 413
    assert_error(await response.json(), 413, 20413, None)
    await assert_nothing_written(db, call_sid)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic dGVzdDp0ZXN0"},
    ],
    ids=["none", "wrong-token", "empty-token", "basic"],
)
async def test_status_without_the_gateway_token_is_401(
    api: TestClient, db: Database, call_sid: str, headers: dict[str, str]
) -> None:
    """Only the gateway reports statuses: anything else is 401 (code 20003), nothing written."""
    response = await api.post(
        f"/v1/events/calls/{call_sid}/status", json={"CallStatus": "ringing"}, headers=headers
    )
    assert response.status == 401
    assert_error(await response.json(), 401, 20003, None)
    await assert_nothing_written(db, call_sid)


async def test_tenant_credentials_cannot_report_a_status(
    api: TestClient, db: Database, call_sid: str, tenant: Tenant
) -> None:
    """Even the call's own account cannot report statuses: 401, nothing written."""
    response = await api.post(
        f"/v1/events/calls/{call_sid}/status", json={"CallStatus": "ringing"}, headers=tenant.auth
    )
    assert response.status == 401
    await assert_nothing_written(db, call_sid)


# --- reading a call's callbacks ------------------------------------------------------------


async def test_call_callbacks_are_listed_for_the_gateway_and_the_account_tree(
    api: TestClient,
    gateway: dict[str, str],
    admin: Tenant,
    tenant: Tenant,
    call_sid: str,
) -> None:
    """The gateway, the call's account and its ancestors see the same list of callbacks."""
    await post_status(api, gateway, call_sid, "ringing")
    await post_status(api, gateway, call_sid, "completed")
    seen = []
    for headers in (gateway, tenant.auth, admin.auth):
        response = await api.get(f"/v1/calls/{call_sid}/callbacks", headers=headers)
        assert response.status == 200
        seen.append(await response.json())
    assert seen[0] == seen[1] == seen[2]
    listed = seen[0]["callbacks"]
    assert [(c["sequence_number"], c["call_status"], c["state"]) for c in listed] == [
        (0, "ringing", "pending"),
        (1, "completed", "pending"),
    ]
    assert all(c["attempts"] == 0 and c["attempt_log"] == [] for c in listed)


async def test_another_tenants_call_callbacks_are_not_found(
    api: TestClient,
    gateway: dict[str, str],
    tenant: Tenant,
    admin: Tenant,
    make_account: MakeAccount,
    call_sid: str,
) -> None:
    """A sibling tenant asking for the call's callbacks gets the same 404 as for an unknown
    call, which neither confirms the call nor names its account."""
    await post_status(api, gateway, call_sid, "ringing")
    sibling = await make_account(admin)
    response = await api.get(f"/v1/calls/{call_sid}/callbacks", headers=sibling.auth)
    body = await response.json()
    assert response.status == 404
    assert_error(body, 404, 20404, call_sid)
    assert tenant.sid not in body["message"]
    callback_id = (
        await (await api.get(f"/v1/calls/{call_sid}/callbacks", headers=gateway)).json()
    )["callbacks"][0]["id"]
    retried = await api.post(f"/v1/callbacks/{callback_id}/retry", headers=sibling.auth)
    assert retried.status == 404
    assert tenant.sid not in (await retried.json())["message"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-token"}])
async def test_listing_callbacks_needs_credentials(
    api: TestClient, call_sid: str, headers: dict[str, str]
) -> None:
    """Without gateway token or tenant credentials the list answers 401."""
    response = await api.get(f"/v1/calls/{call_sid}/callbacks", headers=headers)
    assert response.status == 401


@pytest.mark.parametrize("sid", ["CA" + "0" * 32, "CA123"])
async def test_listing_callbacks_of_an_unknown_call_is_404(
    api: TestClient, gateway: dict[str, str], sid: str
) -> None:
    """An unknown or malformed CallSid: 404 code 20404."""
    response = await api.get(f"/v1/calls/{sid}/callbacks", headers=gateway)
    assert response.status == 404
    assert_error(await response.json(), 404, 20404, None)
