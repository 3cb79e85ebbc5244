"""The benchmark scripts run: each one, at its smoke size, through the quick driver.

Figures are not checked here (performance is measured by the benchmarks, not by
timed tests); only that every script completes and reports its table.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.quick import BENCHMARKS

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.long
def test_every_benchmark_runs_at_its_smoke_size() -> None:
    """`python -m benchmarks.quick --tiny` runs all five and prints one combined table."""
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.quick", "--tiny"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    for name in BENCHMARKS:
        assert f"{name}: " in completed.stdout, name
    assert "router benchmarks (tiny" in completed.stdout


def test_loadgen_refuses_a_remote_target_without_permission() -> None:
    """The operator's load generator aims at loopback unless told --allow-remote."""
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.loadgen",
            "--url",
            "http://router.example.com:8080",
            "--token",
            "x",
            "--duration",
            "1",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode != 0
    assert "allow-remote" in completed.stdout + completed.stderr
