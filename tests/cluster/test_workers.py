"""`router serve --workers 2` (SPEC 11): the workers share one port, a killed worker is
replaced while the service keeps answering and loses nothing it accepted, SIGTERM lets
in-flight requests finish and exits 0, and a write through one worker reaches the
caches of the others within the SPEC 3.5 bound."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from router.store.postgres import Database
from tests.cli.router_process import free_port as _free_port
from tests.cli.router_process import wait_ready as _wait_ready
from tests.cluster.test_serve import ADMIN_SID, ADMIN_TOKEN, AUTH

GATEWAY_TOKEN = "w" * 32
GATEWAY = {"Authorization": f"Bearer {GATEWAY_TOKEN}"}
BOUND_S = 1.0  # SPEC 3.5


@dataclass
class Router:
    """A `router serve` subprocess whose output is drained as it comes (an undrained
    pipe would fill with access lines and block the workers)."""

    process: subprocess.Popen[str]
    port: int
    lines: list[str]
    drain: threading.Thread

    def stop(self) -> str:
        """SIGTERM; the whole output once the process exited 0."""
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)
        self.drain.join(timeout=10)
        output = "".join(self.lines)
        assert self.process.returncode == 0, output
        return output


def _start(database_url: str, port: int, **settings: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "ROUTER_DATABASE_URL": database_url,
        "ROUTER_PORT": str(port),
        "ROUTER_LOG_FORMAT": "json",
        "ROUTER_CONFIG": str(Path(__file__).parents[2] / "config" / "router.toml"),
        **settings,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "router", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@contextmanager
def _router(database_url: str) -> Iterator[Router]:
    """Two workers on the suite's (emptied) database, with access logs (each line
    names the process that wrote it)."""
    port = _free_port()
    process = _start(
        database_url,
        port,
        ROUTER_SERVE_WORKERS="2",
        ROUTER_LOG_ACCESS="true",
        ROUTER_GATEWAY_TOKEN=GATEWAY_TOKEN,
        ROUTER_ADMIN_ACCOUNT_SID=ADMIN_SID,
        ROUTER_ADMIN_AUTH_TOKEN=ADMIN_TOKEN,
        ROUTER_CACHE_TTL_SECONDS="300",  # only notifications can make the write visible
    )
    lines: list[str] = []
    assert process.stdout is not None
    drain = threading.Thread(target=lines.extend, args=(process.stdout,), daemon=True)
    drain.start()
    router = Router(process, port, lines, drain)
    try:
        yield router
    finally:
        _stop_everything(router)


def _stop_everything(router: Router) -> None:
    """After a failure: the supervisor and its workers, by pid."""
    if router.process.poll() is not None:
        return
    workers = _workers(router.process.pid)
    router.process.send_signal(signal.SIGTERM)
    try:
        router.process.wait(timeout=45)
    except subprocess.TimeoutExpired:
        for pid in {router.process.pid, *workers}:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        router.process.wait(timeout=10)


def _workers(supervisor: int) -> set[int]:
    """The supervisor's child processes that run router (not PostgreSQL's)."""
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    found = set()
    for child in map(int, children):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue  # exited meanwhile
        if b"router" in command:
            found.add(child)
    return found


def _alive(pids: set[int]) -> set[int]:
    """Those still running (a zombie waiting for its parent to reap it is not)."""
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


def _answering_pids(output: str, path: str) -> set[int]:
    """The processes whose access log shows a request to `path`."""
    pids = set()
    for line in output.splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("event") == "http_request" and entry.get("path") == path:
                pids.add(int(entry["pid"]))
    return pids


async def _provision(session: aiohttp.ClientSession, port: int, number: str, url: str) -> None:
    base = f"http://127.0.0.1:{port}/2012-04-24/Accounts/{ADMIN_SID}"
    async with session.post(
        f"{base}/IncomingPhoneNumbers.json",
        data={"PhoneNumber": number, "isSIP": "true", "VoiceUrl": url},
        headers=AUTH,
    ) as response:
        assert response.status == 200, await response.text()


async def _call(
    session: aiohttp.ClientSession, port: int, to: str, *, fetch: bool = False
) -> dict[str, Any]:
    query = "" if fetch else "?fetch=false"
    event = {"From": "+15550001", "To": to, "Domain": "default.router.local"}
    async with session.post(
        f"http://127.0.0.1:{port}/v1/events/calls{query}", json=event, headers=GATEWAY
    ) as response:
        body: dict[str, Any] = await response.json()
        body["status"] = response.status
        return body


def _fresh_connections() -> aiohttp.ClientSession:
    # A new connection per request: the kernel spreads them over the workers' sockets.
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))


@asynccontextmanager
async def _slow_rcml(delay: float) -> AsyncIterator[str]:
    """An RCML server on 127.0.0.1 that takes `delay` seconds to answer."""

    async def answer(request: web.Request) -> web.Response:
        await asyncio.sleep(delay)
        return web.Response(text="<Response><Say>hi</Say></Response>", content_type="text/xml")

    app = web.Application()
    app.router.add_route("*", "/rcml", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        yield f"http://127.0.0.1:{port}/rcml"
    finally:
        await runner.cleanup()


async def _calls_until(
    session: aiohttp.ClientSession, port: int, stop: asyncio.Event
) -> tuple[list[str], int]:
    """Routed calls (their sids) and transport failures, until `stop`."""
    routed, failed = [], 0
    while not stop.is_set():
        try:
            body = await _call(session, port, "2000")
        except aiohttp.ClientError:
            failed += 1  # a connection of the killed worker: not accepted, the gateway retries
            continue
        assert body["status"] == 200, body
        routed.append(body["call_sid"])
    return routed, failed


async def _replacement_serving(
    session: aiohttp.ClientSession, port: int, supervisor: int, before: set[int]
) -> int:
    """The pid of the worker started in place of a killed one, once it serves (its
    figures show in /metrics)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for pid in _workers(supervisor) - before:
            async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
                if f'pid="{pid}"' in await response.text():
                    return pid
        await asyncio.sleep(0.1)
    raise AssertionError("no replacement worker served within 20 s")


@pytest.mark.long
async def test_two_workers_share_a_port_survive_a_kill_and_stop_gracefully(
    db: Database, database_url: str
) -> None:
    """Both workers answer; SIGKILL of one is survived with nothing accepted lost;
    SIGTERM lets a slow in-flight call finish, stops every worker and exits 0."""
    with _router(database_url) as router:
        process, port = router.process, router.port
        await _wait_ready(port, process)
        first = _workers(process.pid)
        assert len(first) == 2
        async with _fresh_connections() as session, _slow_rcml(1.5) as rcml:
            await _provision(session, port, "2000", rcml)
            for _ in range(40):
                assert (await _call(session, port, "2000"))["status"] == 200

            stop = asyncio.Event()
            load = asyncio.create_task(_calls_until(session, port, stop))
            await asyncio.sleep(0.3)
            victim = min(first)
            os.kill(victim, signal.SIGKILL)
            replacement = await _replacement_serving(session, port, process.pid, first)
            await asyncio.sleep(1.0)  # the replacement takes its share of the calls
            stop.set()
            routed, failed = await load
            replaced = _workers(process.pid)
            assert replaced == first - {victim} | {replacement}
            assert len(routed) > 20
            assert failed <= 5  # only connections the victim held when it died

            # Every call that was answered was recorded: its status report is accepted.
            for call_sid in routed:
                async with session.post(
                    f"http://127.0.0.1:{port}/v1/events/calls/{call_sid}/status",
                    json={"CallStatus": "completed"},
                    headers=GATEWAY,
                ) as response:
                    assert response.status == 202, call_sid

            slow = asyncio.create_task(_call(session, port, "2000", fetch=True))
            await asyncio.sleep(0.5)  # the call now waits on the RCML server
            process.send_signal(signal.SIGTERM)
            answer = await asyncio.wait_for(slow, 10)
        assert answer["status"] == 200
        assert answer["rcml_source"] == "primary"
        output = router.stop()  # exit status 0
        assert _answering_pids(output, "/v1/events/calls") == first | {replacement}
        assert not _alive(first | replaced)
        assert '"worker_exited"' in output


async def test_a_write_through_one_worker_reaches_every_worker_within_a_second(
    db: Database, database_url: str
) -> None:
    """Both workers cache a miss; once a number is created, within 1 s every request
    (each on a new connection, so spread over the workers) routes to it. /metrics
    counts every worker's decisions whichever worker answers the scrape. SIGKILL of
    the supervisor ends the workers too."""
    with _router(database_url) as router:
        process, port = router.process, router.port
        await _wait_ready(port, process)
        async with _fresh_connections() as session:
            statuses = [(await _call(session, port, "3000"))["status"] for _ in range(30)]
            assert statuses == [404] * 30  # enough new connections to reach both workers
            await _provision(session, port, "3000", "http://127.0.0.1:9/rcml")
            written = time.monotonic()
            late = []  # statuses of the requests sent after the bound
            while time.monotonic() - written < BOUND_S + 0.5:
                sent = time.monotonic() - written
                statuses.append((await _call(session, port, "3000"))["status"])
                if sent >= BOUND_S:
                    late.append(statuses[-1])
            # 40 scrapes on new connections: the chance that all meet one worker is 2^-39.
            scrapes = [await _metrics(session, port) for _ in range(40)]
        assert len(late) >= 10
        assert late == [200] * len(late)
        # A supervisor killed outright takes its workers with it (none is left holding
        # the port with nobody to restart or stop it).
        workers = _workers(process.pid)
        assert len(workers) == 2
        process.kill()
        process.wait(timeout=10)
        for _ in range(100):  # 5 s
            if not _alive(workers):
                break
            await asyncio.sleep(0.05)
        assert not _alive(workers)
        router.drain.join(timeout=10)
        output = "".join(router.lines)
    assert len(_answering_pids(output, "/v1/events/calls")) == 2
    routed, missed = statuses.count(200), statuses.count(404)
    assert routed + missed == len(statuses)
    for text in scrapes:
        assert (
            f'router_decisions_total{{kind="call",outcome="routed",stage="exact"}} {routed}.0'
            in text
        )
        assert (
            f'router_decisions_total{{kind="call",outcome="not_found",stage="none"}} {missed}.0'
            in text
        )
        assert (
            'router_http_request_seconds_count{method="POST",route="/v1/events/calls",'
            f'status="404"}} {missed}.0'
        ) in text
        assert 'router_build_info{version="' in text
        assert text.count("router_process_resident_memory_bytes{pid=") == 2
    assert len(_answering_pids(output, "/metrics")) == 2  # the scrapes met both workers


async def _metrics(session: aiohttp.ClientSession, port: int) -> str:
    async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
        assert response.status == 200
        return await response.text()


def test_a_negative_worker_count_is_refused_before_anything_starts(tmp_path: Path) -> None:
    """`--workers -1`: exit 2 with a message naming the setting; nothing is created."""
    data_dir = tmp_path / "data"
    process = subprocess.Popen(
        [sys.executable, "-m", "router", "serve", "--workers", "-1"],
        env={**os.environ, "ROUTER_DATA_DIR": str(data_dir)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 2
    assert "serve_workers must be 0 (one per CPU) or more, not -1" in output
    assert not data_dir.exists()
