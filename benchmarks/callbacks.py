"""Status callbacks: durable, ordered delivery throughput to a loopback receiver.

    python -m benchmarks.callbacks           # 1,000 calls x 3 statuses, under a minute
    python -m benchmarks.callbacks --quick   # 300 calls x 3
    python -m benchmarks.callbacks --tiny    # 30 calls x 3 (smoke)

Parties, each its own process: PostgreSQL (a private cluster, fsync ON), `python -m
router serve` (the dispatcher with its default settings unless flags say otherwise),
and the receiver, a small aiohttp app that records when each callback arrived
(CLOCK_MONOTONIC, comparable across processes) with its CallSid and SequenceNumber.
The receiver is a separate process, not a server inside this driver, so that neither
the driver's status POSTs nor the baseline's sender share its event loop: it answers
the router exactly as a tenant's web server would.

One number with a StatusCallback to the receiver; N routed calls inserted with SQL
(routing is not what is measured). Then:

- live: the driver POSTs ringing, in-progress, completed for every call (in that order
  per call, --concurrency calls at once) to /v1/events/calls/{sid}/status while the
  dispatcher delivers. Figures: callbacks delivered per second from the first to the
  last delivery, and end to end from the first status POST; every call's
  SequenceNumbers must arrive 0, 1, 2 and exactly once.
- drain: the same for N more calls accepted by a router without dispatcher, then a
  router with one started on the backlog: delivery alone, not sharing the CPU with
  status acceptance.
- baseline: the same 3N request bodies (read back from the callbacks table) POSTed by
  one bare aiohttp ClientSession to the same receiver at the dispatcher's concurrency
  towards one host (min(callbacks_concurrency, callbacks_per_host_limit)), each call's
  three in order.

Target (issue): >= 2,000 callbacks/s delivered durably and in order.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.fixtures import (
    Row,
    Tenant,
    database_url,
    free_port,
    fsync_ms,
    load_numbers,
    make_tenant,
    migrated,
    print_table,
    profile_shares,
    py_spy,
    router_process,
    server_process,
    write_json,
)
from router.domain import CallStatus
from router.store.callbacks import AttemptRecord, CallbackStore
from router.store.postgres import Database

TOKEN = "bench-gateway-token"
STATUSES = ("ringing", "in-progress", "completed")
TARGET_PER_SECOND = 2000.0
DEFAULT_CONCURRENCY = 64  # router's callbacks_concurrency default
DEFAULT_PER_HOST = 32  # router's callbacks_per_host_limit default


@dataclass(frozen=True)
class Size:
    calls: int
    wait: float  # longest wait for every delivery, seconds


SIZES = {
    "full": Size(1000, 180.0),
    "quick": Size(300, 60.0),
    "tiny": Size(30, 30.0),
}


# --- the receiver (its own process) -----------------------------------------------------


def receive(port: int) -> None:
    """Record every callback: arrival time, CallSid, SequenceNumber, CallStatus."""
    from aiohttp import web

    arrivals: list[tuple[float, str, int, str]] = []

    async def callback(request: web.Request) -> web.Response:
        form = await request.post()
        arrivals.append(
            (
                time.monotonic(),
                str(form.get("CallSid", "")),
                int(str(form.get("SequenceNumber", "-1"))),
                str(form.get("CallStatus", "")),
            )
        )
        return web.Response(text="")

    async def count(request: web.Request) -> web.Response:
        return web.json_response({"count": len(arrivals)})

    async def records(request: web.Request) -> web.Response:
        return web.json_response(arrivals)

    async def reset(request: web.Request) -> web.Response:
        arrivals.clear()
        return web.json_response({"count": 0})

    app = web.Application()
    app.router.add_post("/cb", callback)
    app.router.add_get("/ready", count)
    app.router.add_get("/count", count)
    app.router.add_get("/records", records)
    app.router.add_post("/reset", reset)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


@contextlib.contextmanager
def receiver() -> Iterator[str]:
    port = free_port()
    argv = [sys.executable, "-m", "benchmarks.callbacks", "--receive", "--port", str(port)]
    with server_process(argv, ready_url=f"http://127.0.0.1:{port}/ready"):
        yield f"http://127.0.0.1:{port}"


# --- set-up -----------------------------------------------------------------------------


async def prepare(dsn: str, callback_url: str) -> tuple[Tenant, str]:
    """A tenant and one number whose StatusCallback is the receiver."""
    async with migrated(dsn) as db:
        tenant = await make_tenant(db)
        await load_numbers(db, tenant, numbers=1, patterns=0)
        async with db.connection() as conn:
            number_sid = await conn.fetchval(
                "UPDATE incoming_numbers SET status_callback = $1, status_callback_method = 'POST'"
                " RETURNING sid",
                callback_url,
            )
        return tenant, str(number_sid)


async def insert_calls(
    dsn: str, tenant: Tenant, number_sid: str, count: int, tag: str
) -> list[str]:
    """`count` routed calls on the number, inserted in one statement."""
    db = await Database.connect(dsn, min_size=1, max_size=1)
    try:
        async with db.connection() as conn:
            rows = await conn.fetch(
                """
                INSERT INTO calls (sid, number_sid, account_sid, organization_sid, from_number,
                                   to_number, decision)
                SELECT 'CA' || md5($5 || i::text), $1, $2, $3, '+15005550006', '+12000000000',
                       '{"outcome": "routed"}'::json
                  FROM generate_series(1, $4) AS i
                RETURNING sid
                """,
                number_sid,
                tenant.account_sid,
                tenant.organization_sid,
                count,
                tag,
            )
    finally:
        await db.close()
    return [str(r["sid"]) for r in rows]


# --- driving ----------------------------------------------------------------------------


async def post_statuses(router_url: str, calls: list[str], concurrency: int) -> dict[str, Any]:
    """Every call's three statuses in order, `concurrency` calls at once; (first POST
    time, last answer time, failures)."""
    queue = list(reversed(calls))
    failures: list[str] = []
    headers = {"Authorization": f"Bearer {TOKEN}"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def worker() -> None:
            while queue:
                sid = queue.pop()
                for status in STATUSES:
                    url = f"{router_url}/v1/events/calls/{sid}/status"
                    async with session.post(url, json={"CallStatus": status}) as response:
                        await response.read()
                        if response.status != 202:
                            failures.append(f"{sid} {status}: {response.status}")

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        finished = time.monotonic()
    return {"started": started, "finished": finished, "failures": failures[:10]}


async def wait_for(receiver_url: str, expected: int, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as session:
        while True:
            async with session.get(f"{receiver_url}/count") as response:
                count = int((await response.json())["count"])
            if count >= expected or time.monotonic() > deadline:
                return count
            await asyncio.sleep(0.05)


async def arrivals(receiver_url: str, *, reset: bool = True) -> list[tuple[float, str, int, str]]:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{receiver_url}/records") as response:
            found = [tuple(r) for r in await response.json()]
        if reset:
            async with session.post(f"{receiver_url}/reset") as response:
                await response.read()
    return found  # type: ignore[return-value]


def check_order(found: list[tuple[float, str, int, str]], calls: list[str]) -> dict[str, Any]:
    """Per call: SequenceNumbers 0, 1, 2 in arrival order with the right statuses."""
    by_call: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for _, sid, sequence, status in sorted(found):
        by_call[sid].append((sequence, status))
    expected = list(enumerate(STATUSES))
    wrong = [sid for sid in calls if by_call.get(sid) != expected]
    return {
        "calls": len(calls),
        "in_order": len(calls) - len(wrong),
        "examples": {sid: by_call.get(sid) for sid in wrong[:3]},
        "duplicates": len(found) - len(set((sid, seq) for _, sid, seq, _ in found)),
    }


def delivery_figures(
    found: list[tuple[float, str, int, str]], since: float | None = None
) -> dict[str, float]:
    times = sorted(t for t, *_ in found)
    if len(times) < 2:
        return {"delivered": len(times), "per_second": 0.0, "end_to_end_per_second": 0.0}
    span = times[-1] - times[0]
    figures = {
        "delivered": len(times),
        "first_to_last_s": round(span, 3),
        "per_second": round((len(times) - 1) / span, 1) if span else 0.0,
    }
    if since is not None:
        total = times[-1] - since
        figures["end_to_end_s"] = round(total, 3)
        figures["end_to_end_per_second"] = round(len(times) / total, 1)
    return figures


async def baseline(dsn: str, receiver_url: str, calls: list[str], concurrency: int) -> Any:
    """The same request bodies, in order per call, from one bare ClientSession."""
    db = await Database.connect(dsn, min_size=1, max_size=1)
    try:
        async with db.connection() as conn:
            rows = await conn.fetch(
                "SELECT call_sid, url, params FROM callbacks WHERE call_sid = ANY($1)"
                " ORDER BY call_sid, sequence_number",
                calls,
            )
    finally:
        await db.close()
    by_call: dict[str, list[tuple[str, dict[str, str]]]] = defaultdict(list)
    for row in rows:
        by_call[row["call_sid"]].append((row["url"], dict(row["params"])))
    queue = list(reversed(list(by_call.values())))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            while queue:
                for url, params in queue.pop():
                    async with session.post(url, data=params) as response:
                        await response.read()

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    found = await arrivals(receiver_url)
    return found, started


# --- the run ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Knobs:
    concurrency: int  # status POSTs in flight (driver)
    dispatcher_concurrency: int
    per_host_limit: int


def run(
    size: Size, knobs: Knobs, profile: Path | None, diagnosis: bool | None
) -> tuple[list[Row], dict[str, Any]]:
    details: dict[str, Any] = {"calls": size.calls, "knobs": knobs.__dict__}
    details["fsync_ms_before"] = fsync_ms()
    expected = size.calls * len(STATUSES)
    dispatcher_env = {
        "ROUTER_CALLBACKS_CONCURRENCY": str(knobs.dispatcher_concurrency),
        "ROUTER_CALLBACKS_PER_HOST_LIMIT": str(knobs.per_host_limit),
    }
    with database_url(durable=True) as dsn, receiver() as receiver_url:
        tenant, number_sid = asyncio.run(prepare(dsn, f"{receiver_url}/cb"))
        live_calls = asyncio.run(insert_calls(dsn, tenant, number_sid, size.calls, "live"))
        drain_calls = asyncio.run(insert_calls(dsn, tenant, number_sid, size.calls, "drain"))

        # live: accept and deliver at once
        port = free_port()
        router_url = f"http://127.0.0.1:{port}"
        with router_process(dsn, port=port, gateway_token=TOKEN, env=dispatcher_env) as router:
            spy = _profiler(router.pid, profile, size.wait)
            posted = asyncio.run(post_statuses(router_url, live_calls, knobs.concurrency))
            asyncio.run(wait_for(receiver_url, expected, size.wait))
            if spy is not None:
                spy.send_signal(signal.SIGINT)  # py-spy stops and writes its output
                spy.wait(timeout=60)
                if profile is not None and profile.suffix == ".txt":
                    seconds = time.monotonic() - posted["started"]
                    details["profile"] = _profile_summary(profile, seconds)
        live = asyncio.run(arrivals(receiver_url))
        details["live"] = {
            **delivery_figures(live, posted["started"]),
            "status_posts_per_second": round(
                expected / (posted["finished"] - posted["started"]), 1
            ),
            "post_failures": posted["failures"],
            "order": check_order(live, live_calls),
        }

        # drain: a backlog accepted without a dispatcher, then delivered alone
        port = free_port()
        router_url = f"http://127.0.0.1:{port}"
        no_dispatcher = {"ROUTER_CALLBACKS_DISPATCHER_ENABLED": "false"}
        with router_process(dsn, port=port, gateway_token=TOKEN, env=no_dispatcher):
            drained_posts = asyncio.run(post_statuses(router_url, drain_calls, knobs.concurrency))
        port = free_port()
        with router_process(dsn, port=port, gateway_token=TOKEN, env=dispatcher_env):
            asyncio.run(wait_for(receiver_url, expected, size.wait))
        drain = asyncio.run(arrivals(receiver_url))
        details["drain"] = {
            **delivery_figures(drain),
            "post_failures": drained_posts["failures"],
            "order": check_order(drain, drain_calls),
        }

        # baseline: the live run's bodies, bare
        sender_concurrency = min(knobs.dispatcher_concurrency, knobs.per_host_limit)
        bare, bare_started = asyncio.run(
            baseline(dsn, receiver_url, live_calls, sender_concurrency)
        )
        details["baseline"] = {
            **delivery_figures(bare, bare_started),
            "concurrency": sender_concurrency,
            "order": check_order(bare, live_calls),
        }
        details["fsync_ms_after"] = fsync_ms()
        missed = min(details["live"]["per_second"], details["drain"]["per_second"])
        if diagnosis or (diagnosis is None and missed < TARGET_PER_SECOND):
            details["diagnosis"] = asyncio.run(diagnose(dsn, tenant, number_sid, size.calls))
    return rows(details, expected), details


def _profiler(pid: int, out: Path | None, seconds: float) -> subprocess.Popen[bytes] | None:
    return None if out is None else py_spy(pid, out, seconds)


# Where the live router's CPU goes (inclusive shares of its on-CPU samples).
PROFILED = (
    "status_event",
    "CallbackStore.accept_status",
    "Dispatcher._claim",
    "Dispatcher._send",
    "signature_headers",
    "CallbackStore.settle",
    "Connection.reset",
    "_SelectorSocketTransport.write",
)


def _profile_summary(out: Path, seconds: float) -> dict[str, Any]:
    found = profile_shares(out, PROFILED)
    found["router_busy_percent"] = round(found["samples"] / seconds, 1)  # py-spy: 100 Hz
    return found


async def diagnose(dsn: str, tenant: Tenant, number_sid: str, calls: int) -> dict[str, Any]:
    """Time the store operations of one delivery against a backlog like the benchmark's,
    in this process and through CallbackStore's own methods: acceptance (8 at once, as
    a loaded router's pool would), a claim of 8, settles one by one and 64 at once, and
    the floor set by the disk: a one-row durable commit."""
    sids = await insert_calls(dsn, tenant, number_sid, calls, "diagnose")
    db = await Database.connect(dsn, min_size=8, max_size=8)
    store = CallbackStore(db)
    figures: dict[str, Any] = {}
    try:
        now = datetime.now(UTC)
        queue = list(sids)

        async def accept() -> None:
            while queue:
                sid = queue.pop()
                for status in STATUSES:
                    await store.accept_status(sid, CallStatus(status), {}, now=now)

        started = time.perf_counter()
        await asyncio.gather(*(accept() for _ in range(8)))
        figures["accept_per_second_8_at_once"] = _rate(len(sids) * len(STATUSES), started)
        started = time.perf_counter()
        claimed = await store.claim(8, lease_seconds=60.0, in_flight_hosts=[], per_host_limit=8)
        figures["claim_8_ms_with_backlog"] = _ms(started)
        attempt = AttemptRecord(now, 200, None, 1.0, "")
        started = time.perf_counter()
        for callback in claimed:
            await store.settle(callback, attempt, state="delivered", next_attempt_at=None)
        figures["settle_ms_one_by_one"] = round(_ms(started) / max(1, len(claimed)), 2)
        batch = await store.claim(64, lease_seconds=60.0, in_flight_hosts=[], per_host_limit=64)
        started = time.perf_counter()
        await asyncio.gather(
            *(store.settle(c, attempt, state="delivered", next_attempt_at=None) for c in batch)
        )
        figures["settles_per_second_64_at_once"] = _rate(len(batch), started)
        async with db.connection() as conn:
            started = time.perf_counter()
            for sid in sids[:10]:
                await conn.execute("UPDATE calls SET date_updated = now() WHERE sid = $1", sid)
            figures["one_row_commit_ms"] = round(_ms(started) / 10, 2)
    finally:
        await db.close()
    return figures


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1e3, 2)


def _rate(count: int, started: float) -> float:
    return round(count / (time.perf_counter() - started), 1)


def rows(details: dict[str, Any], expected: int) -> list[Row]:
    live, drain, bare = details["live"], details["drain"], details["baseline"]
    ordered = (
        live["order"]["in_order"] == details["calls"]
        and live["order"]["duplicates"] == 0
        and live["delivered"] == expected
    )
    return [
        Row(
            "live: callbacks delivered/s (first to last delivery)",
            live["per_second"],
            "/s",
            bare["per_second"],
            f">= {TARGET_PER_SECOND:,.0f}/s",
            live["per_second"] >= TARGET_PER_SECOND,
        ),
        Row(
            "live: end to end/s (first status POST to last delivery)",
            live.get("end_to_end_per_second", 0.0),
            "/s",
            bare.get("end_to_end_per_second"),
        ),
        Row("live: status POSTs accepted/s (202)", live["status_posts_per_second"], "/s"),
        Row(
            "live: calls with SequenceNumbers 0,1,2 in order, once",
            live["order"]["in_order"],
            "calls",
            float(details["calls"]),
            "all",
            ordered,
        ),
        Row(
            "drain: backlog delivered/s (dispatcher alone)",
            drain["per_second"],
            "/s",
            bare["per_second"],
            f">= {TARGET_PER_SECOND:,.0f}/s",
            drain["per_second"] >= TARGET_PER_SECOND,
        ),
        Row(
            "drain: calls in order, once",
            drain["order"]["in_order"],
            "calls",
            float(details["calls"]),
            "all",
            drain["order"]["in_order"] == details["calls"] and drain["order"]["duplicates"] == 0,
        ),
        Row("baseline: bare ClientSession POSTs/s", bare["per_second"], "/s"),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.callbacks", description=__doc__)
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--quick", action="store_true", help="300 calls")
    sizes.add_argument("--tiny", action="store_true", help="30 calls (smoke)")
    parser.add_argument("--calls", type=int, help="calls (3 callbacks each)")
    parser.add_argument("--json", type=Path, help="write the table as JSON here")
    parser.add_argument("--concurrency", type=int, default=64, help="status POSTs in flight (64)")
    parser.add_argument(
        "--dispatcher-concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help=f"ROUTER_CALLBACKS_CONCURRENCY ({DEFAULT_CONCURRENCY}, the default)",
    )
    parser.add_argument(
        "--per-host-limit",
        type=int,
        default=DEFAULT_PER_HOST,
        help=f"ROUTER_CALLBACKS_PER_HOST_LIMIT ({DEFAULT_PER_HOST}, the default)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="py-spy the live router: FILE.svg (flame graph) or FILE.txt (collapsed stacks"
        " and a breakdown)",
    )
    parser.add_argument(
        "--diagnose",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="time claim, settle and commit in isolation (default: when the target is missed)",
    )
    parser.add_argument("--receive", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.receive:
        receive(args.port)
        return 0
    size = SIZES["tiny" if args.tiny else "quick" if args.quick else "full"]
    if args.calls:
        size = Size(args.calls, size.wait)
    knobs = Knobs(args.concurrency, args.dispatcher_concurrency, args.per_host_limit)
    table, details = run(size, knobs, args.profile, args.diagnose)
    print_table(
        f"callbacks: {size.calls:,} calls x {len(STATUSES)} statuses, fsync on (8 kB fdatasync"
        f" {details['fsync_ms_before']}/{details['fsync_ms_after']} ms before/after),"
        f" dispatcher concurrency {knobs.dispatcher_concurrency},"
        f" per host {knobs.per_host_limit}",
        table,
    )
    for name in ("live", "drain", "baseline", "diagnosis", "profile"):
        if name in details:
            print(f"  {name}: {details[name]}")
    if args.json:
        write_json(args.json, "callbacks", table, details)
    return 0


if __name__ == "__main__":
    sys.exit(main())
