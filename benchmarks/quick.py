"""All benchmarks in their small sizes, one table: `python -m benchmarks.quick`.

Runs every benchmark of BENCHMARKS with `--quick` (each in
its own process, with its own PostgreSQL cluster) and prints every figure next to its
same-run baseline, ratio and target. Under two minutes on the 2-core machine when it
is otherwise idle; `--tiny` runs the smoke sizes instead (the test suite does that),
all on one cluster: a smoke run lasts seconds, about what creating a cluster takes,
and its figures are not read.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.fixtures import Row, database_url, print_table

BENCHMARKS = (
    "resolver",
    "automaton",
    "pattern_ingress",
    "ingress",
    "callbacks",
    "coldstart",
    "invalidation",
)


def run_one(name: str, size: str, out: Path, env: dict[str, str] | None = None) -> list[Row]:
    """Run one benchmark in its own process; its rows, prefixed with its name."""
    command = [sys.executable, "-m", f"benchmarks.{name}", f"--{size}", "--json", str(out)]
    completed = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if completed.returncode != 0:
        print(completed.stdout[-2000:], completed.stderr[-4000:], file=sys.stderr)
        raise SystemExit(f"benchmarks.{name} failed with exit status {completed.returncode}")
    payload = json.loads(out.read_text(encoding="utf-8"))
    return [
        Row(
            figure=f"{name}: {row['figure']}",
            value=row["value"],
            unit=row["unit"],
            baseline=row["baseline"],
            target=row["target"],
            met=row["met"],
        )
        for row in payload["rows"]
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quick", description=__doc__)
    parser.add_argument("--tiny", action="store_true", help="smoke sizes (seconds each)")
    parser.add_argument("--only", nargs="*", choices=BENCHMARKS, help="a subset")
    args = parser.parse_args(argv)
    size = "tiny" if args.tiny else "quick"
    rows: list[Row] = []
    started = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="router-bench-json-") as folder,
        contextlib.ExitStack() as stack,
    ):
        env = None
        if args.tiny:
            shared = stack.enter_context(database_url(durable=False))
            env = {**os.environ, "ROUTER_BENCH_DATABASE_URL": shared}
        for name in args.only or BENCHMARKS:
            print(f"running benchmarks.{name} --{size} ...", file=sys.stderr, flush=True)
            rows += run_one(name, size, Path(folder) / f"{name}.json", env)
    print_table(f"router benchmarks ({size}, {time.perf_counter() - started:.0f} s)", rows)
    missed = [row.figure for row in rows if row.met is False]
    if missed:
        print(f"\ntargets missed: {len(missed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
