"""Kamailio (examples/kamailio/kamailio.cfg) in front of router, for real: SIPp calls
through it on loopback, SIPp answers as the application server, and the tenant's status
callbacks arrive in order; unrouted calls get the SIP answer the script maps them to,
and a stopped or slow router gets 503 with Retry-After."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from html import escape
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from benchmarks.gateways import (
    ANSWERER,
    CALLER,
    Kamailio,
    free_udp_port,
    kamailio,
    sipp,
    sipp_command,
)
from router import config
from router.store.postgres import Database
from tests.api.test_callback_delivery import (
    Hit,
    Receiver,
    eventually,
    free_port,
    receiving,
    service,
)
from tests.api.test_status_events import DEAD_URL, provision
from tests.conftest import GATEWAY_TOKEN, Tenant

SIPP_LIMIT = 15.0  # seconds a SIPp run may take before the test fails
RCML = "<Response><Say>Hello from the gateway test</Say></Response>"


async def tenant_app(hit: Hit) -> web.StreamResponse:
    """The tenant's web application: RCML for /voice, 200 for the status callbacks."""
    if hit.path == "/voice":
        return web.Response(text=RCML, content_type="application/xml")
    return web.Response(text="ok")


@dataclass
class Rig:
    router: TestClient
    receiver: Receiver
    folder: Path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    tmp_path.chmod(0o755)
    return tmp_path


@asynccontextmanager
async def rig(db: Database, settings: config.Settings, folder: Path) -> AsyncIterator[Rig]:
    async with receiving(answer=tenant_app) as receiver, service(db, settings) as router:
        yield Rig(router, receiver, folder)


async def provision_with_callback(r: Rig, tenant: Tenant) -> str:
    """1234 with the tenant app's VoiceUrl and StatusCallback; router's URL."""
    await provision(
        r.router,
        tenant,
        "1234",
        VoiceUrl=r.receiver.url("/voice"),
        StatusCallback=r.receiver.url("/status"),
    )
    return f"http://127.0.0.1:{r.router.server.port}"


@asynccontextmanager
async def proxy(
    router_url: str,
    tenant: Tenant,
    app_port: int,
    timeout_seconds: int = 2,
    mode: str = "relay",
) -> AsyncIterator[Kamailio]:
    """Kamailio asking the router at `router_url`, relaying (or redirecting) to SIPp on
    `app_port`."""
    context = kamailio(
        router_url=router_url,
        gateway_token=GATEWAY_TOKEN,
        organization_sid=tenant.account.organization_sid,
        app_server_uri=f"sip:127.0.0.1:{app_port}",
        timeout_seconds=timeout_seconds,
        mode=mode,
    )
    running = await asyncio.to_thread(context.__enter__)
    try:
        yield running
    finally:
        await asyncio.to_thread(context.__exit__, None, None, None)


async def finished(process: subprocess.Popen[bytes], within: float = SIPP_LIMIT) -> int:
    """SIPp's exit status (0: every call went as its scenario says), waited off the loop."""
    return await asyncio.to_thread(process.wait, within)


def call(proxy_: Kamailio, number: str, folder: Path, *extra: str) -> list[str]:
    """One call from the shipped caller scenario to `number` through Kamailio."""
    return sipp_command(
        CALLER,
        port=free_udp_port(),
        service=number,
        remote=proxy_.address,
        extra=["-m", "1", "-d", "1200", "-recv_timeout", "8000", *extra],
    )


RETRY_AFTER = ("Retry-After:", "^ *[0-9]+$")


def refused_scenario(folder: Path, code: int, header: tuple[str, str] | None = None) -> Path:
    """A caller that expects the INVITE answered with `code` (with `header` matching the
    given regular expression)."""
    check = (
        f'<action><ereg regexp="{escape(header[1], quote=True)}" search_in="hdr"'
        f' header="{header[0]}"'
        ' check_it="true" assign_to="seen"/><log message="seen: [$seen]"/></action>'
        if header
        else ""
    )
    path = folder / f"refused-{code}.xml"
    path.write_text(
        f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="refused {code}">
  <send retrans="500"><![CDATA[

      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:+14155550000@[local_ip]:[local_port]>;tag=[pid]T[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:+14155550000@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="{code}">{check}</recv>
  <send><![CDATA[

      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      [last_Via:]
      From: <sip:+14155550000@[local_ip]:[local_port]>;tag=[pid]T[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
</scenario>
""",
        encoding="ascii",
    )
    return path


def rejecting_answerer(folder: Path, code: int) -> Path:
    """An application server that rings, then rejects the call with `code`."""
    headers = """
      [last_Via:]
      [last_Record-Route:]
      [last_From:]
      [last_To:];tag=[pid]R[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port]>
      Content-Length: 0
"""
    path = folder / f"rejecting-{code}.xml"
    path.write_text(
        f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="rejecting {code}">
  <recv request="INVITE"/>
  <send><![CDATA[

      SIP/2.0 180 Ringing{headers}
  ]]></send>
  <send retrans="500"><![CDATA[

      SIP/2.0 {code} Rejected{headers}
  ]]></send>
  <recv request="ACK"/>
</scenario>
""",
        encoding="ascii",
    )
    return path


async def refused_call(
    proxy_: Kamailio, number: str, folder: Path, code: int, header: tuple[str, str] | None = None
) -> float:
    """Call `number` expecting `code` (and `header`); the seconds the answer took."""
    log = folder / f"refused-{code}.log"
    command = sipp_command(
        refused_scenario(folder, code, header),
        port=free_udp_port(),
        service=number,
        remote=proxy_.address,
        extra=["-m", "1", "-recv_timeout", "8000", "-trace_logs", "-log_file", str(log)],
    )
    started = time.monotonic()
    with sipp(command, folder) as caller:
        status = await finished(caller)
    took = time.monotonic() - started
    assert status == 0, _explain(folder, proxy_)
    return took


def _explain(folder: Path, proxy_: Kamailio) -> str:
    outputs = "\n".join(p.read_text(errors="replace")[-3000:] for p in folder.glob("*.out"))
    errors = "\n".join(p.read_text(errors="replace")[-3000:] for p in folder.glob("*error*"))
    return f"SIPp:\n{outputs}\n{errors}\nKamailio:\n{proxy_.log_tail()}"


@pytest.fixture
def app_port() -> int:
    """Where SIPp answers as the application server (Kamailio's APP_SERVER_URI)."""
    return free_udp_port()


# --- a routed call, end to end -------------------------------------------------------------


async def test_a_routed_call_is_relayed_completes_and_reports_its_progress_in_order(
    db: Database, settings: config.Settings, tenant: Tenant, folder: Path, app_port: int
) -> None:
    """SIPp -> Kamailio -> router -> SIPp as the application server: the call is relayed
    with router's CallSid and RCML source in headers, answered, hung up; the number's
    StatusCallback gets ringing, in-progress, completed (with CallDuration) as 0, 1, 2."""
    async with rig(db, settings, folder) as r:
        router_url = await provision_with_callback(r, tenant)
        async with proxy(router_url, tenant, app_port) as kam:
            answer_log = folder / "answers.log"
            answerer = sipp_command(
                ANSWERER,
                port=app_port,
                extra=["-m", "1", "-trace_logs", "-log_file", str(answer_log)],
            )
            with sipp(answerer, folder) as answering, sipp(call(kam, "1234", folder), folder) as c:
                assert await finished(c) == 0, _explain(folder, kam)
                assert await finished(answering) == 0, _explain(folder, kam)
            statuses = [h for h in r.receiver.hits if h.path == "/status"]

            def all_three() -> bool:
                statuses[:] = [h for h in r.receiver.hits if h.path == "/status"]
                return len(statuses) >= 3

            await eventually(all_three, within=10)
            assert GATEWAY_TOKEN not in kam.log_tail(size=10**7)  # the token is not logged
    voice = [h for h in r.receiver.hits if h.path == "/voice"]
    assert len(voice) == 1  # router fetched the RCML once, before Kamailio relayed
    call_sid = voice[0].params["CallSid"]
    assert voice[0].params["To"] == "1234"
    assert voice[0].params["From"] == "+14155550000"
    assert f"answered call_sid={call_sid} rcml_source=primary\n" in answer_log.read_text()
    assert [(h.params["CallStatus"], h.sequence) for h in statuses] == [
        ("ringing", 0),
        ("in-progress", 1),
        ("completed", 2),
    ]
    assert {h.call_sid for h in statuses} == {call_sid}
    assert statuses[2].params["CallDuration"] in {"1", "2"}  # a 1.2 s call, whole seconds
    assert "CallDuration" not in statuses[0].params


async def test_redirect_mode_answers_302_to_the_application_server_with_the_call_sid(
    db: Database, settings: config.Settings, tenant: Tenant, folder: Path, app_port: int
) -> None:
    """ROUTER_MODE "redirect": a routed call gets 302 with APP_SERVER_URI and router's
    CallSid in the Contact; Kamailio does not relay it."""
    async with rig(db, settings, folder) as r:
        router_url = await provision_with_callback(r, tenant)
        async with proxy(router_url, tenant, app_port, mode="redirect") as kam:
            contact = ("Contact:", f"<sip:127.0.0.1:{app_port};callsid=CA[0-9a-f]{{32}}>")
            await refused_call(kam, "1234", folder, 302, header=contact)
    voice = [h for h in r.receiver.hits if h.path == "/voice"]
    assert len(voice) == 1  # routed by router, RCML fetched
    seen = (folder / "refused-302.log").read_text()
    assert f"seen: <sip:127.0.0.1:{app_port};callsid={voice[0].params['CallSid']}>" in seen


@pytest.mark.parametrize(("code", "status"), [(486, "busy"), (480, "no-answer"), (500, "failed")])
async def test_a_rejected_call_reports_ringing_then_why_it_failed(
    db: Database,
    settings: config.Settings,
    tenant: Tenant,
    folder: Path,
    app_port: int,
    code: int,
    status: str,
) -> None:
    """The application server rings, then answers 486, 480 or 500: the caller gets that
    answer and the StatusCallback gets ringing, then busy, no-answer or failed."""
    async with rig(db, settings, folder) as r:
        router_url = await provision_with_callback(r, tenant)
        async with proxy(router_url, tenant, app_port) as kam:
            answerer = sipp_command(rejecting_answerer(folder, code), port=app_port)
            with sipp([*answerer, "-m", "1"], folder):
                await refused_call(kam, "1234", folder, code)

            def both() -> bool:
                return len([h for h in r.receiver.hits if h.path == "/status"]) >= 2

            await eventually(both, within=10)
    statuses = [h for h in r.receiver.hits if h.path == "/status"]
    assert [(h.params["CallStatus"], h.sequence) for h in statuses] == [
        ("ringing", 0),
        (status, 1),
    ]


# --- unrouted calls and an absent router ---------------------------------------------------


@pytest.mark.parametrize(
    ("number", "voice_url", "code", "outcome"),
    [
        ("5550000", None, 404, "not_found"),  # not provisioned
        ("1234", "", 480, "no_application"),  # provisioned without a VoiceUrl
        ("1234", f"{DEAD_URL}/voice", 502, "rcml_unavailable"),  # no RCML
        ("12!34", None, 400, ""),  # router refuses the dialed string (400, no outcome)
    ],
)
async def test_an_unrouted_call_gets_the_mapped_sip_answer(
    db: Database,
    settings: config.Settings,
    tenant: Tenant,
    folder: Path,
    app_port: int,
    number: str,
    voice_url: str | None,
    code: int,
    outcome: str,
) -> None:
    """not_found -> 404, no_application -> 480, rcml_unavailable -> 502, a request router
    refuses (400) -> 400."""
    async with rig(db, settings, folder) as r:
        if voice_url is not None:
            await provision(r.router, tenant, "1234", VoiceUrl=voice_url)
        router_url = f"http://127.0.0.1:{r.router.server.port}"
        async with proxy(router_url, tenant, app_port) as kam:
            await refused_call(kam, number, folder, code)
            assert f"outcome={outcome} for CA" in kam.log_tail()


async def test_a_call_to_a_suspended_account_gets_403(
    db: Database,
    settings: config.Settings,
    admin: Tenant,
    tenant: Tenant,
    folder: Path,
    app_port: int,
) -> None:
    """account_inactive -> 403."""
    async with rig(db, settings, folder) as r:
        await provision(r.router, tenant, "1234", VoiceUrl=r.receiver.url("/voice"))
        response = await r.router.post(
            f"/2012-04-24/Accounts/{tenant.sid}.json",
            data={"Status": "suspended"},
            headers=admin.auth,
        )
        assert response.status == 200, await response.text()
        router_url = f"http://127.0.0.1:{r.router.server.port}"
        async with proxy(router_url, tenant, app_port) as kam:
            await refused_call(kam, "1234", folder, 403)
    assert not [h for h in r.receiver.hits if h.path == "/voice"]


async def test_a_stopped_router_gets_503_with_retry_after(
    tenant: Tenant, folder: Path, app_port: int
) -> None:
    """Nothing listens at the router URL: the caller gets 503 with Retry-After at once."""
    async with proxy(f"http://127.0.0.1:{free_port()}", tenant, app_port) as kam:
        took = await refused_call(kam, "1234", folder, 503, header=RETRY_AFTER)
    assert took < 3


async def test_a_slow_router_gets_503_after_the_timeout(
    tenant: Tenant, folder: Path, app_port: int
) -> None:
    """A router that does not answer within ROUTER_TIMEOUT (1 s here): 503, Retry-After."""
    release = asyncio.Event()

    async def hold(hit: Hit) -> web.StreamResponse:
        await asyncio.wait_for(release.wait(), timeout=10)
        return web.Response(status=500)

    async with receiving(answer=hold) as slow:
        async with proxy(slow.url(""), tenant, app_port, timeout_seconds=1) as kam:
            took = await refused_call(kam, "1234", folder, 503, header=RETRY_AFTER)
        release.set()
    assert 0.9 < took < 4
    assert [h.path for h in slow.hits] == ["/v1/events/calls"]
