"""Building the pattern automaton: time and memory per organization, and what one
pattern write costs once it is built.

    python -m benchmarks.automaton            # 100 / 1k / 10k patterns, 10 orgs of 10k
    python -m benchmarks.automaton --quick    # 100 / 1k patterns, 3 orgs of 1k
    python -m benchmarks.automaton --tiny     # smoke size

In this process, no database: the dial-plan generator's patterns (benchmarks.dialplans)
become `OrgMatcher`s. For each count: the full build (compile every pattern with
`regex`, expand into class-string tables what fits, compile the rest and the long-
spelling database with hyperscan), the resident memory it added, which engine holds
how many patterns, the serialized databases' size, and `updated` with one added and
one removed pattern (the delta a write costs before the background rebuild folds it
in). Baseline: the
prefix index build (what answers while the automaton compiles). Then several
organizations of the largest count, built one after another and all kept, as a
service holding them would: total time and memory.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.dialplans import operator_patterns
from benchmarks.fixtures import Row, print_table, write_json
from router.patterns import OrgMatcher, PatternEntry
from router.patterns.prefix_index import PrefixIndexMatcher


@dataclass(frozen=True)
class Size:
    counts: tuple[int, ...]
    organizations: int  # of the largest count


SIZES = {
    "full": Size((100, 1_000, 10_000), 10),
    "quick": Size((100, 1_000), 3),
    "tiny": Size((100,), 2),
}


def rss_mib() -> float:
    fields = Path("/proc/self/statm").read_text().split()
    return int(fields[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def entries_of(count: int, seed: int) -> list[PatternEntry]:
    texts = operator_patterns(count, seed=seed)
    return [PatternEntry(f"PN{seed:08x}{i:024x}", t, float(i)) for i, t in enumerate(texts)]


def one_count(count: int) -> list[Row]:
    entries = entries_of(count, seed=8)
    gc.collect()
    before = rss_mib()
    started = time.perf_counter()
    matcher = OrgMatcher(entries)
    build_s = time.perf_counter() - started
    grown = rss_mib() - before
    held = matcher.composition()
    started = time.perf_counter()
    PrefixIndexMatcher(entries)
    prefix_s = time.perf_counter() - started
    added = PatternEntry("PN" + "f" * 32, "9999[0-4]\\d{6}", float(count))
    started = time.perf_counter()
    matcher.updated([*entries[1:], added])
    delta_s = time.perf_counter() - started
    label = f"[{count:,} patterns]"
    return [
        Row(f"automaton build {label}", build_s, "s", prefix_s, "(baseline: prefix index)"),
        Row(f"automaton memory (RSS growth) {label}", grown, "MiB"),
        Row(f"patterns in class-string tables {label}", held.tables, "patterns"),
        Row(f"class strings in the tables {label}", held.class_strings, "strings"),
        Row(f"patterns in hyperscan only {label}", held.automaton, "patterns"),
        Row(f"patterns regex alone decides {label}", held.regex_only, "patterns"),
        Row(f"hyperscan databases, serialized {label}", held.database_bytes / 2**20, "MiB"),
        Row(f"one write: updated() with 1 added, 1 removed {label}", delta_s * 1000, "ms",
            None, "< 1,000 ms (SPEC 3.5)", delta_s < 1.0),
    ]  # fmt: skip


def organizations(count: int, how_many: int) -> list[Row]:
    gc.collect()
    before = rss_mib()
    kept = []
    started = time.perf_counter()
    for seed in range(how_many):
        kept.append(OrgMatcher(entries_of(count, seed=100 + seed)))
    took = time.perf_counter() - started
    label = f"[{how_many} organizations of {count:,} patterns]"
    return [
        Row(f"automata build, one after another {label}", took, "s"),
        Row(f"automata memory (RSS growth) {label}", rss_mib() - before, "MiB"),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.automaton", description=__doc__)
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--quick", action="store_true", help="100 and 1k patterns, 3 orgs")
    sizes.add_argument("--tiny", action="store_true", help="smoke size, seconds")
    parser.add_argument("--json", type=Path, help="write the table as JSON here")
    args = parser.parse_args(argv)
    mode = "tiny" if args.tiny else "quick" if args.quick else "full"
    size = SIZES[mode]
    table: list[Row] = []
    for count in size.counts:
        table += one_count(count)
        print(f"  {count:,} patterns: done", file=sys.stderr, flush=True)
    table += organizations(size.counts[-1], size.organizations)
    print_table(f"automaton ({mode})", table)
    if args.json:
        write_json(args.json, "automaton", table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
