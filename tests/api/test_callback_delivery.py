"""Status callback delivery (SPEC 6 and 7) to real receivers on 127.0.0.1: parameters,
signatures, a stable delivery id, retries and give-ups with their attempt log, manual
re-sends, per-call ordering, isolation from slow endpoints, and a load of concurrent calls."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import random
import socket
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from multidict import CIMultiDictProxy

from router import config
from router.app import create_app
from router.store.postgres import Database
from tests.api.test_status_events import (
    API,
    FROM,
    callback_rows,
    fast_settings,
    post_status,
    provision,
    route_call,
)
from tests.conftest import Tenant

DELIVERY_ID = "I-Router-Delivery-Id"


# --- the tenant's receiver -----------------------------------------------------------------


@dataclass
class Hit:
    """One request as the receiver saw it; `url` is the full URL as requested."""

    order: int
    at: float
    method: str
    url: str
    path: str
    params: dict[str, str]
    headers: CIMultiDictProxy[str]
    request: web.Request = field(repr=False)
    status: int = 0  # what the receiver answered

    @property
    def call_sid(self) -> str:
        return self.params["CallSid"]

    @property
    def sequence(self) -> int:
        return int(self.params["SequenceNumber"])

    @property
    def delivery_id(self) -> str:
        return self.headers[DELIVERY_ID]

    @property
    def succeeded(self) -> bool:
        return 200 <= self.status < 300


Answer = Callable[[Hit], Awaitable[web.StreamResponse]]


async def ok(hit: Hit) -> web.StreamResponse:
    return web.Response(text="ok")


@dataclass
class Receiver:
    """A loopback web application that records every request and answers with `answer`."""

    port: int = 0
    hits: list[Hit] = field(default_factory=list)
    answer: Answer = ok
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str = "/status") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        form = {k: str(v) for k, v in (await request.post()).items()}
        hit = Hit(
            order=len(self.hits),
            at=time.monotonic(),
            method=request.method,
            url=f"http://127.0.0.1:{self.port}{request.raw_path}",
            path=request.path,
            params=form if request.method == "POST" else dict(request.query),
            headers=request.headers,
            request=request,
        )
        self.hits.append(hit)
        response = await self.answer(hit)
        hit.status = response.status
        return response

    def successes(self) -> list[Hit]:
        return [hit for hit in self.hits if hit.succeeded]


@asynccontextmanager
async def receiving(port: int = 0, answer: Answer = ok) -> AsyncIterator[Receiver]:
    """A Receiver listening on 127.0.0.1 (at `port`, or a free one) until the block ends."""
    receiver = Receiver(answer=answer)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", receiver.handle)
    server = TestServer(app, host="127.0.0.1", port=port or None)
    await server.start_server()
    receiver.port = server.port or 0
    try:
        yield receiver
    finally:
        receiver.release.set()
        await server.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def service(
    db: Database, settings: config.Settings, **changes: Any
) -> AsyncIterator[TestClient]:
    """The router with a fast dispatcher (settings overridable) on 127.0.0.1."""
    app = create_app(fast_settings(settings, **changes), database=db)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


async def eventually(check: Callable[[], Awaitable[bool] | bool], within: float = 10.0) -> None:
    """Wait until `check` holds, polling; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def listed(client: TestClient, gateway: dict[str, str], call_sid: str) -> list[Any]:
    response = await client.get(f"/v1/calls/{call_sid}/callbacks", headers=gateway)
    assert response.status == 200
    return list((await response.json())["callbacks"])


async def settled(
    client: TestClient, gateway: dict[str, str], call_sid: str, count: int
) -> list[Any]:
    """The call's callbacks once `count` of them are no longer pending."""
    found: list[Any] = []

    async def check() -> bool:
        found[:] = await listed(client, gateway, call_sid)
        return sum(c["state"] != "pending" for c in found) >= count

    await eventually(check)
    return found


def answering(*statuses: int, body: str = "", retry_after: str | None = None) -> Answer:
    """Answer each callback (by delivery id) with the given statuses in turn, then 200."""
    seen: Counter[str] = Counter()

    async def answer(hit: Hit) -> web.StreamResponse:
        turn = seen[hit.delivery_id]
        seen[hit.delivery_id] += 1
        if turn < len(statuses):
            headers = {"Retry-After": retry_after} if retry_after is not None else {}
            return web.Response(status=statuses[turn], text=body, headers=headers)
        return web.Response(text="ok")

    return answer


def twilio_signature(url: str, params: dict[str, str], key: str) -> str:
    """SPEC 7 written out independently: base64 HMAC-SHA1 over the URL then each sorted
    name and value (no parameters for a GET: they are in the URL)."""
    payload = url
    for name in sorted(params):
        payload += name + params[name]
    mac = hmac.new(key.encode(), payload.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


async def signing_key(client: TestClient, tenant: Tenant) -> str:
    response = await client.get(f"{API}/Accounts/{tenant.sid}.json", headers=tenant.auth)
    assert response.status == 200
    return str((await response.json())["signing_key"])


def assert_fifo_per_call(hits: Iterable[Hit]) -> None:
    """For every call, SequenceNumber n+1 never arrives before n was answered 2xx."""
    by_call: dict[str, list[Hit]] = defaultdict(list)
    for hit in sorted(hits, key=lambda h: h.order):
        by_call[hit.call_sid].append(hit)
    for call_sid, seen in by_call.items():
        delivered: set[int] = set()
        for hit in seen:
            assert all(n in delivered for n in range(hit.sequence)), (
                f"{call_sid}: SequenceNumber {hit.sequence} arrived before "
                f"{sorted(set(range(hit.sequence)) - delivered)} succeeded"
            )
            if hit.succeeded:
                delivered.add(hit.sequence)


# --- parameters and signature --------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_callback_carries_the_spec_parameters_and_a_valid_signature(
    db: Database,
    settings: config.Settings,
    gateway: dict[str, str],
    tenant: Tenant,
    method: str,
) -> None:
    """The receiver gets the voice set with the new CallStatus, Timestamp (RFC 2822, UTC),
    SequenceNumber, CallbackSource and the optional fields, in a form body (POST) or the
    query string next to the URL's own (GET), signed with the account's signing key."""
    async with receiving() as receiver, service(db, settings) as client:
        key = await signing_key(client, tenant)
        await provision(
            client,
            tenant,
            "1234",
            StatusCallback=receiver.url("/status?tenant=t1"),
            StatusCallbackMethod=method,
        )
        sid = await route_call(
            client, gateway, tenant, "1234", CallerName="Alice", SipHeaders={"X-Tenant": "t1"}
        )
        before = datetime.now(UTC)
        status, _ = await post_status(
            client, gateway, sid, "completed", CallDuration=42, OutboundCallSid="CA" + "e" * 32
        )
        assert status == 202
        await eventually(lambda: len(receiver.hits) == 1)
    [hit] = receiver.hits
    assert hit.method == method
    params = dict(hit.params)
    if method == "GET":
        assert params.pop("tenant") == "t1"
        assert hit.url.startswith(receiver.url("/status?"))
    stamp = params.pop("Timestamp")
    assert params == {
        "CallSid": sid,
        "AccountSid": tenant.sid,
        "From": FROM,
        "To": "1234",
        "CallStatus": "completed",
        "ApiVersion": "2012-04-24",
        "Direction": "inbound",
        "CallerName": "Alice",
        "SipHeader_X-Tenant": "t1",
        "SequenceNumber": "0",
        "CallbackSource": "call-progress-events",
        "CallDuration": "42",
        "OutboundCallSid": "CA" + "e" * 32,
    }
    moment = parsedate_to_datetime(stamp)
    assert stamp.endswith(" +0000")
    assert moment.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=2) <= moment <= datetime.now(UTC) + timedelta(seconds=2)
    signed_params = hit.params if method == "POST" else {}
    expected = twilio_signature(hit.url, signed_params, key)
    assert hit.headers["X-Twilio-Signature"] == expected
    assert hit.headers["X-Restcomm-Signature"] == expected
    assert hit.delivery_id


async def test_signature_follows_a_rotated_signing_key_for_new_callbacks(
    db: Database, settings: config.Settings, gateway: dict[str, str], tenant: Tenant
) -> None:
    """Callbacks sent after RotateSigningKey are signed with the new key."""
    async with receiving() as receiver, service(db, settings) as client:
        await provision(client, tenant, "1234", StatusCallback=receiver.url())
        sid = await route_call(client, gateway, tenant, "1234")
        rotated = await client.post(
            f"{API}/Accounts/{tenant.sid}.json",
            data={"RotateSigningKey": "true"},
            headers=tenant.auth,
        )
        assert rotated.status == 200
        key = await signing_key(client, tenant)
        assert key != tenant.account.signing_key
        await post_status(client, gateway, sid, "ringing")
        await eventually(lambda: len(receiver.hits) == 1)
    [hit] = receiver.hits
    assert hit.headers["X-Twilio-Signature"] == twilio_signature(hit.url, hit.params, key)


async def test_credentials_in_the_callback_url_are_sent_but_not_signed(
    db: Database, settings: config.Settings, gateway: dict[str, str], tenant: Tenant
) -> None:
    """A StatusCallback with user:password@ is signed over the URL the receiver sees
    (no credentials, no fragment), as RCML fetches are, and the credentials travel as
    Basic auth."""
    async with receiving() as receiver, service(db, settings) as client:
        url = receiver.url("/cb#frag").replace("http://", "http://alice:s3cret@")
        await provision(client, tenant, "1234", StatusCallback=url)
        sid = await route_call(client, gateway, tenant, "1234")
        await post_status(client, gateway, sid, "ringing")
        await eventually(lambda: len(receiver.hits) == 1)
    [hit] = receiver.hits
    assert hit.url == receiver.url("/cb")
    expected = twilio_signature(hit.url, hit.params, tenant.account.signing_key)
    assert hit.headers["X-Twilio-Signature"] == expected
    assert hit.headers["Authorization"] == "Basic " + base64.b64encode(b"alice:s3cret").decode()


# --- retries -------------------------------------------------------------------------------


async def test_delivery_id_is_the_same_on_every_retry(
    db: Database, settings: config.Settings, gateway: dict[str, str], tenant: Tenant
) -> None:
    """A receiver answering 503 then 200 sees one I-Router-Delivery-Id on both attempts, the
    one the callbacks API shows; the parameters and signature are identical too."""
    async with receiving(answer=answering(503)) as receiver, service(db, settings) as client:
        await provision(client, tenant, "1234", StatusCallback=receiver.url())
        sid = await route_call(client, gateway, tenant, "1234")
        await post_status(client, gateway, sid, "ringing")
        [callback] = await settled(client, gateway, sid, 1)
    assert [hit.status for hit in receiver.hits] == [503, 200]
    first, second = receiver.hits
    assert first.delivery_id == second.delivery_id == callback["delivery_id"]
    assert first.params == second.params
    assert first.headers["X-Twilio-Signature"] == second.headers["X-Twilio-Signature"]
    assert callback["state"] == "delivered"
    assert callback["attempts"] == 2


@pytest.mark.parametrize(
    ("status", "retry_after"),
    [(500, None), (502, None), (503, "0"), (429, "0"), (429, "1"), (503, "1")],
)
async def test_retryable_answers_are_retried_until_delivered(
    db: Database,
    settings: config.Settings,
    gateway: dict[str, str],
    tenant: Tenant,
    status: int,
    retry_after: str | None,
) -> None:
    """5xx and 429 are retried (honouring Retry-After) and the callback ends delivered, each
    attempt logged with its status."""
    failures = (status,) if retry_after == "1" else (status, status)
    answer = answering(*failures, retry_after=retry_after)
    async with (
        receiving(answer=answer) as receiver,
        service(db, settings, callbacks_max_delay_seconds=5) as client,
    ):
        await provision(client, tenant, "1234", StatusCallback=receiver.url())
        sid = await route_call(client, gateway, tenant, "1234")
        await post_status(client, gateway, sid, "ringing")
        [callback] = await settled(client, gateway, sid, 1)
    assert [hit.status for hit in receiver.hits] == [*failures, 200]
    assert callback["state"] == "delivered"
    assert [a["status"] for a in callback["attempt_log"]] == [*failures, 200]
    if retry_after == "1":
        first, second = receiver.hits
        assert second.at - first.at >= 0.9  # Retry-After: 1 waits a second, not 0.05 s


async def test_connection_refused_is_retried_then_given_up(
    db: Database, settings: config.Settings, gateway: dict[str, str], tenant: Tenant
) -> None:
    """A StatusCallback nobody listens on is tried max_attempts times, each attempt logged
    with no status and an error, then the callback is failed."""
    async with service(db, settings) as client:
        await provision(client, tenant, "1234", StatusCallback=f"http://127.0.0.1:{free_port()}/s")
        sid = await route_call(client, gateway, tenant, "1234")
        await post_status(client, gateway, sid, "ringing")
        [callback] = await settled(client, gateway, sid, 1)
    assert callback["state"] == "failed"
    assert callback["attempts"] == 3
    assert len(callback["attempt_log"]) == 3
    for attempt in callback["attempt_log"]:
        assert attempt["status"] is None
        assert attempt["error"]
        assert attempt["response_body"] is None


async def test_timeout_is_retried(
    db: Database, settings: config.Settings, gateway: dict[str, str], tenant: Tenant
) -> None:
    """A receiver slower than the callback timeout counts as a failed attempt (no status,
    a timeout error) and is retried; the next, prompt answer delivers the callback."""

    async def sluggish_once(hit: Hit) -> web.StreamResponse:
        if hit.order == 0:
            await asyncio.sleep(1.5)
        return web.Response(text="ok")

    async with (
        receiving(answer=sluggish_once) as receiver,
        service(db, settings, callbacks_timeout_seconds=0.3) as client,
    ):
        await provision(client, tenant, "1234", StatusCallback=receiver.url())
        sid = await route_call(client, gateway, tenant, "1234")
        await post_status(client, gateway, sid, "ringing")
        [callback] = await settled(client, gateway, sid, 1)
    assert callback["state"] == "delivered"
    timed_out, delivered = callback["attempt_log"]
    assert timed_out["status"] is None
    assert "time" in timed_out["error"]
    assert 250 <= timed_out["latency_ms"] < 1500
    assert delivered["status"] == 200
    assert receiver.hits[0].delivery_id == receiver.hits[1].delivery_id


async def test_denied_destination_is_never_contacted(
    db: Database, settings: config.Settings, gateway: dict[str, str], tenant: Tenant
) -> None:
    """A StatusCallback in a denied network fails like a refused connection, attempt after
    attempt, and the receiver there never gets a request."""
    deny = (*settings.security_deny_networks, "127.0.0.0/8")
    async with receiving() as receiver:
        async with service(db, settings, security_deny_networks=()) as client:
            await provision(client, tenant, "1234", StatusCallback=receiver.url())
            sid = await route_call(client, gateway, tenant, "1234")
        async with service(db, settings, security_deny_networks=deny) as client:
            await post_status(client, gateway, sid, "ringing")
            [callback] = await settled(client, gateway, sid, 1)
    assert callback["state"] == "failed"
    assert [a["status"] for a in callback["attempt_log"]] == [None, None, None]
    assert all("denied" in a["error"] for a in callback["attempt_log"])
    assert receiver.hits == []


async def test_shutdown_finishes_and_records_the_delivery_in_flight(
    db: Database, settings: config.Settings, gateway: dict[str, str], tenant: Tenant
) -> None:
    """Stopping the service while a receiver is still answering waits for that answer and
    records the callback as delivered."""

    async def slow(hit: Hit) -> web.StreamResponse:
        await asyncio.sleep(0.5)
        return web.Response(text="ok")

    async with receiving(answer=slow) as receiver:
        async with service(db, settings) as client:
            await provision(client, tenant, "1234", StatusCallback=receiver.url())
            sid = await route_call(client, gateway, tenant, "1234")
            await post_status(client, gateway, sid, "ringing")
            await eventually(lambda: len(receiver.hits) == 1)
        [row] = await callback_rows(db, sid)
    assert row["state"] == "delivered"
    assert row["attempts"] == 1
    assert receiver.hits[0].status == 200


@pytest.mark.parametrize("status", [400, 404, 410, 301])
async def test_final_answers_are_not_retried(
    db: Database,
    settings: config.Settings,
    gateway: dict[str, str],
    tenant: Tenant,
    status: int,
) -> None:
    """A 4xx (other than 429) or a redirect gives up after one attempt; the call's next
    callback is then delivered (a given-up callback does not block the call)."""

    async def answer(hit: Hit) -> web.StreamResponse:
        return web.Response(status=status if hit.sequence == 0 else 200)

    async with receiving(answer=answer) as receiver, service(db, settings) as client:
        await provision(client, tenant, "1234", StatusCallback=receiver.url())
        sid = await route_call(client, gateway, tenant, "1234")
        await post_status(client, gateway, sid, "ringing")
        [callback] = await settled(client, gateway, sid, 1)
        await asyncio.sleep(0.3)  # several backoff periods: no second attempt comes
        await post_status(client, gateway, sid, "completed")
        callbacks = await settled(client, gateway, sid, 2)
    assert callback["state"] == "failed"
    assert callback["attempts"] == 1
    assert [(h.sequence, h.status) for h in receiver.hits] == [(0, status), (1, 200)]
    assert [c["state"] for c in callbacks] == ["failed", "delivered"]


async def test_given_up_callback_keeps_every_attempt_and_can_be_sent_again(
    db: Database, settings: config.Settings, gateway: dict[str, str], tenant: Tenant
) -> None:
    """After max_attempts 500s the callback is failed with each attempt's time, status,
    latency and first 2 KiB of the body; POST /v1/callbacks/{id}/retry delivers it; a
    delivered callback cannot be retried (409) and an unknown id is 404."""
    body = "".join(chr(ord("a") + i % 26) for i in range(5 * 1024))
    healthy = False

    async def answer(hit: Hit) -> web.StreamResponse:
        if healthy:
            return web.Response(text="thanks")
        return web.Response(status=500, text=body)

    async with receiving(answer=answer) as receiver, service(db, settings) as client:
        await provision(client, tenant, "1234", StatusCallback=receiver.url())
        sid = await route_call(client, gateway, tenant, "1234")
        started = datetime.now(UTC).replace(microsecond=0)
        await post_status(client, gateway, sid, "ringing")
        [failed] = await settled(client, gateway, sid, 1)
        assert failed["state"] == "failed"
        assert failed["attempts"] == 3
        assert len(receiver.hits) == 3
        for attempt in failed["attempt_log"]:
            moment = parsedate_to_datetime(attempt["attempted_at"])
            assert started <= moment <= datetime.now(UTC)
            assert attempt["status"] == 500
            assert attempt["error"] is None
            assert attempt["latency_ms"] > 0
            assert attempt["response_body"] == body[:2048]

        healthy = True
        retried = await client.post(f"/v1/callbacks/{failed['id']}/retry", headers=gateway)
        assert retried.status == 202
        assert await retried.json() == {"id": failed["id"], "state": "pending"}
        [delivered] = await settled_state(client, gateway, sid, "delivered")
        again = await client.post(f"/v1/callbacks/{failed['id']}/retry", headers=tenant.auth)
        again_body = await again.json()
        unknown = await client.post("/v1/callbacks/987654321/retry", headers=gateway)
        unknown_body = await unknown.json()
        malformed = await client.post("/v1/callbacks/abc/retry", headers=gateway)
    assert delivered["delivery_id"] == failed["delivery_id"]
    assert [a["status"] for a in delivered["attempt_log"]] == [500, 500, 500, 200]
    assert delivered["attempt_log"][-1]["response_body"] == "thanks"
    assert len({h.delivery_id for h in receiver.hits}) == 1
    assert again.status == 409
    assert again_body["code"] == 20409
    assert str(failed["id"]) in again_body["message"]
    assert unknown.status == 404
    assert unknown_body["code"] == 20404
    assert malformed.status == 404


async def settled_state(
    client: TestClient, gateway: dict[str, str], call_sid: str, state: str
) -> list[Any]:
    """The call's callbacks once every one of them is in `state`."""
    found: list[Any] = []

    async def check() -> bool:
        found[:] = await listed(client, gateway, call_sid)
        return bool(found) and all(c["state"] == state for c in found)

    await eventually(check)
    return found


async def test_response_body_sent_in_small_chunks_is_kept_up_to_2_kib(
    db: Database, settings: config.Settings, gateway: dict[str, str], tenant: Tenant
) -> None:
    """A 5 KiB error body streamed in 100-byte chunks is still recorded as its first 2 KiB."""
    body = "".join(chr(ord("A") + i % 26) for i in range(5 * 1024)).encode()

    async def trickle(hit: Hit) -> web.StreamResponse:
        response = web.StreamResponse(status=400)
        response.enable_chunked_encoding()
        await response.prepare(hit.request)
        for start in range(0, len(body), 100):
            await response.write(body[start : start + 100])
            await asyncio.sleep(0.002)
        await response.write_eof()
        return response

    async with receiving(answer=trickle) as receiver, service(db, settings) as client:
        await provision(client, tenant, "1234", StatusCallback=receiver.url())
        sid = await route_call(client, gateway, tenant, "1234")
        await post_status(client, gateway, sid, "ringing")
        [callback] = await settled(client, gateway, sid, 1)
    assert callback["state"] == "failed"
    assert callback["attempt_log"][0]["response_body"] == body[:2048].decode()


# --- ordering and isolation ----------------------------------------------------------------


async def test_next_callback_waits_until_the_previous_one_succeeded(
    db: Database, settings: config.Settings, gateway: dict[str, str], tenant: Tenant
) -> None:
    """SequenceNumber 0 answered 503 twice: 1 and 2 (already queued) arrive only after 0
    succeeded, in order."""

    async def answer(hit: Hit) -> web.StreamResponse:
        zeros = sum(1 for h in receiver.hits if h.sequence == 0)
        if hit.sequence == 0 and zeros <= 2:
            return web.Response(status=503)
        return web.Response(text="ok")

    async with (
        receiving(answer=answer) as receiver,
        service(db, settings, callbacks_max_attempts=5) as client,
    ):
        await provision(client, tenant, "1234", StatusCallback=receiver.url())
        sid = await route_call(client, gateway, tenant, "1234")
        for status in ("ringing", "in-progress", "completed"):
            assert (await post_status(client, gateway, sid, status))[0] == 202
        callbacks = await settled(client, gateway, sid, 3)
    assert [(h.sequence, h.status) for h in receiver.hits] == [
        (0, 503),
        (0, 503),
        (0, 200),
        (1, 200),
        (2, 200),
    ]
    assert [h.params["CallStatus"] for h in receiver.successes()] == [
        "ringing",
        "in-progress",
        "completed",
    ]
    assert [c["state"] for c in callbacks] == ["delivered"] * 3


async def test_slow_endpoint_does_not_delay_other_endpoints(
    db: Database, settings: config.Settings, gateway: dict[str, str], tenant: Tenant
) -> None:
    """While a receiver takes 3 s to answer, another call's callbacks to another receiver
    arrive promptly."""

    async def slow(hit: Hit) -> web.StreamResponse:
        await asyncio.sleep(3)
        return web.Response(text="ok")

    async with (
        receiving(answer=slow) as slow_receiver,
        receiving() as fast_receiver,
        service(db, settings, callbacks_lease_seconds=30) as client,
    ):
        await provision(client, tenant, "1000", StatusCallback=slow_receiver.url())
        await provision(client, tenant, "2000", StatusCallback=fast_receiver.url())
        slow_sid = await route_call(client, gateway, tenant, "1000")
        fast_sid = await route_call(client, gateway, tenant, "2000")
        await post_status(client, gateway, slow_sid, "ringing")
        await eventually(lambda: len(slow_receiver.hits) == 1)
        started = time.monotonic()
        for status in ("ringing", "in-progress", "completed"):
            await post_status(client, gateway, fast_sid, status)
        await eventually(lambda: len(fast_receiver.successes()) == 3, within=1.5)
        elapsed = time.monotonic() - started
        assert not slow_receiver.successes()  # the slow one is still in flight
    assert elapsed < 1.5
    assert [h.sequence for h in fast_receiver.hits] == [0, 1, 2]


async def test_backlog_for_a_slow_endpoint_does_not_take_every_delivery_slot(
    db: Database, settings: config.Settings, gateway: dict[str, str], tenant: Tenant
) -> None:
    """With many callbacks queued for a slow receiver, a callback to another receiver is
    still delivered promptly: the per-host limit keeps slots free for other hosts."""

    async def slow(hit: Hit) -> web.StreamResponse:
        await asyncio.sleep(3)
        return web.Response(text="ok")

    limits = {"callbacks_concurrency": 4, "callbacks_per_host_limit": 2}
    async with (
        receiving(answer=slow) as slow_receiver,
        receiving() as fast_receiver,
        service(db, settings, callbacks_dispatcher_enabled=False) as api,
    ):
        await provision(api, tenant, "1000", StatusCallback=slow_receiver.url())
        await provision(api, tenant, "2000", StatusCallback=fast_receiver.url())
        for _ in range(8):
            await post_status(
                api, gateway, await route_call(api, gateway, tenant, "1000"), "ringing"
            )
        fast_sid = await route_call(api, gateway, tenant, "2000")
        async with service(db, settings, callbacks_lease_seconds=30, **limits):
            await eventually(lambda: len(slow_receiver.hits) >= 2)
            await asyncio.sleep(0.2)  # every slot the dispatcher will give the backlog is taken
            in_flight_to_slow = len(slow_receiver.hits)
            started = time.monotonic()
            await post_status(api, gateway, fast_sid, "ringing")
            await eventually(lambda: len(fast_receiver.successes()) == 1, within=2.5)
            elapsed = time.monotonic() - started
    assert in_flight_to_slow == 2  # the per-host limit
    assert elapsed < 1.5


# --- load and outage -----------------------------------------------------------------------


async def test_many_concurrent_calls_get_every_callback_once_and_in_order(
    db: Database, settings: config.Settings, gateway: dict[str, str], tenant: Tenant
) -> None:
    """200 calls x 3 statuses reported concurrently to a receiver with random small delays and
    ~20% 503s: every callback succeeds exactly once per delivery id, none is missing, and per
    call SequenceNumber n+1 never arrives before n succeeded."""
    chance = random.Random(20240506)

    async def flaky(hit: Hit) -> web.StreamResponse:
        await asyncio.sleep(chance.uniform(0, 0.02))
        if chance.random() < 0.2:
            return web.Response(status=503)
        return web.Response(text="ok")

    statuses = ("ringing", "in-progress", "completed")
    calls = 200
    gate = asyncio.Semaphore(20)
    async with (
        receiving(answer=flaky) as receiver,
        service(
            db,
            settings,
            callbacks_max_attempts=20,
            callbacks_max_delay_seconds=0.3,
            callbacks_lease_seconds=30,
            callbacks_per_host_limit=16,
        ) as client,
    ):
        await provision(client, tenant, "1234", StatusCallback=receiver.url())

        async def one_call() -> str:
            async with gate:
                sid = await route_call(client, gateway, tenant, "1234")
                for status in statuses:
                    answer = await post_status(client, gateway, sid, status)
                    assert answer[0] == 202, answer
                return sid

        sids = await asyncio.gather(*(one_call() for _ in range(calls)))
        await eventually(lambda: len(receiver.successes()) >= calls * 3, within=25)
        await asyncio.sleep(0.2)  # a late duplicate would show up here
    successes = receiver.successes()
    per_delivery = Counter(hit.delivery_id for hit in successes)
    assert len(per_delivery) == calls * 3
    assert set(per_delivery.values()) == {1}
    assert_fifo_per_call(receiver.hits)
    seen = defaultdict(list)
    for hit in sorted(successes, key=lambda h: h.order):
        seen[hit.call_sid].append((hit.sequence, hit.params["CallStatus"]))
    assert set(seen) == set(sids)
    assert all(v == [(0, "ringing"), (1, "in-progress"), (2, "completed")] for v in seen.values())
    assert any(not hit.succeeded for hit in receiver.hits)  # retries really happened
    rows = await callback_rows(db)
    assert len(rows) == calls * 3
    assert {r["state"] for r in rows} == {"delivered"}


async def test_receiver_down_for_a_while_gets_everything_in_order_once_up(
    db: Database, settings: config.Settings, gateway: dict[str, str], tenant: Tenant
) -> None:
    """Callbacks queued while the receiver's port refuses connections are all delivered, in
    SequenceNumber order per call, once it starts listening 2 s later."""
    port = free_port()
    async with service(
        db,
        settings,
        callbacks_max_attempts=30,
        callbacks_max_delay_seconds=0.3,
        callbacks_lease_seconds=30,
    ) as client:
        await provision(client, tenant, "1234", StatusCallback=f"http://127.0.0.1:{port}/status")
        sids = [await route_call(client, gateway, tenant, "1234") for _ in range(5)]
        for status in ("ringing", "in-progress", "completed"):
            for sid in sids:
                assert (await post_status(client, gateway, sid, status))[0] == 202
        await asyncio.sleep(2)
        for sid in sids:  # the first callbacks were tried (and refused) meanwhile
            assert (await listed(client, gateway, sid))[0]["attempts"] >= 2
        async with receiving(port=port) as receiver:
            await eventually(lambda: len(receiver.successes()) == 15, within=10)
            await asyncio.sleep(0.2)
    assert len(receiver.hits) == 15
    assert_fifo_per_call(receiver.hits)
    for sid in sids:
        assert [h.sequence for h in receiver.hits if h.call_sid == sid] == [0, 1, 2]
    assert {r["state"] for r in await callback_rows(db)} == {"delivered"}
