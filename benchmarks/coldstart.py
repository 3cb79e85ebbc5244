"""Cold start and resident memory of `router serve` on a large database.

    python -m benchmarks.coldstart            # 1M numbers + 10k patterns, ~2-3 minutes
    python -m benchmarks.coldstart --quick    # 100k numbers + 10k patterns, ~30 s
    python -m benchmarks.coldstart --tiny     # a few seconds (smoke)

A private PostgreSQL cluster (fsync off: the figures are reads and process start-up;
the warm-up's call records are the only writes) holds one organization with the
numbers and patterns. `python -m router serve` runs as a subprocess (log level
warning, JSON logs, callback dispatcher on as by default) with ROUTER_DATABASE_URL,
a free ROUTER_PORT and ROUTER_GATEWAY_TOKEN.

Measured: the time from starting the process to the first `GET /readyz` 200 (polled
every 0.1 s, so +- 0.1 s; the median of three starts), on the loaded database and,
as the same-run baseline, on the same database before the bulk load (nothing but the
tenant); then, in the last start on the loaded database, the first pattern-
stage request (it builds the organization's OrgMatcher from all its patterns); then
a warm-up of distinct resolutions through `POST /v1/events/calls?fetch=false` (mostly
DIDs drawn from all loaded numbers, some pattern hits, some misses; 8 at a time), and
the resident memory (VmRSS, and the peak VmHWM, from /proc/<pid>/status) after it,
against the RSS right after ready. The bulk-load time of the fixture is reported too.

Targets (issue): cold start with 1M numbers < 15 s; RSS after warm-up < 1 GiB.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.fixtures import (
    Row,
    Tenant,
    database_url,
    did,
    free_port,
    load_average,
    load_numbers,
    make_tenant,
    migrated,
    pattern_hits,
    pattern_texts,
    print_table,
    router_process,
    write_json,
)

TOKEN = "bench-coldstart-gateway-token"
COLD_START_TARGET_S = 15.0
RSS_TARGET_BYTES = 1024**3
CONCURRENCY = 8


@dataclass(frozen=True)
class Size:
    numbers: int
    patterns: int
    warmup: int  # distinct resolutions after ready
    starts: int  # starts per database state; the median is reported
    pattern_share: float  # of the warm-up: pattern hits
    miss_share: float  # of the warm-up: numbers nobody provisioned


SIZES = {
    "full": Size(1_000_000, 10_000, 10_000, 3, 0.1, 0.1),
    "quick": Size(100_000, 10_000, 2_000, 3, 0.1, 0.1),
    "tiny": Size(1_000, 100, 200, 1, 0.1, 0.1),
}


def memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in bytes."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0]) * 1024
    return found


async def prepare(dsn: str, size: Size, *, load: bool) -> tuple[Tenant, float]:
    """The tenant (created on the first call), and the bulk load when asked (seconds)."""
    async with migrated(dsn) as db:
        tenant = await make_tenant(db)
        if not load:
            return tenant, 0.0
        started = time.perf_counter()
        await load_numbers(db, tenant, numbers=size.numbers, patterns=size.patterns)
        return tenant, time.perf_counter() - started


def workload(size: Size, seed: int = 5) -> tuple[str, list[str]]:
    """The first pattern hit, and the warm-up's distinct dialed strings (shuffled)."""
    rng = random.Random(seed)
    patterns = round(size.warmup * size.pattern_share)
    misses = round(size.warmup * size.miss_share)
    dids = size.warmup - patterns - misses
    hits = pattern_hits(pattern_texts(size.patterns), patterns + 2, seed=seed)
    dialed = [did(i) for i in rng.sample(range(size.numbers), dids)]
    dialed += hits[2:]
    dialed += [f"+1{3000000000 + j * 7:010d}" for j in range(misses)]
    rng.shuffle(dialed)
    return hits[0], [hits[1], *dialed]


async def call(
    session: aiohttp.ClientSession, base: str, tenant: Tenant, to: str
) -> tuple[int, str]:
    body = {"From": "+15550001111", "To": to, "Domain": tenant.domain}
    async with session.post(
        f"{base}/v1/events/calls", params={"fetch": "false"}, json=body
    ) as response:
        answer = await response.json()
        return response.status, str((answer.get("match") or {}).get("how", "none"))


async def exercise(
    base: str, tenant: Tenant, first_pattern: str, dialed: list[str]
) -> dict[str, Any]:
    """The first exact and pattern requests, timed alone, then the warm-up."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(headers=headers, connector=connector) as session:
        timings: dict[str, Any] = {}
        for name, to in (
            ("first_exact_s", did(0)),
            ("first_pattern_s", first_pattern),
            ("second_pattern_s", dialed[0]),
        ):
            started = time.perf_counter()
            status, how = await call(session, base, tenant, to)
            timings[name] = time.perf_counter() - started
            expected = "exact" if name == "first_exact_s" else "pattern"
            assert (status, how) == (200, expected), (name, status, how)
        outcomes: Counter[str] = Counter()
        queue = iter(dialed[1:])

        async def worker() -> None:
            for to in queue:
                status, how = await call(session, base, tenant, to)
                outcomes[f"{status} {how}"] += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        timings["warmup_s"] = time.perf_counter() - started
        timings["warmup_outcomes"] = dict(outcomes)
        return timings


def start_and_measure(
    dsn: str, tenant: Tenant | None, size: Size, exercise_it: bool
) -> dict[str, Any]:
    """Start `router serve`, time it to ready, optionally exercise it; its memory."""
    port = free_port()
    started = time.perf_counter()
    with router_process(dsn, port=port, gateway_token=TOKEN) as process:
        result: dict[str, Any] = {"ready_s": time.perf_counter() - started}
        result["at_ready"] = memory(process.pid)
        if exercise_it:
            assert tenant is not None
            first_pattern, dialed = workload(size)
            result.update(
                asyncio.run(exercise(f"http://127.0.0.1:{port}", tenant, first_pattern, dialed))
            )
            result["after_warmup"] = memory(process.pid)
        return result


def run(size: Size) -> tuple[list[Row], dict[str, Any]]:
    details: dict[str, Any] = {"size": asdict(size), "load_average_start": load_average()}
    with database_url(durable=False) as dsn:
        tenant, _ = asyncio.run(prepare(dsn, size, load=False))
        # The very first start also pays for cold OS file caches: each database state
        # is started `starts` times and the median reported (all times in the
        # details); only the last start on the loaded database is exercised.
        empty_starts = [start_and_measure(dsn, None, size, False) for _ in range(size.starts)]
        tenant, load_s = asyncio.run(prepare(dsn, size, load=True))
        loaded_starts = [start_and_measure(dsn, None, size, False) for _ in range(size.starts - 1)]
        loaded = start_and_measure(dsn, tenant, size, exercise_it=True)
        loaded_starts.append(loaded)
    details.update(
        empty_starts=empty_starts,
        loaded_starts=loaded_starts,
        load_s=load_s,
        load_average_end=load_average(),
    )

    label = f"{size.numbers:,} numbers + {size.patterns:,} patterns"
    ready = statistics.median(start["ready_s"] for start in loaded_starts)
    empty_ready = statistics.median(start["ready_s"] for start in empty_starts)
    rss = loaded["after_warmup"]["VmRSS"]
    mib = 1024**2
    outcomes = loaded["warmup_outcomes"]
    rate = sum(outcomes.values()) / loaded["warmup_s"]
    rows = [
        Row(f"cold start to /readyz 200, median of {size.starts} [{label}] (baseline: empty db)",
            ready, "s", empty_ready, "< 15 s", ready < COLD_START_TARGET_S),
        Row(f"RSS after {size.warmup:,} distinct resolutions (baseline: at ready)", rss / mib,
            "MiB", loaded["at_ready"]["VmRSS"] / mib, "< 1024 MiB", rss < RSS_TARGET_BYTES),
        Row("peak RSS (VmHWM) after warm-up", loaded["after_warmup"]["VmHWM"] / mib, "MiB"),
        Row("first request, exact stage", loaded["first_exact_s"] * 1000, "ms"),
        Row(f"first pattern-stage request (builds the {size.patterns:,}-pattern matcher)",
            loaded["first_pattern_s"] * 1000, "ms", loaded["second_pattern_s"] * 1000),
        Row(f"warm-up resolutions ({CONCURRENCY} at a time, fetch=false)", rate, "requests/s"),
        Row(f"bulk load of the fixture (COPY) [{label}]", load_s, "s"),
    ]  # fmt: skip
    return rows, details


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.coldstart", description=__doc__)
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--quick", action="store_true", help="100k numbers, 10k patterns, ~30 s")
    sizes.add_argument("--tiny", action="store_true", help="smoke size, a few seconds")
    parser.add_argument("--json", type=Path, help="write the table as JSON here")
    args = parser.parse_args(argv)
    mode = "tiny" if args.tiny else "quick" if args.quick else "full"
    size = SIZES[mode]
    started = time.perf_counter()
    rows, details = run(size)
    details["seconds"] = time.perf_counter() - started
    print_table(f"coldstart ({mode}), ratio = value / baseline", rows)
    print(f"  warm-up outcomes (status, stage): {details['loaded_starts'][-1]['warmup_outcomes']}")
    if args.json:
        write_json(args.json, "coldstart", rows, details)
    return 0


if __name__ == "__main__":
    sys.exit(main())
