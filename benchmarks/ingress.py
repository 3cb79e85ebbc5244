"""HTTP ingress at saturation: the router's call events against a bare aiohttp handler.

    python -m benchmarks.ingress            # 1M numbers + 10k patterns, ~4 minutes
    python -m benchmarks.ingress --quick    # 50k numbers + 1k patterns, ~30 s
    python -m benchmarks.ingress --tiny     # smoke size
    python -m benchmarks.ingress --profile router.txt   # + a py-spy breakdown of call_event

Every party is its own process, as in production: PostgreSQL (a private cluster, fsync
on unless --fsync-off: the router writes a call record per routed call),
`python -m router serve` (callback dispatcher off, log level warning), a loopback RCML
server (a small aiohttp app), the baseline (a bare aiohttp handler that checks the
Bearer token, parses the same JSON and returns a fixed decision of the router's shape)
and the load generator (`python -m benchmarks.loadgen`, one process per run).

For each of bare, router with `?fetch=false` and router fetching RCML from the loopback
server: a closed-loop run at --concurrency (saturation: throughput, p50/p99), then an
open-loop run at half the throughput just measured (p50/p99 at half saturation, from
the scheduled send times; 35 s in full size, longer than the 30 s cache TTL, so that
periodic work such as pattern-matcher rebuilds shows in the p99). Dialed numbers (mix
exact=85,pattern=10,miss=5): exact hits drawn uniformly from all loaded DIDs (so with
1M numbers the exact cache is mostly cold; --hot N draws from the first N only),
strings only a pattern catches, misses.

Targets (issue): router fetch=false throughput >= 50 % of bare, p99 < 10 ms at half
saturation. Load generator, server and PostgreSQL share the machine's cores, so each
run reports the load generator's own CPU: near 100 % would mean it, not the server,
limited that run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import hmac
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.fixtures import (
    REPO_ROOT,
    Row,
    Tenant,
    database_url,
    did,
    free_port,
    fsync_ms,
    load_average,
    load_numbers,
    make_tenant,
    migrated,
    pattern_hits,
    pattern_texts,
    print_table,
    profile_shares,
    py_spy,
    router_process,
    server_process,
    write_json,
)

TOKEN = "bench-gateway-token"
MIX = "exact=85,pattern=10,miss=5"
RCML = b"<Response><Say>hi</Say></Response>"
TARGET_RATIO = 0.50
TARGET_P99_MS = 10.0


@dataclass(frozen=True)
class Size:
    numbers: int
    patterns: int
    duration: float  # saturation runs
    half_duration: float  # half-saturation runs: in full size longer than the cache TTL
    warmup: float
    concurrency: int


# The full half-saturation runs last 35 s so that each includes what happens every
# cache_ttl_seconds (30 s by default): expiring entries, rebuilt pattern matchers.
SIZES = {
    "full": Size(1_000_000, 10_000, 15.0, 35.0, 3.0, 64),
    "quick": Size(50_000, 1_000, 2.0, 2.0, 0.5, 64),
    "tiny": Size(1_000, 50, 0.3, 0.3, 0.0, 8),
}


# --- the servers (each run in its own process by this module) -------------------------


def serve(kind: str, port: int) -> None:
    """Run the bare baseline or the RCML server on 127.0.0.1:`port` until terminated."""
    import orjson
    from aiohttp import web

    expected = f"Bearer {TOKEN}".encode()

    async def bare(request: web.Request) -> web.Response:
        authorization = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(authorization, expected):
            return web.json_response({"code": 20003}, status=401)
        body = orjson.loads(await request.read())
        answer = {
            "call_sid": body.get("CallSid"),
            "outcome": "routed",
            "number": {
                "sid": "PN" + "0" * 32,
                "account_sid": "AC" + "0" * 32,
                "phone_number": body.get("To"),
                "organization_sid": body.get("DestinationOrganizationSid"),
            },
            "match": {"how": "exact", "spelling": body.get("To"), "pattern": None},
            "target": {
                "kind": "url",
                "application_sid": None,
                "url": "http://127.0.0.1:9/r",
                "method": "POST",
                "fallback_url": None,
                "fallback_method": None,
            },
            "rcml": None,
            "rcml_source": None,
        }
        return web.Response(body=orjson.dumps(answer), content_type="application/json")

    async def rcml(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=RCML, content_type="application/xml")

    async def ready(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/ready", ready)
    if kind == "bare":
        app.router.add_post("/v1/events/calls", bare)
    else:
        app.router.add_route("*", "/rcml", rcml)
    # reuse_port: `processes` of these share one port, like router's workers.
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None, reuse_port=True)


@contextlib.contextmanager
def helper_server(kind: str, processes: int = 1) -> Iterator[tuple[str, list[int]]]:
    """`processes` servers of `kind` on one port (SO_REUSEPORT)."""
    port = free_port()
    argv = [sys.executable, "-m", "benchmarks.ingress", "--serve", kind, "--port", str(port)]
    with contextlib.ExitStack() as stack:
        pids = [
            stack.enter_context(
                server_process(argv, ready_url=f"http://127.0.0.1:{port}/ready")
            ).pid
            for _ in range(processes)
        ]
        yield f"http://127.0.0.1:{port}", pids


# --- dialed strings -------------------------------------------------------------------


def dial_strings(numbers: int, patterns: int, *, misses: int = 300) -> tuple[list[str], list[str]]:
    """Strings that a pattern catches (fixtures.pattern_hits, minus any that a loaded DID
    would catch first) and strings nothing catches (checked with the router's matcher)."""
    from router.patterns import OrgMatcher, PatternEntry
    from router.spellings import spellings

    rng = random.Random(11)
    texts = pattern_texts(patterns)
    first = int(did(0)[2:])

    def exact_hit(dialed: str) -> bool:
        for spelling in spellings(dialed, "US"):
            if spelling.startswith("+1") and spelling[1:].isdigit() and len(spelling) == 12:
                offset = int(spelling[2:]) - first
                if offset % 7 == 0 and 0 <= offset // 7 < numbers:
                    return True
        return False

    caught = [d for d in pattern_hits(texts, min(patterns, 10_000)) if not exact_hit(d)]
    matcher = OrgMatcher(PatternEntry(f"PN{i:032x}", t, float(i)) for i, t in enumerate(texts))
    candidates = {f"+1999555{rng.randrange(10_000):04d}" for _ in range(misses)}
    missed = [d for d in sorted(candidates) if matcher.match(spellings(d, "US")) is None]
    return caught, missed


# --- the runs -------------------------------------------------------------------------


def loadgen(
    url: str,
    tenant: Tenant,
    inputs: dict[str, str],
    size: Size,
    *,
    fetch: bool,
    rate: float | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """One load generator run in its own process; its JSON summary."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = Path(handle.name)
    argv = [
        sys.executable,
        "-m",
        "benchmarks.loadgen",
        "--url",
        url,
        "--token",
        TOKEN,
        "--destination-org",
        tenant.organization_sid,
        "--mix",
        inputs["mix"],
        "--numbers",
        inputs["exact"],
        "--pattern-numbers",
        inputs["pattern"],
        "--miss-numbers",
        inputs["miss"],
        "--duration",
        str(size.half_duration if rate else size.duration),
        "--warmup",
        str(size.warmup),
        "--json",
        str(out),
        "--fetch" if fetch else "--no-fetch",
    ]
    argv += ["--rate", f"{rate:.1f}"] if rate else ["--concurrency", str(size.concurrency)]
    if not progress:
        argv.append("--quiet")
    try:
        subprocess.run(argv, cwd=REPO_ROOT, check=True, stdout=subprocess.DEVNULL, timeout=600)
        summary: dict[str, Any] = json.loads(out.read_text())
        return summary
    finally:
        out.unlink(missing_ok=True)


def measure(
    name: str,
    url: str,
    tenant: Tenant,
    inputs: dict[str, str],
    size: Size,
    servers: Sequence[int],
    **kw: Any,
) -> dict[str, Any]:
    """Saturation (closed loop) then half saturation (open loop at half that rate),
    and the CPU the server processes (`servers` and their children) spent per request
    in the half-saturation run: a fixed rate, so the figure hardly depends on what
    else runs on the machine."""
    print(f"-- {name}: saturation, concurrency {size.concurrency}", file=sys.stderr, flush=True)
    saturated = loadgen(url, tenant, inputs, size, **kw)
    _brief(saturated)
    half = saturated["throughput_rps"] / 2
    print(f"-- {name}: half saturation, {half:,.0f}/s", file=sys.stderr, flush=True)
    cpu_before = tree_cpu_seconds(servers)
    halved = loadgen(url, tenant, inputs, size, rate=half, **kw)
    spent = tree_cpu_seconds(servers) - cpu_before
    # The open loop sends at the rate from its first second, warm-up included.
    halved["server_cpu_us_per_request"] = spent / (half * (size.warmup + size.half_duration)) * 1e6
    _brief(halved)
    return {"saturation": saturated, "half": halved}


def tree_cpu_seconds(roots: Sequence[int]) -> float:
    """User + system CPU of these processes and their descendants (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = list(roots)
    while pending:
        pid = pending.pop()
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
            for task in Path(f"/proc/{pid}/task").iterdir():
                children = (task / "children").read_text().split()
                pending.extend(int(child) for child in children)
    return total


async def wait_for_matchers(
    url: str, tenant: Tenant, workers: int, limit_s: float = 300.0
) -> float:
    """Seconds until dry runs on new connections (spread over the workers by
    SO_REUSEPORT) say, 8 times per worker in a row, that the organization's pattern
    matcher is built: the runs measure the steady state, not each worker's first build
    (benchmarks.automaton and benchmarks.pattern_ingress measure that)."""
    started = time.monotonic()
    params = {"To": "5550000000", "DestinationOrganizationSid": tenant.organization_sid}
    in_a_row = 0
    while in_a_row < 8 * workers:
        if time.monotonic() - started > limit_s:
            raise RuntimeError(f"no built matcher in every worker after {limit_s:.0f} s")
        connector = aiohttp.TCPConnector(force_close=True)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with (
            aiohttp.ClientSession(connector=connector, headers=headers) as session,
            session.get(f"{url}/v1/routes/resolve", params=params) as response,
        ):
            body = await response.json()
        built = body["trace"]["pattern"].get("matcher") == "automaton"
        in_a_row = in_a_row + 1 if built else 0
        if not built:
            await asyncio.sleep(0.2)
    return time.monotonic() - started


def _brief(s: dict[str, Any]) -> None:
    lat = s["latency_ms"]
    print(
        f"   {s['throughput_rps']:,.0f} req/s  p50 {lat['p50']:.2f} ms  p99 {lat['p99']:.2f} ms"
        f"  max {lat['max']:.1f} ms  errors {s['errors']}  statuses {s['status_counts']}"
        f"  outcomes {s['outcome_counts']}  loadgen CPU {s['loadgen_cpu_percent']:.0f} %"
        + (
            f"  server CPU {s['server_cpu_us_per_request']:.0f} us/request"
            if "server_cpu_us_per_request" in s
            else ""
        ),
        file=sys.stderr,
        flush=True,
    )


async def prepare(dsn: str, size: Size, rcml_url: str) -> Tenant:
    async with migrated(dsn) as db:
        tenant = await make_tenant(db)
        await load_numbers(
            db, tenant, numbers=size.numbers, patterns=size.patterns, voice_url=rcml_url
        )
        return tenant


def run(
    size: Size,
    *,
    durable: bool,
    progress: bool,
    hot: int | None,
    mix: str,
    profile: Path | None,
    workers: Sequence[int] = (1,),
) -> tuple[list[Row], dict[str, Any]]:
    began = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="router-ingress-"))
    caught, missed = dial_strings(size.numbers, size.patterns)
    (workdir / "pattern.txt").write_text("\n".join(caught) + "\n")
    (workdir / "miss.txt").write_text("\n".join(missed) + "\n")
    inputs = {
        "exact": f"{did(0)}..{did(min(hot or size.numbers, size.numbers) - 1)}/7",
        "pattern": str(workdir / "pattern.txt"),
        "miss": str(workdir / "miss.txt"),
        "mix": mix,
    }
    results: dict[str, Any] = {"inputs": inputs, "fsync_ms_before": fsync_ms()}
    with database_url(durable=durable) as dsn, helper_server("rcml") as (rcml_base, _):
        _note(f"loading {size.numbers:,} numbers, {size.patterns:,} patterns", began)
        tenant = asyncio.run(prepare(dsn, size, f"{rcml_base}/rcml"))
        _note("loaded", began)
        for count in workers:
            results[f"workers_{count}"] = measure_workers(
                count, dsn, tenant, inputs, size, progress=progress, profile=profile, began=began
            )
    results["fsync_ms_after"] = fsync_ms()
    _note("done", began)
    shutil.rmtree(workdir, ignore_errors=True)
    table = [row for count in workers for row in rows(results[f"workers_{count}"], count)]
    return table + scaling_rows(results, workers), results


def measure_workers(
    count: int,
    dsn: str,
    tenant: Tenant,
    inputs: dict[str, str],
    size: Size,
    *,
    progress: bool,
    profile: Path | None,
    began: float,
) -> dict[str, Any]:
    """bare with `count` processes, then router with `--workers count` (fetch=false and
    fetch=true), one after the other so that they never share the cores."""
    results: dict[str, Any] = {"load_average": load_average()}
    with helper_server("bare", processes=count) as (bare_url, bare_pids):
        results["bare"] = measure(
            f"bare x{count}", bare_url, tenant, inputs, size, bare_pids, fetch=False
        )
    port = free_port()
    env = {"ROUTER_CALLBACKS_DISPATCHER_ENABLED": "false"}
    with router_process(dsn, port=port, gateway_token=TOKEN, env=env, workers=count) as router:
        _note(f"router ready ({count} workers)", began)
        url = f"http://127.0.0.1:{port}"
        results["matchers_ready_s"] = asyncio.run(wait_for_matchers(url, tenant, count))
        _note(f"pattern matchers built in every worker ({count} workers)", began)
        kw = {"progress": progress}
        servers = [router.pid]
        results["router"] = measure(
            f"router x{count} fetch=false", url, tenant, inputs, size, servers, fetch=False, **kw
        )
        results["router_fetch"] = measure(
            f"router x{count} fetch=true", url, tenant, inputs, size, servers, fetch=True, **kw
        )
        if profile is not None and count == 1:
            results["profile"] = profile_router(router.pid, url, tenant, inputs, size, profile)
    results["load_average_after"] = load_average()
    return results


def _note(text: str, began: float) -> None:
    print(f"[{time.monotonic() - began:6.1f}s] {text}", file=sys.stderr, flush=True)


# Where a call event's CPU goes (inclusive shares of the router's on-CPU samples).
PROFILED = (
    "call_event",
    "read_event",
    "GatewayAuth.require",
    "OrganizationDirectory.resolve",
    "Resolver.resolve",
    "NumberStore.numbers_by_spellings",
    "Resolver._pattern_stage",
    "CallStore.get_decision",
    "RcmlFetcher.fetch",
    "CallStore.record_call",
    "CallStore._insert_calls",
    "json_response",
    "Connection.reset",
    "RequestHandler.data_received",
    "RequestHandler.finish_response",
    "_SelectorSocketTransport.write",
)


def profile_router(
    pid: int, url: str, tenant: Tenant, inputs: dict[str, str], size: Size, out: Path
) -> dict[str, Any] | None:
    """py-spy the router through one more saturation run (fetch=false); with a .txt
    `out`, the share of CPU samples under each step of a call event."""
    seconds = size.warmup + size.duration
    _note_plain(f"profiling the router (pid {pid}) for {seconds:.0f} s into {out}")
    spy = py_spy(pid, out, seconds)
    try:
        summary = loadgen(url, tenant, inputs, size, fetch=False)
    finally:
        spy.wait(timeout=seconds + 60)
    if out.suffix != ".txt":
        return None
    found = profile_shares(out, PROFILED)
    found["router_busy_percent"] = round(found["samples"] / seconds, 1)  # py-spy: 100 Hz
    found["throughput_rps"] = summary["throughput_rps"]
    print(
        f"router profile: busy {found['router_busy_percent']:.0f} % of the run; shares of"
        " busy samples:",
        file=sys.stderr,
    )
    for name, share in found["shares"].items():
        print(f"  {share * 100:5.1f} %  {name}", file=sys.stderr)
    return found


def _note_plain(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def rows(results: dict[str, Any], workers: int = 1) -> list[Row]:
    """The table of one worker count (every figure names it)."""
    bare, router, fetch = results["bare"], results["router"], results["router_fetch"]

    def rps(r: dict[str, Any]) -> float:
        return float(r["saturation"]["throughput_rps"])

    def cpu(r: dict[str, Any]) -> float:
        return float(r["half"]["server_cpu_us_per_request"])

    def lat(r: dict[str, Any], phase: str, p: str) -> float:
        return float(r[phase]["latency_ms"][p])

    ratio = rps(router) / rps(bare) if rps(bare) else 0.0
    runs = [r[phase] for r in (bare, router, fetch) for phase in ("saturation", "half")]
    failed = sum(
        run["errors"] + sum(n for code, n in run["status_counts"].items() if code >= "500")
        for run in runs
    )
    p99_half = lat(router, "half", "p99")
    table = [
        Row("bare: throughput at saturation", rps(bare), "req/s"),
        Row(
            "router fetch=false: throughput at saturation",
            rps(router),
            "req/s",
            rps(bare),
            f">= {TARGET_RATIO:.2f} x bare",
            ratio >= TARGET_RATIO,
        ),
        Row(
            "router fetch=false: p50 at saturation",
            lat(router, "saturation", "p50"),
            "ms",
            lat(bare, "saturation", "p50"),
        ),
        Row(
            "router fetch=false: p99 at saturation",
            lat(router, "saturation", "p99"),
            "ms",
            lat(bare, "saturation", "p99"),
        ),
        Row(
            "router fetch=false: p50 at half saturation",
            lat(router, "half", "p50"),
            "ms",
            lat(bare, "half", "p50"),
        ),
        Row(
            "router fetch=false: p99 at half saturation",
            p99_half,
            "ms",
            lat(bare, "half", "p99"),
            f"< {TARGET_P99_MS:.0f} ms",
            p99_half < TARGET_P99_MS,
        ),
        Row(
            "router fetch=false: server CPU per request at half saturation (all processes)",
            cpu(router),
            "us",
            cpu(bare),
        ),
        Row("router fetch=true (RCML): throughput at saturation", rps(fetch), "req/s", rps(bare)),
        Row(
            "router fetch=true (RCML): p99 at saturation",
            lat(fetch, "saturation", "p99"),
            "ms",
            lat(bare, "saturation", "p99"),
        ),
        Row(
            "router fetch=true (RCML): p99 at half saturation",
            lat(fetch, "half", "p99"),
            "ms",
            lat(bare, "half", "p99"),
        ),
        Row(
            "failed requests (transport errors, error documents, 5xx), all runs",
            float(failed),
            "",
            target="0",
            met=failed == 0,
        ),
    ]
    label = f"[{workers} worker{'s' if workers > 1 else ''}]"
    return [dataclasses.replace(row, figure=f"{row.figure} {label}") for row in table]


TARGET_SCALING = 1.5


def scaling_rows(results: dict[str, Any], workers: Sequence[int]) -> list[Row]:
    """router with the most workers against router with one, both fetch=false."""
    if 1 not in workers or max(workers) == 1:
        return []
    most = max(workers)

    def rps(count: int) -> float:
        return float(results[f"workers_{count}"]["router"]["saturation"]["throughput_rps"])

    ratio = rps(most) / rps(1) if rps(1) else 0.0
    return [
        Row(
            f"router fetch=false: {most} workers against 1 worker",
            rps(most),
            "req/s",
            rps(1),
            f">= {TARGET_SCALING:.1f} x 1 worker",
            ratio >= TARGET_SCALING,
        )
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ingress", description=__doc__)
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--quick", action="store_true", help="50k numbers, 1k patterns, ~30 s")
    sizes.add_argument("--tiny", action="store_true", help="smoke size, a few seconds")
    parser.add_argument("--json", type=Path, help="write the table as JSON here")
    parser.add_argument("--fsync-off", action="store_true", help="PostgreSQL without fsync")
    parser.add_argument("--progress", action="store_true", help="loadgen progress lines")
    parser.add_argument("--concurrency", type=int, help="closed-loop concurrency (64)")
    parser.add_argument("--duration", type=float, help="measured seconds of every run")
    parser.add_argument(
        "--profile",
        type=Path,
        help="py-spy the router in one more saturation run: FILE.svg (flame graph) or"
        " FILE.txt (collapsed stacks, and a breakdown of call_event is printed)",
    )
    parser.add_argument("--mix", default=MIX, help=f"loadgen --mix ({MIX})")
    parser.add_argument(
        "--hot",
        type=int,
        help="draw exact hits from the first N numbers only (a warm cache); default all",
    )
    parser.add_argument(
        "--workers",
        default="1",
        help="comma-separated worker counts, each run for bare and router (e.g. 1,2)",
    )
    parser.add_argument("--serve", choices=("bare", "rcml"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.port)
        return 0
    size = SIZES["tiny" if args.tiny else "quick" if args.quick else "full"]
    if args.concurrency or args.duration:
        size = Size(
            size.numbers,
            size.patterns,
            args.duration or size.duration,
            args.duration or size.half_duration,
            size.warmup,
            args.concurrency or size.concurrency,
        )
    table, details = run(
        size,
        durable=not args.fsync_off,
        progress=args.progress,
        hot=args.hot,
        mix=args.mix,
        profile=args.profile,
        workers=[int(count) for count in args.workers.split(",")],
    )
    title = (
        f"ingress: {size.numbers:,} numbers, {size.patterns:,} patterns, mix {args.mix},"
        f" exact hits from {details['inputs']['exact']}, PostgreSQL fsync"
        f" {'off' if args.fsync_off else 'on'} (8 kB fdatasync {details['fsync_ms_before']}/"
        f"{details['fsync_ms_after']} ms before/after)"
    )
    print_table(title, table)
    bare_cpu = max(
        run["bare"]["saturation"]["loadgen_cpu_percent"]
        for key, run in details.items()
        if key.startswith("workers_")
    )
    if bare_cpu >= 90:
        print(
            f"note: the load generator used {bare_cpu:.0f} % of a core against bare: bare's"
            " saturation figure is a lower bound of bare's capacity, router/bare an upper bound."
        )
    if args.json:
        write_json(args.json, "ingress", table, {"size": size.__dict__, "runs": details})
    return 0


if __name__ == "__main__":
    sys.exit(main())
