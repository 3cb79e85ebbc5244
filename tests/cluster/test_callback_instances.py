"""Status callbacks with several router instances on one database (DESIGN 5): each callback
is delivered by one instance only, and when an instance dies mid-delivery another one takes
over after the lease expires, keeping SequenceNumber order."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from router import config
from router.app import create_app
from router.store.postgres import Database
from tests.api.test_callback_delivery import (
    Hit,
    assert_fifo_per_call,
    eventually,
    free_port,
    receiving,
)
from tests.api.test_status_events import (
    callback_rows,
    fast_settings,
    post_status,
    provision,
    route_call,
)
from tests.conftest import GATEWAY_TOKEN, Tenant

STATUSES = ("ringing", "in-progress", "completed")


async def start_instance(
    stack: AsyncExitStack, db: Database, settings: config.Settings, **changes: object
) -> TestClient:
    """Another router instance on the shared database, stopped when `stack` closes."""
    app = create_app(fast_settings(settings, **changes), database=db)
    return await stack.enter_async_context(TestClient(TestServer(app, host="127.0.0.1")))


async def test_two_instances_deliver_each_callback_exactly_once(
    db: Database, settings: config.Settings, gateway: dict[str, str], tenant: Tenant
) -> None:
    """Two instances with dispatchers share the queue: the receiver sees every callback
    succeed once, in order per call, and more requests at a time than one instance's
    per-host limit allows (so both really delivered)."""
    in_flight = 0
    most_in_flight = 0

    async def steady(hit: Hit) -> web.StreamResponse:
        nonlocal in_flight, most_in_flight
        in_flight += 1
        most_in_flight = max(most_in_flight, in_flight)
        await asyncio.sleep(0.03)
        in_flight -= 1
        return web.Response(text="ok")

    calls = 40
    limits = {"callbacks_lease_seconds": 60, "callbacks_per_host_limit": 2}
    async with receiving(answer=steady) as receiver, AsyncExitStack() as stack:
        first = await start_instance(stack, db, settings, **limits)
        second = await start_instance(stack, db, settings, **limits)
        await provision(first, tenant, "1234", StatusCallback=receiver.url())
        sids = [await route_call(first, gateway, tenant, "1234") for _ in range(calls)]

        async def report(index: int, sid: str) -> None:
            client = (first, second)[index % 2]
            for status in STATUSES:
                assert (await post_status(client, gateway, sid, status))[0] == 202

        await asyncio.gather(*(report(i, sid) for i, sid in enumerate(sids)))
        await eventually(lambda: len(receiver.successes()) >= calls * 3, within=20)
        await asyncio.sleep(0.3)  # a duplicate would arrive here
    per_delivery = Counter(hit.delivery_id for hit in receiver.hits)
    assert len(per_delivery) == calls * 3
    assert set(per_delivery.values()) == {1}
    assert all(hit.succeeded for hit in receiver.hits)
    assert_fifo_per_call(receiver.hits)
    assert most_in_flight > 2  # more than one instance's per-host limit: both delivered
    assert most_in_flight <= 4  # and each kept to its own limit
    assert {r["state"] for r in await callback_rows(db)} == {"delivered"}


# --- an instance killed mid-delivery ---------------------------------------------------------


@pytest.fixture
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="router-instance-", dir="/tmp") as path:
        yield Path(path)


def spawn_serve(database_url: str, port: int, workdir: Path) -> subprocess.Popen[bytes]:
    """`python -m router serve` on the given database, logging to workdir/serve.log."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ROUTER_")},
        "ROUTER_DATABASE_URL": database_url,
        "ROUTER_HOST": "127.0.0.1",
        "ROUTER_PORT": str(port),
        "ROUTER_DATA_DIR": str(workdir / "data"),
        "ROUTER_GATEWAY_TOKEN": GATEWAY_TOKEN,
        "ROUTER_LOG_FORMAT": "json",
        "ROUTER_DATABASE_POOL_MIN": "1",
        "ROUTER_CALLBACKS_LEASE_SECONDS": "2",
        "ROUTER_CALLBACKS_TIMEOUT_SECONDS": "1.5",
        "ROUTER_CALLBACKS_POLL_INTERVAL_SECONDS": "0.1",
        "ROUTER_CALLBACKS_BASE_DELAY_SECONDS": "0.05",
    }
    with (workdir / "serve.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "router", "serve"],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def serve_log(workdir: Path) -> str:
    return (workdir / "serve.log").read_text(errors="replace")


@pytest.fixture
async def serve_process(
    database_url: str, db: Database, workdir: Path
) -> AsyncIterator[subprocess.Popen[bytes]]:
    """A real `router serve` process on the test database with a 2 s callback lease;
    killed at the end if the test left it running."""
    port = free_port()
    process = spawn_serve(database_url, port, workdir)
    try:
        await wait_ready(port, process, workdir)
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        await asyncio.to_thread(process.wait, 30)


async def wait_ready(port: int, process: subprocess.Popen[bytes], workdir: Path) -> None:
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            assert process.poll() is None, serve_log(workdir)
            try:
                async with session.get(f"http://127.0.0.1:{port}/readyz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"router serve was not ready within 30 s:\n{serve_log(workdir)}")


async def test_killed_instance_callback_is_delivered_by_another_after_the_lease(
    db: Database,
    settings: config.Settings,
    gateway: dict[str, str],
    tenant: Tenant,
    serve_process: subprocess.Popen[bytes],
) -> None:
    """Instance A (a real process) is SIGKILLed while its first delivery is held open by the
    receiver; instance B leaves that callback alone while A's lease runs, then re-sends it
    with the same delivery id and delivers the call's later callbacks in order."""
    held = asyncio.Event()

    async def hold_first(hit: Hit) -> web.StreamResponse:
        if hit.order == 0:
            held.set()
            await receiver.release.wait()
        return web.Response(text="ok")

    async with receiving(answer=hold_first) as receiver, AsyncExitStack() as stack:
        api = await start_instance(stack, db, settings, callbacks_dispatcher_enabled=False)
        await provision(api, tenant, "1234", StatusCallback=receiver.url())
        sid = await route_call(api, gateway, tenant, "1234")
        for status in STATUSES:
            assert (await post_status(api, gateway, sid, status))[0] == 202
        await asyncio.wait_for(held.wait(), 10)  # A has sent SequenceNumber 0
        claimed_at = receiver.hits[0].at

        await start_instance(stack, db, settings, callbacks_lease_seconds=2)
        await asyncio.sleep(0.5)
        assert len(receiver.hits) == 1  # B neither re-sends 0 under A's lease nor sends 1

        serve_process.send_signal(signal.SIGKILL)
        await asyncio.to_thread(serve_process.wait, 30)
        await eventually(lambda: len(receiver.successes()) == 3, within=10)
        await asyncio.sleep(0.2)
    first, *rest = receiver.hits
    assert [h.sequence for h in receiver.hits] == [0, 0, 1, 2]
    assert rest[0].delivery_id == first.delivery_id
    assert rest[0].at - claimed_at >= 1.8  # not before A's 2 s lease expired
    assert [h.status for h in rest] == [200, 200, 200]
    assert_fifo_per_call(receiver.hits)
    rows = await callback_rows(db, sid)
    assert [(r["sequence_number"], r["state"], r["attempts"]) for r in rows] == [
        (0, "delivered", 2),  # A's attempt, and B's
        (1, "delivered", 1),
        (2, "delivered", 1),
    ]
    async with db.connection() as conn:
        attempts = await conn.fetch(
            "SELECT status, latency_ms, settled FROM callback_attempts WHERE callback_id = $1"
            " ORDER BY id",
            rows[0]["id"],
        )
    # A was killed before it could record what the receiver answered: its attempt is on
    # record all the same (written by its claim), without an outcome.
    assert [(a["status"], a["settled"]) for a in attempts] == [(None, False), (200, True)]
    assert attempts[0]["latency_ms"] is None
