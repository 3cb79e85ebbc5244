"""RCML fetch against real loopback HTTP servers: signing, fallback, redirects, limits."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer
from multidict import CIMultiDictProxy, MultiMapping
from structlog.testing import capture_logs

from router.config import Settings
from router.errors import Invalid
from router.outbound import create_client_session
from router.rcml import RcmlFetcher, RcmlOutcome, RcmlTarget
from router.rcml_params import refer_params, sms_params, voice_params

KEY = "signing-key-of-the-account"
GOOD = "<Response><Say>hello</Say></Response>"
MAX_BODY = 1_048_576
DENIED_IP = "127.0.0.2"
SETTINGS = Settings(
    rcml_connect_timeout=0.5,
    rcml_total_timeout=0.5,
    security_deny_networks=(*Settings().security_deny_networks, f"{DENIED_IP}/32"),
)
PARAMS = voice_params(
    call_sid="CA" + "1" * 32,
    account_sid="AC" + "2" * 32,
    from_="+15551230000",
    to="+15559870000",
    caller_name="Ada & Bob",
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def reference_signature(url: str, form: dict[str, str], key: str) -> str:
    """A Twilio-style validator's computation, independent of router.webhooks.signing."""
    message = url + "".join(f"{name}{form[name]}" for name in sorted(form))
    return base64.b64encode(
        hmac.new(key.encode(), message.encode(), hashlib.sha1).digest()
    ).decode()


@dataclass(frozen=True)
class Seen:
    """One request as the receiver saw it; `url` is rebuilt the way validators do."""

    method: str
    url: str
    query: MultiMapping[str]
    form: dict[str, str]
    headers: CIMultiDictProxy[str]

    def signature_verifies(self) -> bool:
        expected = reference_signature(self.url, self.form, KEY)
        return (
            self.headers.get("X-Twilio-Signature") == expected
            and self.headers.get("X-Restcomm-Signature") == expected
        )


@dataclass
class Receiver:
    """A loopback HTTP server whose answer per path each test scripts."""

    host: str
    port: int = 0
    routes: dict[str, Handler] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def on(self, path: str, handler: Handler) -> str:
        self.routes[path] = handler
        return self.url(path)

    def at(self, path: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.url.split("?")[0] == self.url(path)]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        form = {name: str(value) for name, value in (await request.post()).items()}
        url = f"{request.scheme}://{request.host}{request.raw_path}"
        self.seen.append(Seen(request.method, url, request.query, form, request.headers))
        handler = self.routes.get(request.path)
        return await handler(request) if handler else web.Response(status=404)


@asynccontextmanager
async def running_receiver(host: str) -> AsyncIterator[Receiver]:
    """A Receiver listening on `host` at a free port until the block ends."""
    receiver = Receiver(host)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", receiver.handle)
    server = TestServer(app, host=host)
    await server.start_server()
    receiver.port = server.port or 0
    try:
        yield receiver
    finally:
        receiver.release.set()  # let stalled handlers finish so shutdown does not wait
        await server.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """The tenant's web application, on 127.0.0.1."""
    async with running_receiver("127.0.0.1") as started:
        yield started


@pytest.fixture
async def denied_receiver() -> AsyncIterator[Receiver]:
    """A server on the denied address 127.0.0.2; it must never see a request."""
    async with running_receiver(DENIED_IP) as started:
        yield started


@pytest.fixture
async def session() -> AsyncIterator[ClientSession]:
    client = create_client_session(SETTINGS)
    yield client
    await client.close()


@pytest.fixture
def fetcher(session: ClientSession) -> RcmlFetcher:
    return RcmlFetcher.from_settings(session, SETTINGS)


def answer(body: str | bytes = GOOD, status: int = 200) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, body=body, content_type="text/xml")

    return handler


def redirect(location: str, status: int = 302) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, headers={"Location": location})

    return handler


def stall(receiver: Receiver) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        await receiver.release.wait()
        return web.Response(text=GOOD, content_type="text/xml")

    return handler


def chunked(body: bytes) -> Handler:
    """Streams the body without a Content-Length, so only counting can catch it."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/xml"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(body), 256 * 1024):
            await response.write(body[start : start + 256 * 1024])
        await response.write_eof()
        return response

    return handler


def padded(size: int) -> bytes:
    """A valid RCML document of exactly `size` bytes."""
    shell = b"<Response></Response>"
    return b"<Response>" + b" " * (size - len(shell)) + b"</Response>"


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def primary(url: str, method: str = "POST", fallback: str | None = None) -> RcmlTarget:
    return RcmlTarget(url, method, fallback, "POST")


# -- primary succeeds ------------------------------------------------------------------


async def test_post_sends_the_params_as_a_signed_form(
    fetcher: RcmlFetcher, receiver: Receiver
) -> None:
    url = receiver.on("/voice", answer())
    outcome = await fetcher.fetch(primary(url), PARAMS, KEY)
    assert outcome == RcmlOutcome(GOOD, "primary", None, None, outcome.attempts)
    [seen] = receiver.seen
    assert seen.method == "POST"
    assert seen.form == PARAMS
    assert seen.signature_verifies()
    assert seen.headers["User-Agent"] == "router/0.1"
    assert [(a.source, a.url, a.method, a.status, a.error) for a in outcome.attempts] == [
        ("primary", url, "POST", 200, None)
    ]


async def test_get_puts_the_params_in_the_query_and_keeps_the_urls_own(
    fetcher: RcmlFetcher, receiver: Receiver
) -> None:
    url = receiver.on("/voice", answer())
    outcome = await fetcher.fetch(primary(url + "?tenant=7&x=a+b", "GET"), PARAMS, KEY)
    assert outcome.source == "primary"
    [seen] = receiver.seen
    assert seen.method == "GET"
    assert seen.form == {}
    assert seen.query["tenant"] == "7"
    assert seen.query["x"] == "a b"
    assert {name: seen.query[name] for name in PARAMS} == PARAMS
    assert seen.signature_verifies()


async def test_sip_headers_travel_as_sipheader_params(
    fetcher: RcmlFetcher, receiver: Receiver
) -> None:
    params = voice_params(
        call_sid="CA1",
        account_sid="AC1",
        from_="alice",
        to="bob",
        sip_headers={"X-Customer-Id": "42", "X-Route": "gold"},
    )
    url = receiver.on("/voice", answer())
    await fetcher.fetch(primary(url), params, KEY)
    [seen] = receiver.seen
    assert seen.form["SipHeader_X-Customer-Id"] == "42"
    assert seen.form["SipHeader_X-Route"] == "gold"
    assert seen.signature_verifies()


async def test_a_body_of_exactly_the_limit_is_accepted(
    fetcher: RcmlFetcher, receiver: Receiver
) -> None:
    url = receiver.on("/big", answer(padded(MAX_BODY)))
    outcome = await fetcher.fetch(primary(url), PARAMS, KEY)
    assert outcome.document is not None
    assert len(outcome.document) == MAX_BODY


# -- fallback --------------------------------------------------------------------------

Setup = Callable[[Receiver], str]

TRIGGERS: dict[str, tuple[Setup, int]] = {
    "connection refused": (lambda r: f"http://127.0.0.1:{unused_port()}/voice", 11200),
    "timeout": (lambda r: r.on("/voice", stall(r)), 11205),
    "500": (lambda r: r.on("/voice", answer("<Response/>", status=500)), 11200),
    "404": (lambda r: r.url("/nothing-here"), 11200),
    "malformed XML": (lambda r: r.on("/voice", answer("<Response><Say>")), 12100),
    "wrong root": (lambda r: r.on("/voice", answer("<Reply><Say/></Reply>")), 12100),
    "not XML": (lambda r: r.on("/voice", answer("hello, world")), 12100),
    "entity expansion": (
        lambda r: r.on(
            "/voice",
            answer('<!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><Response>&b;</Response>'),
        ),
        12100,
    ),
    "external entity": (
        lambda r: r.on(
            "/voice",
            answer(
                '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><Response>&x;</Response>'
            ),
        ),
        12100,
    ),
    "too large": (lambda r: r.on("/voice", answer(padded(MAX_BODY + 1))), 11200),
    "too large, chunked": (lambda r: r.on("/voice", chunked(padded(MAX_BODY + 1))), 11200),
}


@pytest.mark.parametrize("trigger", TRIGGERS)
async def test_primary_failure_calls_the_fallback_with_error_code_and_url(
    trigger: str, fetcher: RcmlFetcher, receiver: Receiver
) -> None:
    setup, code = TRIGGERS[trigger]
    primary_url = setup(receiver)
    fallback_url = receiver.on("/fallback", answer("<Response><Hangup/></Response>"))
    outcome = await fetcher.fetch(primary(primary_url, fallback=fallback_url), PARAMS, KEY)
    assert outcome.document == "<Response><Hangup/></Response>"
    assert (outcome.source, outcome.error_code, outcome.error_url) == (
        "fallback",
        code,
        primary_url,
    )
    [seen] = receiver.at("/fallback")
    assert seen.form == {**PARAMS, "ErrorCode": str(code), "ErrorUrl": primary_url}
    assert seen.signature_verifies()


async def test_both_failing_gives_no_document_and_the_last_error(
    fetcher: RcmlFetcher, receiver: Receiver
) -> None:
    primary_url = receiver.on("/voice", answer(status=500))
    fallback_url = receiver.on("/fallback", answer("<oops"))
    outcome = await fetcher.fetch(primary(primary_url, fallback=fallback_url), PARAMS, KEY)
    assert (outcome.document, outcome.source) == (None, None)
    assert (outcome.error_code, outcome.error_url) == (12100, fallback_url)
    assert [(a.source, a.status) for a in outcome.attempts] == [
        ("primary", 500),
        ("fallback", 200),
    ]
    assert not outcome.ok


async def test_no_fallback_gives_the_primarys_error(
    fetcher: RcmlFetcher, receiver: Receiver
) -> None:
    url = receiver.on("/voice", answer(status=503))
    outcome = await fetcher.fetch(primary(url), PARAMS, KEY)
    assert outcome == RcmlOutcome(None, None, 11200, url, outcome.attempts)
    assert len(receiver.seen) == 1


async def test_fallback_may_use_get(fetcher: RcmlFetcher, receiver: Receiver) -> None:
    primary_url = receiver.on("/voice", answer(status=500))
    fallback_url = receiver.on("/fallback", answer())
    target = RcmlTarget(primary_url, "POST", fallback_url, "get")
    outcome = await fetcher.fetch(target, PARAMS, KEY)
    assert outcome.source == "fallback"
    [seen] = receiver.at("/fallback")
    assert (seen.method, seen.query["ErrorCode"], seen.query["ErrorUrl"]) == (
        "GET",
        "11200",
        primary_url,
    )
    assert seen.signature_verifies()


# -- redirects -------------------------------------------------------------------------


async def test_two_hops_are_followed_each_signed_post_becoming_get(
    fetcher: RcmlFetcher, receiver: Receiver
) -> None:
    """302 turns the POST into a GET of the Location as given; every hop is signed."""
    url = receiver.on("/one", redirect("/two?step=2"))
    receiver.on("/two", redirect(receiver.url("/doc"), status=303))
    receiver.on("/doc", answer())
    outcome = await fetcher.fetch(primary(url), PARAMS, KEY)
    assert outcome.source == "primary"
    assert [(seen.method, seen.url) for seen in receiver.seen] == [
        ("POST", url),
        ("GET", receiver.url("/two?step=2")),
        ("GET", receiver.url("/doc")),
    ]
    assert all(seen.signature_verifies() for seen in receiver.seen)
    assert [a.status for a in outcome.attempts] == [302, 303, 200]


@pytest.mark.parametrize("status", [307, 308])
async def test_307_and_308_keep_the_post_and_its_form(
    status: int, fetcher: RcmlFetcher, receiver: Receiver
) -> None:
    url = receiver.on("/old", redirect("/new", status=status))
    receiver.on("/new", answer())
    outcome = await fetcher.fetch(primary(url), PARAMS, KEY)
    assert outcome.source == "primary"
    [_, moved] = receiver.seen
    assert (moved.method, moved.form) == ("POST", PARAMS)
    assert moved.signature_verifies()


@pytest.mark.parametrize(("hops", "ok"), [(5, True), (6, False)])
async def test_at_most_five_redirects_are_followed(
    hops: int, ok: bool, fetcher: RcmlFetcher, receiver: Receiver
) -> None:
    for hop in range(hops):
        receiver.on(f"/hop{hop}", redirect(f"/hop{hop + 1}"))
    receiver.on(f"/hop{hops}", answer())
    outcome = await fetcher.fetch(primary(receiver.url("/hop0")), PARAMS, KEY)
    assert outcome.ok is ok
    assert outcome.error_code == (None if ok else 11200)
    assert len(receiver.seen) == (hops + 1 if ok else hops)


async def test_redirect_loop_fails(fetcher: RcmlFetcher, receiver: Receiver) -> None:
    url = receiver.on("/loop", redirect("/loop"))
    outcome = await fetcher.fetch(primary(url), PARAMS, KEY)
    assert (outcome.document, outcome.error_code) == (None, 11200)


async def test_redirect_to_a_denied_address_sends_nothing_there(
    fetcher: RcmlFetcher, receiver: Receiver, denied_receiver: Receiver
) -> None:
    denied_receiver.on("/doc", answer())
    url = receiver.on("/voice", redirect(denied_receiver.url("/doc")))
    outcome = await fetcher.fetch(primary(url), PARAMS, KEY)
    assert (outcome.document, outcome.error_code) == (None, 11200)
    assert denied_receiver.seen == []
    assert "denied" in (outcome.attempts[-1].error or "")


async def test_denied_url_fails_like_a_connection_error_without_traffic(
    fetcher: RcmlFetcher, receiver: Receiver, denied_receiver: Receiver
) -> None:
    url = denied_receiver.on("/voice", answer())
    fallback_url = receiver.on("/fallback", answer())
    outcome = await fetcher.fetch(primary(url, fallback=fallback_url), PARAMS, KEY)
    assert (outcome.source, outcome.error_code, outcome.error_url) == ("fallback", 11200, url)
    [seen] = receiver.at("/fallback")
    assert (seen.form["ErrorCode"], seen.form["ErrorUrl"]) == ("11200", url)
    assert denied_receiver.seen == []


async def test_denied_url_without_fallback_fails(
    fetcher: RcmlFetcher, denied_receiver: Receiver
) -> None:
    url = denied_receiver.on("/voice", answer())
    outcome = await fetcher.fetch(primary(url), PARAMS, KEY)
    assert outcome == RcmlOutcome(None, None, 11200, url, outcome.attempts)
    assert "denied" in (outcome.attempts[0].error or "")
    assert denied_receiver.seen == []


async def test_the_denied_server_is_reachable_when_not_denied(denied_receiver: Receiver) -> None:
    """Control for the two tests above: 127.0.0.2 answers when the deny list allows it."""
    url = denied_receiver.on("/voice", answer())
    async with create_client_session(Settings()) as session:
        outcome = await RcmlFetcher.from_settings(session, Settings()).fetch(
            primary(url), PARAMS, KEY
        )
    assert outcome.source == "primary"
    assert len(denied_receiver.seen) == 1


async def test_host_name_resolving_only_to_denied_addresses_fails_without_traffic(
    receiver: Receiver,
) -> None:
    """Names go through the resolver: localhost is refused when loopback is denied."""
    settings = Settings(security_deny_networks=("127.0.0.0/8", "::1/128"))
    receiver.on("/voice", answer())
    async with create_client_session(settings) as session:
        outcome = await RcmlFetcher.from_settings(session, settings).fetch(
            primary(f"http://localhost:{receiver.port}/voice"), PARAMS, KEY
        )
    assert (outcome.document, outcome.error_code) == (None, 11200)
    assert "denied" in (outcome.attempts[0].error or "")
    assert receiver.seen == []


async def test_cookies_set_by_one_tenant_are_never_sent_back(
    fetcher: RcmlFetcher, receiver: Receiver
) -> None:
    async def set_cookie(request: web.Request) -> web.StreamResponse:
        response = web.Response(text=GOOD, content_type="text/xml")
        response.set_cookie("session", "tenant-a")
        return response

    url = receiver.on("/voice", set_cookie)
    await fetcher.fetch(primary(url), PARAMS, KEY)
    await fetcher.fetch(primary(url), PARAMS, KEY)
    assert [seen.headers.get("Cookie") for seen in receiver.seen] == [None, None]


# -- logging ---------------------------------------------------------------------------


async def test_failures_are_logged_without_the_signing_key(
    fetcher: RcmlFetcher, receiver: Receiver
) -> None:
    primary_url = receiver.on("/voice", answer(status=500))
    fallback_url = receiver.on("/fallback", answer("<Nope/>"))
    with capture_logs() as logs:
        await fetcher.fetch(primary(primary_url, fallback=fallback_url), PARAMS, KEY)
    failures = [log for log in logs if log["event"] == "rcml_fetch_failed"]
    assert [(log["url"], log["error_code"]) for log in failures] == [
        (primary_url, 11200),
        (fallback_url, 12100),
    ]
    assert all(log["reason"] for log in failures)
    assert KEY not in repr(logs)


# -- request parameters and targets (pure) ---------------------------------------------


def test_voice_params_leave_out_unknown_optional_fields() -> None:
    params = voice_params(call_sid="CA1", account_sid="AC1", from_="+1555", to="+1666")
    assert params == {
        "CallSid": "CA1",
        "AccountSid": "AC1",
        "From": "+1555",
        "To": "+1666",
        "CallStatus": "ringing",
        "ApiVersion": "2012-04-24",
        "Direction": "inbound",
    }


def test_sms_params_are_the_message_set() -> None:
    params = sms_params(sms_sid="SM1", account_sid="AC1", from_="+1555", to="+1666", body="hi")
    assert params == {
        "SmsSid": "SM1",
        "AccountSid": "AC1",
        "From": "+1555",
        "To": "+1666",
        "Body": "hi",
        "ApiVersion": "2012-04-24",
    }


def test_refer_params_are_the_voice_set_plus_the_refer_fields() -> None:
    voice = voice_params(
        call_sid="CA1", account_sid="AC1", from_="+1555", to="+1666", forwarded_from="+1777"
    )
    params = refer_params(
        voice, refer_target="sip:carol@example.com", transferor="sip:bob@example.com"
    )
    assert "Transferee" not in params
    assert params == {
        **voice,
        "ReferTarget": "sip:carol@example.com",
        "Transferor": "sip:bob@example.com",
    }


def test_target_methods_are_normalised_and_an_empty_fallback_is_none() -> None:
    target = RcmlTarget("http://x.test/", " get", "", "post")
    assert (target.method, target.fallback_url, target.fallback_method) == ("GET", None, "POST")


def test_target_refuses_methods_other_than_get_and_post() -> None:
    with pytest.raises(Invalid) as caught:
        RcmlTarget("http://x.test/", "PUT")
    assert caught.value.param == "method"


async def test_credentials_in_the_primary_url_are_not_passed_to_the_fallback(
    fetcher: RcmlFetcher, receiver: Receiver
) -> None:
    """The primary gets Basic auth from its URL; ErrorUrl and the outcome omit it."""
    receiver.on("/voice", answer(status=500))
    fallback_url = receiver.on("/fallback", answer())
    plain = receiver.url("/voice")
    with_credentials = plain.replace("http://", "http://alice:s3cret@")
    target = primary(with_credentials, fallback=fallback_url)
    outcome = await fetcher.fetch(target, PARAMS, KEY)
    [first, second] = receiver.seen
    assert first.headers["Authorization"] == "Basic " + base64.b64encode(b"alice:s3cret").decode()
    assert first.signature_verifies()
    assert second.form["ErrorUrl"] == plain
    assert "s3cret" not in repr(outcome)
