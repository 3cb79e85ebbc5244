"""Invalidation across instances: a write on instance A until instance B answers it.

    python -m benchmarks.invalidation            # 200 writes (+ 20 pattern writes), ~1 min
    python -m benchmarks.invalidation --quick    # 50 writes (+ 5 pattern writes), ~20 s
    python -m benchmarks.invalidation --tiny     # 10 writes (smoke)

Two `python -m router serve` subprocesses (A and B: separate processes, pools and
LISTEN connections, as in production) share one private PostgreSQL cluster with fsync
on. Per write, on a number not written before: B resolves it first
(`GET /v1/routes/resolve?To=...&Domain=...` with the gateway token), so B's exact cache
holds the old answer; then the tenant updates its VoiceUrl through A's API
(`POST .../IncomingPhoneNumbers/{sid}.json`, Basic auth), and B is polled back-to-back
with the same resolve until its target url is the new one. Recorded per write: write
start to B's first new answer (the figure), A's write round trip (the baseline: the
commit itself), and the part after A answered. B's resolve round trip bounds the
resolution of the measurement. A write that B has not answered after 5 s counts as 5 s.

Second, the same for pattern numbers (fewer writes: each is slow): the organization
also holds 10,000 patterns; the dialed string is one whose winning pattern is the one
written, and B is read through `POST /v1/events/calls?fetch=false` (the routing path;
the dry-run route would trace every pattern). A pattern write marks B's matcher for
the organization stale, so B's next pattern-stage request re-reads all patterns and
rebuilds it: this figure shows that cost. No target of its own (info).

Target (issue): p99 < 200 ms over 200 writes.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import math
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
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
from router import patterns
from router.spellings import spellings as spellings_of

TOKEN = "bench-invalidation-gateway-token"
OLD_URL = "http://127.0.0.1:9/r"  # load_numbers' default voice_url
TARGET_P99_MS = 200.0
GIVE_UP_S = 5.0
MAX_POLLS = 10_000


@dataclass(frozen=True)
class Size:
    writes: int
    numbers: int  # loaded; the first `writes` of them are written
    patterns: int  # loaded in the same organization
    pattern_writes: int  # writes of pattern numbers (each makes B rebuild the matcher)


SIZES = {
    "full": Size(200, 10_000, 10_000, 20),
    "quick": Size(50, 1_000, 10_000, 5),
    "tiny": Size(10, 100, 100, 2),
}


@dataclass
class Sample:
    total_s: float  # write start -> B's first new answer
    write_s: float  # A's answer to the write
    polls: int
    seen: bool


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


async def prepare(dsn: str, size: Size) -> Tenant:
    async with migrated(dsn) as db:
        tenant = await make_tenant(db)
        await load_numbers(
            db, tenant, numbers=size.numbers, patterns=size.patterns, voice_url=OLD_URL
        )
        return tenant


def pattern_targets(size: Size) -> list[tuple[int, str]]:
    """(sid index, dialed string) for pattern writes: strings whose winning pattern
    (by the same priority the service uses) is the one to be written."""
    texts = pattern_texts(size.patterns)
    start = datetime(2026, 1, 1, tzinfo=UTC)  # load_numbers' creation times
    entries = [
        patterns.PatternEntry(f"PN{size.numbers + i:032x}", text, start + timedelta(seconds=i))
        for i, text in enumerate(texts)
    ]
    matcher = patterns.OrgMatcher(entries)
    by_sid = {entry.sid: i for i, entry in enumerate(entries)}
    chosen: list[tuple[int, str]] = []
    written: set[int] = set()
    for dialed in pattern_hits(texts, 50 * size.pattern_writes, seed=3):
        if len(chosen) >= size.pattern_writes:
            break
        result = matcher.match(spellings_of(dialed, "US"))
        assert result is not None, dialed
        index = by_sid[result.entry.sid]
        if index not in written:
            written.add(index)
            chosen.append((size.numbers + index, dialed))
    return chosen


class Instances:
    """HTTP to the writer A and the reader B."""

    def __init__(self, session: aiohttp.ClientSession, a: str, b: str, tenant: Tenant) -> None:
        self.session = session
        self.a, self.b = a, b
        self.tenant = tenant
        self.gateway = {"Authorization": f"Bearer {TOKEN}"}
        credentials = base64.b64encode(f"{tenant.account_sid}:{tenant.token}".encode()).decode()
        self.basic = {"Authorization": f"Basic {credentials}"}

    async def target_url(self, base: str, to: str) -> str | None:
        params = {"To": to, "Domain": self.tenant.domain}
        async with self.session.get(
            f"{base}/v1/routes/resolve", params=params, headers=self.gateway
        ) as response:
            body = await response.json()
            assert response.status == 200, body
            target = body.get("target") or {}
            return target.get("url")

    async def routed_url(self, base: str, to: str) -> str | None:
        """The target of a call event without RCML fetch (the memoized routing path;
        the dry-run route would trace every pattern)."""
        body = {"From": "+15550001111", "To": to, "Domain": self.tenant.domain}
        async with self.session.post(
            f"{base}/v1/events/calls", params={"fetch": "false"}, json=body, headers=self.gateway
        ) as response:
            answer = await response.json()
            assert response.status == 200, answer
            return (answer.get("target") or {}).get("url")

    async def update(self, i: int, url: str) -> None:
        path = (
            f"/2012-04-24/Accounts/{self.tenant.account_sid}/IncomingPhoneNumbers/PN{i:032x}.json"
        )
        async with self.session.post(
            self.a + path, data={"VoiceUrl": url}, headers=self.basic
        ) as response:
            body = await response.json()
            assert response.status == 200, body
            assert body["voice_url"] == url, body


async def one_write(
    instances: Instances, i: int, to: str, read: Callable[[str, str], Awaitable[str | None]]
) -> tuple[Sample, float]:
    """Warm B, write number i through A, poll B with `read` until `to` reaches the new
    url; also B's warm-up round trip (seconds)."""
    new_url = f"http://127.0.0.1:9/v{i}"
    started = time.perf_counter()
    assert await read(instances.b, to) == OLD_URL
    rtt = time.perf_counter() - started
    started = time.perf_counter()
    await instances.update(i, new_url)
    written = time.perf_counter()
    polls = 0
    seen = False
    while polls < MAX_POLLS and time.perf_counter() - started < GIVE_UP_S:
        polls += 1
        url = await read(instances.b, to)
        if url == new_url:
            seen = True
            break
        assert url == OLD_URL, url
    total = time.perf_counter() - started if seen else GIVE_UP_S
    return Sample(total, written - started, polls, seen), rtt


@dataclass
class Measured:
    samples: list[Sample]  # number writes
    rtts: list[float]  # B's resolve round trips (warm-ups)
    pattern_samples: list[Sample]  # pattern writes
    pattern_rtts: list[float]  # B's call-event round trips (warm-ups)


async def measure(a: str, b: str, tenant: Tenant, size: Size) -> Measured:
    async with aiohttp.ClientSession() as session:
        instances = Instances(session, a, b, tenant)
        targets = pattern_targets(size)
        # Both instances answer once before timing (connections, first-request costs,
        # B's first matcher build).
        for base in (a, b):
            assert await instances.target_url(base, did(size.numbers - 1)) == OLD_URL
        assert await instances.routed_url(b, targets[0][1]) == OLD_URL
        measured = Measured([], [], [], [])
        for i in range(size.writes):
            sample, rtt = await one_write(instances, i, did(i), instances.target_url)
            measured.samples.append(sample)
            measured.rtts.append(rtt)
        for i, dialed in targets:
            sample, rtt = await one_write(instances, i, dialed, instances.routed_url)
            measured.pattern_samples.append(sample)
            measured.pattern_rtts.append(rtt)
        return measured


def run(size: Size) -> tuple[list[Row], dict[str, Any]]:
    details: dict[str, Any] = {"size": asdict(size), "load_average_start": load_average()}
    with database_url(durable=True) as dsn:
        tenant = asyncio.run(prepare(dsn, size))
        port_a, port_b = free_port(), free_port()
        while port_b == port_a:
            port_b = free_port()
        with (
            router_process(dsn, port=port_a, gateway_token=TOKEN),
            router_process(dsn, port=port_b, gateway_token=TOKEN),
        ):
            a, b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
            measured = asyncio.run(measure(a, b, tenant, size))
    details["load_average_end"] = load_average()
    samples, rtts = measured.samples, measured.rtts
    details["samples"] = [asdict(s) for s in samples]
    details["pattern_samples"] = [asdict(s) for s in measured.pattern_samples]

    ms = 1000.0
    total = [s.total_s * ms for s in samples]
    write = [s.write_s * ms for s in samples]
    after = [(s.total_s - s.write_s) * ms for s in samples]
    rtt = [r * ms for r in rtts]
    unseen = sum(not s.seen for s in samples)
    p99 = percentile(total, 0.99)
    n = len(samples)
    rows = [
        Row(f"write on A -> B answers it, p50 ({n} writes)", percentile(total, 0.5), "ms",
            percentile(write, 0.5)),
        Row(f"write on A -> B answers it, p99 ({n} writes)", p99, "ms", percentile(write, 0.99),
            "< 200 ms", p99 < TARGET_P99_MS and unseen == 0),
        Row("write on A -> B answers it, max", max(total), "ms", max(write)),
        Row("after A answered the write -> B answers it, p50", percentile(after, 0.5), "ms",
            percentile(rtt, 0.5)),
        Row("after A answered the write -> B answers it, p99", percentile(after, 0.99), "ms",
            percentile(rtt, 0.99)),
        Row("B resolve round trip (measurement resolution), p50", percentile(rtt, 0.5), "ms"),
        Row(f"writes B never answered within {GIVE_UP_S:.0f} s", unseen, "writes", None, "0",
            unseen == 0),
    ]  # fmt: skip
    pattern_samples = measured.pattern_samples
    if pattern_samples:
        label = f"{len(pattern_samples)} writes, {size.patterns:,} patterns in the org"
        pattern_total = [s.total_s * ms for s in pattern_samples]
        pattern_write = [s.write_s * ms for s in pattern_samples]
        pattern_rtt = [r * ms for r in measured.pattern_rtts]
        pattern_unseen = sum(not s.seen for s in pattern_samples)
        rows += [
            Row(f"pattern write on A -> B answers it, p50 ({label})",
                percentile(pattern_total, 0.5), "ms", percentile(pattern_write, 0.5)),
            Row(f"pattern write on A -> B answers it, max ({label})", max(pattern_total), "ms",
                max(pattern_write), "(< 200 ms: info)"),
            Row("B call event round trip (pattern measurement resolution), p50",
                percentile(pattern_rtt, 0.5), "ms"),
            Row(f"pattern writes B never answered within {GIVE_UP_S:.0f} s", pattern_unseen,
                "writes", None, "0", pattern_unseen == 0),
        ]  # fmt: skip
    details["polls_mean"] = sum(s.polls for s in samples) / n
    return rows, details


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.invalidation", description=__doc__)
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--quick", action="store_true", help="50 writes (+ 5 pattern writes), ~20 s")
    sizes.add_argument("--tiny", action="store_true", help="10 writes (smoke)")
    parser.add_argument("--json", type=Path, help="write the table as JSON here")
    parser.add_argument("--writes", type=int, help="override the number of writes")
    args = parser.parse_args(argv)
    mode = "tiny" if args.tiny else "quick" if args.quick else "full"
    size = SIZES[mode]
    if args.writes:
        size = Size(
            args.writes, max(size.numbers, args.writes + 1), size.patterns, size.pattern_writes
        )
    started = time.perf_counter()
    rows, details = run(size)
    details["seconds"] = time.perf_counter() - started
    print_table(
        f"invalidation ({mode}), baseline: A's write round trip / B's resolve round trip", rows
    )
    if args.json:
        write_json(args.json, "invalidation", rows, details)
    return 0


if __name__ == "__main__":
    sys.exit(main())
