"""Cold start and memory of `router serve --workers N` on a large database.

    python -m benchmarks.workers            # 1M numbers + 10k patterns, ~3 minutes
    python -m benchmarks.workers --quick    # 100k numbers + 10k patterns
    python -m benchmarks.workers --tiny     # a few seconds (smoke)

The database of benchmarks/coldstart.py (a private cluster, fsync off). For each worker
count (1, then 2): the time from starting `python -m router serve --workers N` to the
first `GET /readyz` 200 (median of the starts; with 2 workers the supervisor reads the
known numbers before it forks, so this includes that read); then, in the last start,
coldstart's warm-up (first exact and pattern requests, distinct resolutions, 8
connections that the kernel spreads over the workers), a pause for every worker's
known-numbers top-up to finish, and the memory: RSS of each process (supervisor and
workers), and the total PSS (from /proc/PID/smaps_rollup: shared pages divided between
the processes that share them, so the sum is the service's real footprint).

Targets (issue 10): with 2 workers, cold start < 5 s and total PSS < 1.5 x one worker's.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.coldstart import SIZES, TOKEN, Size, exercise, prepare, workload
from benchmarks.fixtures import (
    Row,
    Tenant,
    database_url,
    free_port,
    load_average,
    print_table,
    router_process,
    write_json,
)

READY_TARGET_S = 5.0
PSS_TARGET_RATIO = 1.5
SETTLE_S = 5.0  # after the warm-up: the workers' top-up reads finish and are freed
MIB = 1024**2


def process_tree(supervisor: int) -> list[int]:
    """The router process and its router children (workers), not PostgreSQL's."""
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    found = [supervisor]
    for child in map(int, children):
        try:
            if b"router" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(child)
        except OSError:
            continue
    return found


def rollup(pid: int) -> dict[str, int]:
    """Rss and Pss of one process, in bytes."""
    found = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in {"Rss", "Pss"}:
            found[name] = int(value.split()[0]) * 1024
    return found


def memory(supervisor: int) -> dict[str, Any]:
    per_process = {pid: rollup(pid) for pid in process_tree(supervisor)}
    return {
        "processes": {str(pid): figures for pid, figures in per_process.items()},
        "total_pss": sum(figures["Pss"] for figures in per_process.values()),
        "total_rss": sum(figures["Rss"] for figures in per_process.values()),
    }


def start(dsn: str, workers: int, tenant: Tenant | None, size: Size) -> dict[str, Any]:
    """One start with `workers`: time to ready; exercised and measured when given a tenant."""
    port = free_port()
    began = time.perf_counter()
    with router_process(dsn, port=port, gateway_token=TOKEN, workers=workers) as process:
        result: dict[str, Any] = {"ready_s": time.perf_counter() - began}
        if tenant is not None:
            time.sleep(SETTLE_S)
            result["at_ready"] = memory(process.pid)
            first_pattern, dialed = workload(size)
            result.update(
                asyncio.run(exercise(f"http://127.0.0.1:{port}", tenant, first_pattern, dialed))
            )
            time.sleep(SETTLE_S)
            result["after_warmup"] = memory(process.pid)
        return result


def run(size: Size, counts: Sequence[int]) -> tuple[list[Row], dict[str, Any]]:
    details: dict[str, Any] = {"load_average_start": load_average()}
    with database_url(durable=False) as dsn:
        tenant, _ = asyncio.run(prepare(dsn, size, load=False))
        tenant, details["load_s"] = asyncio.run(prepare(dsn, size, load=True))
        for count in counts:
            starts = [start(dsn, count, None, size) for _ in range(size.starts - 1)]
            starts.append(start(dsn, count, tenant, size))
            details[f"workers_{count}"] = starts
    details["load_average_end"] = load_average()
    return rows(details, counts, size), details


def rows(details: dict[str, Any], counts: Sequence[int], size: Size) -> list[Row]:
    label = f"{size.numbers:,} numbers + {size.patterns:,} patterns"
    table: list[Row] = []
    one = details[f"workers_{counts[0]}"][-1]["after_warmup"]["total_pss"]
    for count in counts:
        starts = details[f"workers_{count}"]
        ready = statistics.median(s["ready_s"] for s in starts)
        last = starts[-1]
        pss = last["after_warmup"]["total_pss"]
        many = count > 1
        table += [
            Row(
                f"{count} worker(s): cold start to /readyz 200, median of {len(starts)} [{label}]",
                ready,
                "s",
                target=f"< {READY_TARGET_S:.0f} s" if many else "",
                met=ready < READY_TARGET_S if many else None,
            ),
            Row(
                f"{count} worker(s): total PSS after warm-up (baseline: {counts[0]} worker)",
                pss / MIB,
                "MiB",
                one / MIB if many else None,
                f"< {PSS_TARGET_RATIO} x" if many else "",
                pss < PSS_TARGET_RATIO * one if many else None,
            ),
            Row(
                f"{count} worker(s): total PSS at ready",
                last["at_ready"]["total_pss"] / MIB,
                "MiB",
            ),
        ]
        for pid, figures in last["after_warmup"]["processes"].items():
            table.append(
                Row(
                    f"{count} worker(s): RSS of pid {pid} after warm-up",
                    figures["Rss"] / MIB,
                    "MiB",
                )
            )
    return table


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.workers", description=__doc__)
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--quick", action="store_true", help="100k numbers, 10k patterns")
    sizes.add_argument("--tiny", action="store_true", help="smoke size, a few seconds")
    parser.add_argument("--workers", default="1,2", help="worker counts, the first the baseline")
    parser.add_argument("--json", type=Path, help="write the table as JSON here")
    args = parser.parse_args(argv)
    mode = "tiny" if args.tiny else "quick" if args.quick else "full"
    size = SIZES[mode]
    counts = [int(count) for count in args.workers.split(",")]
    table, details = run(size, counts)
    print_table(f"workers ({mode}), ratio = value / baseline", table)
    if args.json:
        write_json(args.json, "workers", table, details)
    return 0


if __name__ == "__main__":
    sys.exit(main())
