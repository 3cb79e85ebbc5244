"""HTTP call events and dry runs against organizations of 100, 1,000 and 10,000
dial-plan patterns (benchmarks.dialplans), in one run, so the figures compare.

    python -m benchmarks.pattern_ingress            # 100 / 1k / 10k patterns, ~4 minutes
    python -m benchmarks.pattern_ingress --quick    # 100 / 1k patterns, ~1 minute
    python -m benchmarks.pattern_ingress --tiny     # smoke size

For each pattern count: a private PostgreSQL cluster (fsync off: the figure compared is
the pattern stage's share, and every count writes the same call records) holds 10,000
DIDs and one organization with that many patterns; `python -m router serve` is started
and, once the organization's automaton is ready (polled through the dry run), loaded
by `python -m benchmarks.loadgen` in its own process: `POST /v1/events/calls?fetch=false`,
64 in flight, every event a pattern-stage call to a number drawn from 200,000 distinct
dialed numbers (70 % made to match a pattern, 30 % made from none): nearly all
first-time work (spellings, exact stage, automaton), few answer-memo hits. A second
run draws from 500 numbers only: repeated calls (memo hits). Then the dry run
(`GET /v1/routes/resolve`, 8 in flight, from this process) on the same numbers:
requests/s and the largest and mean body.

Targets (issue 8): fetch=false at 10,000 patterns >= 80 % of the same run at 100;
dry run at 10,000 patterns >= 300 requests/s with every body < 16 KiB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.dialplans import dialed_numbers, operator_shapes
from benchmarks.fixtures import (
    REPO_ROOT,
    Row,
    database_url,
    free_port,
    load_average,
    load_numbers,
    make_tenant,
    migrated,
    print_table,
    router_process,
    write_json,
)

TOKEN = "bench-gateway-token"
DIDS = 10_000
DRY_RUN_CONCURRENCY = 8
BODY_LIMIT = 16 * 1024
RATIO_TARGET = 0.80
DRY_RUN_TARGET = 300.0


@dataclass(frozen=True)
class Size:
    patterns: tuple[int, ...]
    dialed: int
    duration: float
    dry_run_seconds: float
    concurrency: int


SIZES = {
    "full": Size((100, 1_000, 10_000), 200_000, 15.0, 8.0, 64),
    "quick": Size((100, 1_000), 50_000, 4.0, 3.0, 64),
    "tiny": Size((100,), 2_000, 0.5, 0.5, 8),
}


def loadgen(url: str, org: str, numbers_file: Path, size: Size) -> dict[str, Any]:
    """One closed-loop load generator run in its own process; its JSON summary."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = Path(handle.name)
    argv = [
        sys.executable, "-m", "benchmarks.loadgen", "--url", url, "--token", TOKEN,
        "--destination-org", org, "--mix", "pattern=100", "--numbers", "+15100000000..+15100000009",
        "--pattern-numbers", str(numbers_file), "--duration", str(size.duration),
        "--warmup", "1", "--concurrency", str(size.concurrency), "--no-fetch", "--quiet",
        "--json", str(out),
    ]  # fmt: skip
    try:
        subprocess.run(argv, cwd=REPO_ROOT, check=True, stdout=subprocess.DEVNULL, timeout=600)
        summary: dict[str, Any] = json.loads(out.read_text())
        return summary
    finally:
        out.unlink(missing_ok=True)


async def wait_for_automaton(url: str, org: str, to: str, limit_s: float = 300.0) -> float:
    """Seconds until the organization's dry run says its automaton answers."""
    started = time.monotonic()
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as session:
        while time.monotonic() - started < limit_s:
            params = {"To": to, "DestinationOrganizationSid": org}
            async with session.get(f"{url}/v1/routes/resolve", params=params) as response:
                body = await response.json()
            if body["trace"]["pattern"].get("matcher") == "automaton":
                return time.monotonic() - started
            await asyncio.sleep(0.2)
    raise RuntimeError(f"no automaton after {limit_s:.0f} s")


async def dry_runs(url: str, org: str, dialed: Sequence[str], seconds: float) -> dict[str, Any]:
    """Dry runs, DRY_RUN_CONCURRENCY in flight, for `seconds`: rate and body sizes."""
    sizes: list[int] = []
    statuses: dict[int, int] = {}
    deadline = time.monotonic() + seconds
    position = iter(range(10**9))

    async def worker(session: aiohttp.ClientSession) -> None:
        while time.monotonic() < deadline:
            to = dialed[next(position) % len(dialed)]
            params = {"To": to, "DestinationOrganizationSid": org}
            async with session.get(f"{url}/v1/routes/resolve", params=params) as response:
                body = await response.read()
            statuses[response.status] = statuses.get(response.status, 0) + 1
            sizes.append(len(body))

    started = time.monotonic()
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as session:
        await asyncio.gather(*(worker(session) for _ in range(DRY_RUN_CONCURRENCY)))
    elapsed = time.monotonic() - started
    return {
        "requests_per_s": len(sizes) / elapsed,
        "max_body_bytes": max(sizes),
        "mean_body_bytes": sum(sizes) / len(sizes),
        "statuses": statuses,
    }


async def one_count(count: int, size: Size, workdir: Path) -> dict[str, Any]:
    shapes = operator_shapes(count)
    dialed = dialed_numbers(shapes, size.dialed, seed=count)
    everything = workdir / f"dialed-{count}.txt"
    everything.write_text("\n".join(dialed) + "\n")
    few = workdir / f"repeated-{count}.txt"
    few.write_text("\n".join(dialed[:500]) + "\n")
    result: dict[str, Any] = {"patterns": count, "load_average_start": load_average()}
    with database_url(durable=False) as dsn:
        async with migrated(dsn) as db:
            tenant = await make_tenant(db)
            await load_numbers(
                db, tenant, numbers=DIDS, patterns=count, pattern_set=[t for t, _ in shapes]
            )
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        org = tenant.organization_sid
        with router_process(dsn, port=port, gateway_token=TOKEN):
            result["automaton_ready_s"] = await wait_for_automaton(url, org, dialed[0])
            result["first_time"] = await asyncio.to_thread(loadgen, url, org, everything, size)
            result["repeated"] = await asyncio.to_thread(loadgen, url, org, few, size)
            result["dry_run"] = await dry_runs(url, org, dialed, size.dry_run_seconds)
    result["load_average_end"] = load_average()
    print(
        f"  {count:,} patterns: first-time {result['first_time']['throughput_rps']:,.0f}/s,"
        f" repeated {result['repeated']['throughput_rps']:,.0f}/s,"
        f" dry run {result['dry_run']['requests_per_s']:,.0f}/s"
        f" (max body {result['dry_run']['max_body_bytes']:,} B)",
        file=sys.stderr,
        flush=True,
    )
    return result


def rows(results: list[dict[str, Any]]) -> list[Row]:
    base = results[0]
    out: list[Row] = []
    for r in results:
        label = f"[{r['patterns']:,} patterns]"
        at_target = r["patterns"] == 10_000
        first, repeated = r["first_time"]["throughput_rps"], r["repeated"]["throughput_rps"]
        ratio_ok = first >= RATIO_TARGET * base["first_time"]["throughput_rps"]
        dry = r["dry_run"]
        out += [
            Row(f"calls fetch=false, first-time numbers, vs 100 patterns {label}", first,
                "req/s", base["first_time"]["throughput_rps"],
                ">= 0.80 (ratio)" if at_target else "", ratio_ok if at_target else None),
            Row(f"calls fetch=false, repeated numbers (memo), vs 100 patterns {label}",
                repeated, "req/s", base["repeated"]["throughput_rps"]),
            Row(f"calls p99, first-time numbers {label}",
                r["first_time"]["latency_ms"]["p99"], "ms"),
            Row(f"dry run {label}", dry["requests_per_s"], "req/s", None,
                ">= 300/s" if at_target else "",
                dry["requests_per_s"] >= DRY_RUN_TARGET if at_target else None),
            Row(f"dry run largest body (mean {dry['mean_body_bytes']:,.0f} B) {label}",
                dry["max_body_bytes"], "B", None, "< 16,384 B",
                dry["max_body_bytes"] < BODY_LIMIT),
            Row(f"serve start to automaton ready {label}", r["automaton_ready_s"], "s"),
        ]  # fmt: skip
    return out


async def run(size: Size, workdir: Path) -> list[dict[str, Any]]:
    return [await one_count(count, size, workdir) for count in size.patterns]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.pattern_ingress", description=__doc__
    )
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--quick", action="store_true", help="100 and 1k patterns, ~1 minute")
    sizes.add_argument("--tiny", action="store_true", help="smoke size, seconds")
    parser.add_argument("--json", type=Path, help="write the table as JSON here")
    args = parser.parse_args(argv)
    mode = "tiny" if args.tiny else "quick" if args.quick else "full"
    with tempfile.TemporaryDirectory(prefix="router-pattern-ingress-") as workdir:
        results = asyncio.run(run(SIZES[mode], Path(workdir)))
    table = rows(results)
    print_table(f"pattern ingress ({mode}), ratio = value / baseline", table)
    if args.json:
        write_json(args.json, "pattern_ingress", table, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
