"""Resolution in process: the router's Resolver against the reference approach.

    python -m benchmarks.resolver            # 10k/100k/1M numbers, 100/1k/10k patterns, ~3 min
    python -m benchmarks.resolver --quick    # 10k numbers, 10k patterns, ~30 s
    python -m benchmarks.resolver --tiny     # a few seconds (smoke)

A private PostgreSQL cluster (fsync off: nothing here measures writes) holds the
numbers of one organization, loaded in steps 10k -> 100k -> 1M, and, for each pattern
count, another organization with only that many patterns (pattern_texts).

Exact stage, per number count: distinct provisioned DIDs (E.164, Domain given,
voice), resolved with `await resolver.resolve(query)` in an asyncio loop: first time
(one query for the spellings; timed in chunks alternating with the baseline so both
see the same machine load), then the same queries repeated (answer memo), then with
the memo bypassed (trace=True: spellings + exact cache); distinct numbers not
provisioned, first time (query) and repeated (cached misses).

Pattern stage, per pattern count: (a) OrgMatcher.match over distinct strings that hit
a pattern (pattern_hits), spellings precomputed: the matcher alone; also over random
10-digit strings (mostly misses). (b) Resolver.resolve of distinct pattern hits: first
time (exact stage's query + matcher), then the same strings again as memo misses (an
empty `invalidate((), ())` before each chunk drops the answer memo and nothing else:
spellings from their LRU, exact cache hits, the matcher). The first pattern-stage
resolve of a fresh resolver (it reads the patterns and builds the matcher) is timed
alone. Figures marked "per CPU second" divide by this process's CPU time instead of
the wall clock: less sensitive to other load on the shared machine (info only).

Baseline, same run: the reference implementation's approach, no cache: one query per
lookup for the spellings (NumberStore.numbers_by_spellings: `phone_number = ANY($1)`),
then, if nothing reachable was found and the pattern stage applies, every pattern tried
one by one in priority order (router.patterns.naive_match, which also compiles each
pattern per lookup, as the reference did). The patterns are handed to it in memory
(the reference re-read them from the database too: that is left out, in its favour).
A second, stronger pattern baseline tries patterns compiled once, in priority order.

Resolvers load the set of known numbers first, as `router serve` does at start: a
spelling no number has is then answered without a query (router/known_numbers.py).

Targets (issue): exact stage >= 1,000,000 lookups/s (memo hits); pattern stage with
10,000 patterns >= 300,000 lookups/s and >= 300x the one-by-one baseline. Resolvers
here use a 600 s TTL (the service's default is 30 s) so warmed entries cannot expire
between warm-up and measurement on a slow machine.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks import dialplans
from benchmarks.fixtures import (
    Row,
    Tenant,
    database_url,
    did,
    load_average,
    load_numbers,
    make_tenant,
    migrated,
    pattern_hits,
    pattern_texts,
    print_table,
    write_json,
)
from router import patterns
from router.domain import Channel
from router.patterns.prefix_index import PrefixIndexMatcher
from router.resolver import (
    Query,
    Resolution,
    ResolutionOutcome,
    Resolver,
    pattern_stage_applies,
    reachable,
)
from router.spellings import spellings as spellings_of
from router.store.numbers import NumberStore
from router.store.postgres import Database

REGION = "US"
TTL_S = 600.0
EXACT_TARGET = 1_000_000.0
PATTERN_TARGET = 300_000.0
RESOLVE_FIRST_TARGET = 50_000.0
TARGET_PATTERNS = 10_000
# Pattern organizations' sids start past every DID the exact stage loads.
PATTERN_SID_BASE = 10**9
SHARE_SAMPLE = 50  # random strings whose hit share is reported (and hits checked)


@dataclass(frozen=True)
class Size:
    numbers: tuple[int, ...]
    patterns: tuple[int, ...]
    hot: int  # distinct provisioned numbers per exact-stage run
    misses: int  # distinct unprovisioned numbers
    hits: int  # distinct pattern hits per pattern count
    cold_hits: int  # distinct pattern hits resolved fully cold (query included)
    seconds: float  # per measurement of a fast path
    baseline_seconds: float  # per baseline measurement (slow: few lookups)


SIZES = {
    "full": Size(
        (10_000, 100_000, 1_000_000), (100, 1_000, 10_000), 10_000, 5_000, 20_000, 3_000, 2.0, 3.0
    ),
    "quick": Size((10_000,), (10_000,), 2_000, 1_000, 5_000, 1_000, 0.5, 1.0),
    "tiny": Size((1_000,), (100,), 200, 100, 300, 100, 0.1, 0.2),
}


@dataclass
class Rate:
    """How many lookups took how long, on the wall clock and in this process's CPU."""

    count: int
    seconds: float
    cpu_seconds: float

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0

    @property
    def per_cpu_second(self) -> float:
        """Lookups per CPU second of this process: less sensitive to other load on a
        shared machine (meaningful only for loops that never wait for the database)."""
        return self.count / self.cpu_seconds if self.cpu_seconds > 0 else 0.0


# --- timing loops (each bounded in count and time) ------------------------------------
#
# The fast loops look at the clock after chunks of 1, 2, 4 ... 256 lookups: a slow path
# still stops near its deadline, a fast one pays for the clock once per 256 lookups.

CHUNK = 256
MAX_LOOKUPS = 50_000_000


class _Clock:
    def __init__(self, seconds: float) -> None:
        self.start = time.perf_counter()
        self.cpu_start = time.process_time()
        self.deadline = self.start + seconds

    def rate(self, count: int) -> Rate:
        return Rate(count, time.perf_counter() - self.start, time.process_time() - self.cpu_start)


async def repeated(
    resolve: Callable[[Query], Awaitable[Resolution]], queries: Sequence[Query], seconds: float
) -> Rate:
    """Resolve the list again and again until `seconds` have passed."""
    count = position = 0
    step = 1
    clock = _Clock(seconds)
    while count < MAX_LOOKUPS:
        chunk = queries[position : position + step]
        for query in chunk:
            await resolve(query)
        count += len(chunk)
        position = (position + len(chunk)) % len(queries)
        if time.perf_counter() >= clock.deadline:
            break
        step = min(2 * step, CHUNK)
    return clock.rate(count)


def match_loop(
    match: Callable[[Sequence[str]], object], inputs: Sequence[tuple[str, ...]], seconds: float
) -> Rate:
    """Call `match` on each input in turn, passing over the list again until `seconds`
    have passed (the matcher keeps no state between calls: a repeat costs the same)."""
    count = position = 0
    step = 1
    clock = _Clock(seconds)
    while count < MAX_LOOKUPS:
        chunk = inputs[position : position + step]
        for spellings in chunk:
            match(spellings)
        count += len(chunk)
        position = (position + len(chunk)) % len(inputs)
        if time.perf_counter() >= clock.deadline:
            break
        step = min(2 * step, CHUNK)
    return clock.rate(count)


async def memo_misses(resolver: Resolver, queries: Sequence[Query], seconds: float) -> Rate:
    """Resolve already-seen queries as memo misses: before each chunk, an empty
    invalidation (no organization, no number) drops the answer memo and nothing else,
    so every timed resolve computes spellings (LRU), reads the exact cache and runs the
    pattern stage. Until `seconds` of timed work."""
    count = position = 0
    step = 1
    spent = cpu = 0.0
    while count < MAX_LOOKUPS:
        chunk = queries[position : position + step]
        resolver.invalidate((), ())
        clock = _Clock(0)
        for query in chunk:
            await resolver.resolve(query)
        timed = clock.rate(len(chunk))
        spent, cpu, count = spent + timed.seconds, cpu + timed.cpu_seconds, count + len(chunk)
        position = (position + len(chunk)) % len(queries)
        if spent >= seconds:
            break
        step = min(2 * step, CHUNK)
    return Rate(count, spent, cpu)


async def each_once(
    resolve: Callable[[Query], Awaitable[Any]], queries: Sequence[Query], seconds: float
) -> Rate:
    """Resolve queries once each, in order, until all are done or `seconds` have
    passed (at least one): for paths that wait for the database."""
    count = 0
    clock = _Clock(seconds)
    for query in queries:
        await resolve(query)
        count += 1
        if time.perf_counter() >= clock.deadline:
            break
    return clock.rate(count)


async def each_once_by_pattern(
    resolve: Callable[[Query], Awaitable[Resolution]], queries: Sequence[Query], seconds: float
) -> tuple[Rate, Rate]:
    """`each_once`, and from the same calls, each timed on its own, the rate of those
    a pattern answered (the first-time pattern hits; the others are misses and exact
    hits, which on first sight wait for the database). Per-call clocks cost about
    0.1 us a call, counted in both."""
    count = hits = 0
    hit_seconds = hit_cpu = 0.0
    clock = _Clock(seconds)
    for query in queries:
        started, cpu_started = time.perf_counter(), time.thread_time()
        found = await resolve(query)
        if found.how == "pattern":
            hits += 1
            hit_seconds += time.perf_counter() - started
            hit_cpu += time.thread_time() - cpu_started
        count += 1
        if time.perf_counter() >= clock.deadline:
            break
    return clock.rate(count), Rate(hits, hit_seconds, hit_cpu)


def slow_loop(
    match: Callable[[Sequence[str]], object], inputs: Sequence[tuple[str, ...]], seconds: float
) -> Rate:
    """A baseline: one input after another until `seconds` have passed (at least one)."""
    count = 0
    clock = _Clock(seconds)
    for spellings in inputs:
        match(spellings)
        count += 1
        if time.perf_counter() >= clock.deadline:
            break
    return clock.rate(count)


async def alternating(
    first: tuple[Callable[[Query], Awaitable[Any]], Sequence[Query]],
    second: tuple[Callable[[Query], Awaitable[Any]], Sequence[Query]],
    seconds: float,
    chunk: int = 32,
) -> tuple[Rate, Rate]:
    """Two database-bound loops in alternating chunks, so drifting machine load
    affects both alike; until either list is done or `seconds` have passed in all."""
    counts = [0, 0]
    walls = [0.0, 0.0]
    cpus = [0.0, 0.0]
    deadline = time.perf_counter() + seconds
    position = 0
    while time.perf_counter() < deadline:
        for side, (resolve, queries) in enumerate((first, second)):
            part = queries[position : position + chunk]
            clock = _Clock(0)
            for query in part:
                await resolve(query)
            timed = clock.rate(len(part))
            counts[side] += len(part)
            walls[side] += timed.seconds
            cpus[side] += timed.cpu_seconds
        position += chunk
        if position >= min(len(first[1]), len(second[1])):
            break
    return Rate(counts[0], walls[0], cpus[0]), Rate(counts[1], walls[1], cpus[1])


async def concurrently(
    resolve: Callable[[Query], Awaitable[Any]], queries: Sequence[Query], tasks: int = 8
) -> None:
    """Warm-up (not timed): resolve every query once, `tasks` at a time."""
    queue = iter(queries)

    async def worker() -> None:
        for query in queue:
            await resolve(query)

    await asyncio.gather(*(worker() for _ in range(tasks)))


# --- the reference approach -------------------------------------------------------------


class Reference:
    """No cache: a query per lookup, then every pattern one by one (naive_match)."""

    def __init__(self, store: NumberStore, entries: dict[str, list[patterns.PatternEntry]]) -> None:
        self._store = store
        self._entries = entries

    async def resolve(self, query: Query) -> bool:
        spellings = spellings_of(query.to, REGION)
        found = await self._store.numbers_by_spellings(spellings)
        by_spelling = {n.phone_number: n for n in found}
        for spelling in spellings:
            number = by_spelling.get(spelling)
            if number is not None and reachable(number, query.destination, query.source):
                return True
        if pattern_stage_applies(query) and query.destination is not None:
            entries = self._entries.get(query.destination, [])
            return patterns.naive_match(entries, spellings) is not None
        return False


# --- the exact stage ------------------------------------------------------------------


async def load_known(resolver: Resolver, store: NumberStore) -> None:
    """Load the known-numbers set and freeze what exists then out of the collector's
    full passes, as `router serve` does at start (known_numbers.keep_loaded): without
    the freeze, a full collection of the benchmark's own objects (some 30 ms) lands
    in whichever measurement follows a build."""
    await resolver.known.load(store.all_phone_numbers)
    gc.freeze()


def unprovisioned(j: int) -> str:
    """A possible US number that no did(i) can be."""
    return f"+1{3000000000 + j * 7:010d}"


async def exact_stage(
    db: Database, tenant: Tenant, count: int, size: Size, rng: random.Random
) -> tuple[list[Row], dict[str, Any]]:
    store = NumberStore(db)
    resolver = Resolver(store, default_region=REGION, cache_ttl=TTL_S)
    await load_known(resolver, store)
    reference = Reference(store, {})
    org = tenant.organization_sid
    hot = [Query(did(i), Channel.VOICE, org, None) for i in rng.sample(range(count), size.hot)]
    misses = [
        Query(unprovisioned(j), Channel.VOICE, org, None)
        for j in rng.sample(range(10 * size.misses), size.misses)
    ]

    fresh = [Query(did(i), Channel.VOICE, org, None) for i in rng.sample(range(count), size.hot)]
    first_hit, base_hit = await alternating(
        (resolver.resolve, hot), (reference.resolve, fresh), 2 * size.baseline_seconds
    )
    await concurrently(resolver.resolve, hot[first_hit.count :])
    answers = [await resolver.resolve(q) for q in hot[:100]]
    assert all(a.outcome is ResolutionOutcome.MATCHED and a.how == "exact" for a in answers), (
        answers[0]
    )
    memo_hit = await repeated(resolver.resolve, hot, size.seconds)

    async def exact_cache_only(query: Query) -> Resolution:
        return await resolver.resolve(query, trace=True)

    exact_cache_hit = await repeated(exact_cache_only, hot, size.seconds)
    first_miss, base_miss = await alternating(
        (resolver.resolve, misses), (reference.resolve, misses), 2 * size.baseline_seconds
    )
    await concurrently(resolver.resolve, misses[first_miss.count :])
    assert (await resolver.resolve(misses[0])).outcome is ResolutionOutcome.NOT_FOUND
    memo_miss = await repeated(resolver.resolve, misses, size.seconds)

    label = f"{count:,} numbers"
    hit, miss = base_hit.per_second, base_miss.per_second
    memo_met = memo_hit.per_second >= EXACT_TARGET
    rows = [
        Row(f"exact hit, repeated (memo) [{label}]", memo_hit.per_second, "lookups/s", hit,
            ">= 1,000,000/s", memo_met),
        Row(f"exact hit, repeated (memo), per CPU second [{label}]", memo_hit.per_cpu_second,
            "lookups/s", None, "(>= 1,000,000/s: info)"),
        Row(f"exact hit, memo bypassed (trace=True) [{label}]", exact_cache_hit.per_second,
            "lookups/s", hit),
        Row(f"exact hit, first time (DB query) [{label}]", first_hit.per_second, "lookups/s", hit),
        Row(f"exact miss, repeated (cached miss) [{label}]", memo_miss.per_second, "lookups/s",
            miss),
        Row(f"exact miss, first time (known numbers) [{label}]", first_miss.per_second,
            "lookups/s", miss),
    ]  # fmt: skip
    details = {
        name: asdict(rate)
        for name, rate in {
            "first_hit": first_hit,
            "memo_hit": memo_hit,
            "exact_cache_hit": exact_cache_hit,
            "first_miss": first_miss,
            "memo_miss": memo_miss,
            "baseline_hit": base_hit,
            "baseline_miss": base_miss,
        }.items()
    }
    return rows, details


# --- the pattern stage ----------------------------------------------------------------


@dataclass(frozen=True)
class PatternSet:
    """A generator of patterns and of the numbers dialed at them."""

    name: str
    texts: list[str]
    dialed: list[str]  # distinct; the first is the one resolved cold


def operator_set(count: int, dialed: int) -> PatternSet:
    """The dial-plan generator (benchmarks.dialplans): every shape operators write,
    70 % of the numbers made to match, 30 % made from no pattern."""
    shapes = dialplans.operator_shapes(count)
    numbers_dialed = dialplans.dialed_numbers(shapes, dialed, seed=count)
    return PatternSet("operator", [text for text, _ in shapes], numbers_dialed)


def prefix_friendly_set(count: int, dialed: int) -> PatternSet:
    """The first generator (fixtures.pattern_texts): patterns that mostly open with
    literal digits, and numbers that each hit one."""
    texts = pattern_texts(count)
    return PatternSet("prefix-friendly", texts, pattern_hits(texts, dialed, seed=count))


def wide_set(count: int, dialed: int) -> PatternSet:
    """The dial-plan shapes with half of the patterns in shapes the class-string tables
    suit least (free digit counts on both sides of a fixed part, repeated groups)."""
    shapes = dialplans.operator_shapes(count, shapes=dialplans.WIDE_SHAPES)
    numbers_dialed = dialplans.dialed_numbers(shapes, dialed, seed=count)
    return PatternSet("wide", [text for text, _ in shapes], numbers_dialed)


PATTERN_SETS = (operator_set, prefix_friendly_set, wide_set)


async def pattern_stage(
    db: Database, count: int, make_set: Any, size: Size, offset: int
) -> tuple[list[Row], dict[str, Any]]:
    chosen: PatternSet = make_set(count, size.hits + size.cold_hits + 1)
    tenant = await make_tenant(db, f"p{count}-{chosen.name}.bench.example.com")
    await load_numbers(
        db, tenant, numbers=0, patterns=count, first=PATTERN_SID_BASE + offset,
        pattern_set=chosen.texts,
    )  # fmt: skip
    org = tenant.organization_sid
    store = NumberStore(db)

    started = time.perf_counter()
    found = await store.pattern_numbers(org)
    read_s = time.perf_counter() - started
    entries = [patterns.PatternEntry(n.sid, n.phone_number, n.date_created) for n in found]
    rss_before = _rss_mib()
    started = time.perf_counter()
    matcher = patterns.OrgMatcher(entries)
    build_s = time.perf_counter() - started
    rss_after = _rss_mib()
    started = time.perf_counter()
    prefix_index = PrefixIndexMatcher(entries, previous=matcher)
    prefix_build_s = time.perf_counter() - started
    assert len(matcher) == count, (len(matcher), count)

    first, matched, cold = (
        chosen.dialed[0],
        chosen.dialed[1 : size.hits + 1],
        chosen.dialed[size.hits + 1 :],
    )
    spellings = [spellings_of(to, REGION) for to in matched]
    hit_share = sum(matcher.match(s) is not None for s in spellings) / len(spellings)
    probe = spellings[:SHARE_SAMPLE]
    assert [matcher.match(s) for s in probe] == [prefix_index.match(s) for s in probe]

    # (a) the matcher alone (no memo: every lookup is first-time work), and its
    # baselines on the same inputs: the prefix index (the engine before this one) and
    # the naive scan.
    matcher_rate = match_loop(matcher.match, spellings, size.seconds)
    prefix_rate = slow_loop(prefix_index.match, spellings, size.baseline_seconds)

    def naive(spellings: Sequence[str]) -> object:
        return patterns.naive_match(entries, spellings)

    naive_rate = slow_loop(naive, spellings, size.baseline_seconds)

    # (b) through the resolver: the first pattern-stage use reads the patterns and
    # builds the prefix index; the automaton compiles in the background.
    resolver = Resolver(store, default_region=REGION, cache_ttl=TTL_S)
    await load_known(resolver, store)
    started = time.perf_counter()
    await resolver.resolve(Query(first, Channel.VOICE, org, None))
    first_resolve_s = time.perf_counter() - started
    await resolver.automata_ready()
    automaton_ready_s = time.perf_counter() - started
    # The build leaves many new long-lived objects: the next full collection, once per
    # build, is timed here rather than charged to whichever lookups it interrupts.
    started = time.perf_counter()
    gc.collect()
    collection_s = time.perf_counter() - started
    queries = [Query(to, Channel.VOICE, org, None) for to in cold]
    resolve_first, pattern_first = await each_once_by_pattern(
        resolver.resolve, queries, size.seconds
    )
    seen = queries[: resolve_first.count]
    resolve_repeated = await repeated(resolver.resolve, seen, size.seconds)
    resolve_memo_miss = await memo_misses(resolver, seen, size.seconds)
    reference = Reference(store, {org: entries})
    reference_rate = await each_once(reference.resolve, queries, size.baseline_seconds)

    label = f"{count:,} {chosen.name} patterns"
    at_target = count == TARGET_PATTERNS and chosen.name == "operator"

    def row(
        figure: str, rate: Rate, baseline: Rate | None, target: str = "", met: bool | None = None
    ) -> Row:
        return Row(
            figure,
            rate.per_second,
            "lookups/s",
            None if baseline is None else baseline.per_second,
            target,
            met,
        )

    rows = [
        Row(f"automaton build (read {read_s:.2f} s + compile) [{label}]", build_s, "s",
            prefix_build_s, "(baseline: prefix index build)"),
        Row(f"automaton memory (RSS growth) [{label}]", rss_after - rss_before, "MiB"),
        Row(f"first pattern-stage resolve (read + prefix index) [{label}]", first_resolve_s,
            "s"),
        Row(f"first resolve to automaton ready [{label}]", automaton_ready_s, "s"),
        row(f"(a) OrgMatcher.match ({hit_share:.0%} hit) vs prefix index [{label}]",
            matcher_rate, prefix_rate, ">= 300,000/s" if at_target else "",
            matcher_rate.per_second >= PATTERN_TARGET if at_target else None),
        row(f"(a) OrgMatcher.match vs naive_match [{label}]", matcher_rate, naive_rate),
        Row(f"full collection after the build, once per build [{label}]", collection_s * 1000,
            "ms"),
        row(f"(b) resolve, first time, every dialed number (known numbers + spellings + "
            f"matcher; exact hits wait for the database) [{label}]", resolve_first,
            reference_rate),
        row(f"(b) resolve, first time, the pattern hits among them [{label}]", pattern_first,
            reference_rate, ">= 50,000/s" if at_target else "",
            pattern_first.per_second >= RESOLVE_FIRST_TARGET if at_target else None),
        row(f"(b) resolve, repeated (answer memo) [{label}]", resolve_repeated,
            reference_rate),
        row(f"(b) resolve, memo miss, spellings + exact cache warm [{label}]",
            resolve_memo_miss, reference_rate),
    ]  # fmt: skip
    details = {
        "read_s": read_s,
        "build_s": build_s,
        "prefix_index_build_s": prefix_build_s,
        "rss_growth_mib": rss_after - rss_before,
        "first_resolve_s": first_resolve_s,
        "automaton_ready_s": automaton_ready_s,
        "collection_after_build_s": collection_s,
        "hit_share": hit_share,
        **{
            name: asdict(rate)
            for name, rate in {
                "matcher": matcher_rate,
                "prefix_index": prefix_rate,
                "naive_match": naive_rate,
                "resolve_first": resolve_first,
                "resolve_first_pattern_hits": pattern_first,
                "resolve_repeated": resolve_repeated,
                "resolve_memo_miss": resolve_memo_miss,
                "reference_db_plus_naive": reference_rate,
            }.items()
        },
    }
    return rows, details


def _rss_mib() -> float:
    """This process's resident set size now (Linux /proc)."""
    fields = Path("/proc/self/statm").read_text().split()
    return int(fields[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


# --- the run ----------------------------------------------------------------------------


async def run(dsn: str, size: Size) -> tuple[list[Row], dict[str, Any]]:
    rng = random.Random(2026)
    rows: list[Row] = []
    details: dict[str, Any] = {"size": asdict(size), "load_average_start": load_average()}
    async with migrated(dsn) as db:
        tenant = await make_tenant(db)
        loaded = 0
        for count in size.numbers:
            started = time.perf_counter()
            await load_numbers(db, tenant, numbers=count - loaded, patterns=0, first=loaded)
            details[f"load_{count}_s"] = time.perf_counter() - started
            loaded = count
            found, detail = await exact_stage(db, tenant, count, size, rng)
            rows += found
            details[f"exact_{count}"] = detail
            print(f"  exact stage, {count:,} numbers: done", file=sys.stderr)
        for offset, (make_set, count) in enumerate(
            (make_set, count) for make_set in PATTERN_SETS for count in size.patterns
        ):
            found, detail = await pattern_stage(db, count, make_set, size, offset * 100_000)
            rows += found
            name = make_set.__name__.removesuffix("_set")
            details[f"patterns_{name}_{count}"] = detail
            print(f"  pattern stage, {count:,} {name} patterns: done", file=sys.stderr)
    details["load_average_end"] = load_average()
    return rows, details


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.resolver", description=__doc__)
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--quick", action="store_true", help="10k numbers, 10k patterns, ~30 s")
    sizes.add_argument("--tiny", action="store_true", help="smoke size, a few seconds")
    parser.add_argument("--json", type=Path, help="write the table as JSON here")
    args = parser.parse_args(argv)
    mode = "tiny" if args.tiny else "quick" if args.quick else "full"
    size = SIZES[mode]
    started = time.perf_counter()
    with database_url(durable=False) as dsn:
        rows, details = asyncio.run(run(dsn, size))
    details["seconds"] = time.perf_counter() - started
    print_table(f"resolver ({mode}), ratio = value / baseline", rows)
    if args.json:
        write_json(args.json, "resolver", rows, details)
    return 0


if __name__ == "__main__":
    sys.exit(main())
