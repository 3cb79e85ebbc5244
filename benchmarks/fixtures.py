"""Shared set-up for the benchmarks: a database, a tenant, and bulk-loaded numbers.

Every benchmark starts its own throwaway PostgreSQL cluster with the service's
embedded-cluster code (or uses ROUTER_BENCH_DATABASE_URL), so figures are
reproducible on a fresh machine with one command.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from router import tokens
from router.domain import Role
from router.store.accounts import AccountStore, NewAccount
from router.store.embedded import EmbeddedPostgres
from router.store.postgres import Database

COLUMNS = (
    "sid",
    "account_sid",
    "organization_sid",
    "phone_number",
    "friendly_name",
    "api_version",
    "number_type",
    "pure_sip",
    "voice_url",
    "date_created",
    "date_updated",
)
REPO_ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def database_url(*, durable: bool = True) -> Iterator[str]:
    """A PostgreSQL URL for one benchmark run; a private cluster unless
    ROUTER_BENCH_DATABASE_URL names a server. `durable=False` turns fsync off (only
    for benchmarks that do not measure writes)."""
    given = os.environ.get("ROUTER_BENCH_DATABASE_URL")
    if given:
        yield given
        return
    data_dir = Path(tempfile.mkdtemp(prefix="router-bench-", dir="/tmp"))
    data_dir.chmod(0o755)
    settings = () if durable else ("fsync=off", "synchronous_commit=off")
    cluster = EmbeddedPostgres(data_dir, server_settings=settings)
    try:
        yield cluster.start()
    finally:
        cluster.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@contextlib.asynccontextmanager
async def migrated(dsn: str) -> AsyncIterator[Database]:
    """A migrated database, emptied of earlier benchmark data."""
    db = await Database.connect(dsn, min_size=1, max_size=8)
    try:
        await db.migrate()
        async with db.connection() as conn:
            await conn.execute(
                "TRUNCATE callback_attempts, callbacks, call_events, messages, calls, inventory,"
                " incoming_numbers, applications, accounts, organizations, settings CASCADE"
            )
        yield db
    finally:
        await db.close()


@dataclass(frozen=True)
class Tenant:
    organization_sid: str
    domain: str
    account_sid: str
    token: str


async def make_tenant(db: Database, domain: str = "bench.example.com") -> Tenant:
    """A super admin account in its own organization."""
    store = AccountStore(db)
    organization = await store.create_organization(domain)
    token = tokens.new_token()
    account = await store.create_account(
        NewAccount(
            friendly_name="bench",
            role=Role.ADMINISTRATOR,
            parent_sid=None,
            organization_sid=organization.sid,
            credentials=tokens.hash_token(token),
            signing_key=tokens.new_signing_key(),
        )
    )
    return Tenant(organization.sid, domain, account.sid, token)


def did(i: int) -> str:
    """The i-th benchmark DID: +1 and ten digits, all distinct."""
    return f"+1{2000000000 + i * 7:010d}"


def pattern_texts(count: int, seed: int = 7) -> list[str]:
    """A realistic mix of dial-plan patterns: digit prefixes with `.*`, fixed-length
    tails, leading classes, star codes and a few alternations; all distinct."""
    rng = random.Random(seed)
    shapes = (
        lambda p: f"{p}.*",
        lambda p: f"^{p}\\d{{{rng.randint(2, 6)}}}$",
        lambda p: f"[{rng.choice('123456789')}{rng.choice('123456789')}]{p[1:]}...",
        lambda p: f"\\*{p[:3]}.*#",
        lambda p: f"({p}|{p[::-1]})\\d*",
    )
    found: set[str] = set()
    while len(found) < count:
        prefix = str(rng.randint(10**3, 10**7 - 1))
        found.add(rng.choices(shapes, weights=(50, 25, 10, 10, 5))[0](prefix))
    return sorted(found)


def pattern_hits(texts: Sequence[str], count: int, seed: int = 11) -> list[str]:
    """Distinct dialed strings that each match one of `texts` (made by pattern_texts),
    the pattern picked at random: inputs that reach the pattern stage and hit."""
    rng = random.Random(seed)

    def digits(low: int, high: int) -> str:
        return "".join(rng.choices("0123456789", k=rng.randint(low, high)))

    shapes: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
        (re.compile(r"(\d+)\.\*"), lambda m: m[1] + digits(3, 6)),
        (re.compile(r"\^(\d+)\\d\{(\d+)\}\$"), lambda m: m[1] + digits(int(m[2]), int(m[2]))),
        (
            re.compile(r"\[(\d+)\](\d+)(\.+)"),
            lambda m: rng.choice(m[1]) + m[2] + digits(len(m[3]), len(m[3])),
        ),
        (re.compile(r"\\\*(\d+)\.\*#"), lambda m: "*" + m[1] + digits(0, 4) + "#"),
        (re.compile(r"\((\d+)\|(\d+)\)\\d\*"), lambda m: rng.choice(m.groups()) + digits(0, 5)),
    ]
    found: dict[str, None] = {}
    for _ in range(count * 20):
        if len(found) >= count:
            break
        text = rng.choice(texts)
        for shape, example in shapes:
            if whole := shape.fullmatch(text):
                found[example(whole)] = None
                break
    return list(found)


async def load_numbers(
    db: Database,
    tenant: Tenant,
    *,
    numbers: int,
    patterns: int,
    voice_url: str = "http://127.0.0.1:9/r",
    first: int = 0,
    pattern_set: Sequence[str] | None = None,
) -> None:
    """Bulk-load inventory DIDs and pattern numbers (COPY; a million rows take seconds).

    `first` offsets the DIDs (did(first)...) and the sids, so several calls can add
    to one table: numbers=90_000, first=10_000 grows 10k loaded numbers to 100k.
    The patterns are `pattern_set` when given, else `pattern_texts(patterns)`."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        (
            f"PN{i:032x}",
            tenant.account_sid,
            tenant.organization_sid,
            did(i),
            did(i),
            "2012-04-24",
            "local",
            False,
            voice_url,
            start,
            start,
        )
        for i in range(first, first + numbers)
    ]
    rows += [
        (
            f"PN{first + numbers + i:032x}",
            tenant.account_sid,
            tenant.organization_sid,
            text,
            text,
            "2012-04-24",
            "sip",
            True,
            voice_url,
            start + timedelta(seconds=i),
            start,
        )
        for i, text in enumerate(pattern_texts(patterns) if pattern_set is None else pattern_set)
    ]
    async with db.connection() as conn:
        await conn.copy_records_to_table("incoming_numbers", records=rows, columns=COLUMNS)
        await conn.execute("ANALYZE incoming_numbers")


# --- processes, ports and reports (added for the ingress and callbacks benchmarks) -----


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def load_average() -> tuple[float, float, float]:
    """The 1, 5 and 15 minute load averages (the machine is shared: note them)."""
    one, five, fifteen = os.getloadavg()
    return round(one, 2), round(five, 2), round(fifteen, 2)


@contextlib.contextmanager
def server_process(
    argv: Sequence[str],
    *,
    ready_url: str,
    env: dict[str, str] | None = None,
    timeout: float = 60.0,
    quiet: bool = True,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `argv` (from the repository root) until the block ends; wait until
    `ready_url` answers 200 first. Stopped with SIGTERM (then SIGKILL) by its pid."""
    output = subprocess.DEVNULL if quiet else None
    process = subprocess.Popen(
        list(argv),
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
        stdout=output,
        stderr=output,
    )
    try:
        deadline = time.monotonic() + timeout
        while not _answers(ready_url):
            if process.poll() is not None:
                raise RuntimeError(f"{argv[:4]} exited with {process.returncode} before ready")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{argv[:4]} not ready at {ready_url} after {timeout:.0f} s")
            time.sleep(0.1)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 (loopback URL)
            return int(response.status) == 200
    except (OSError, ValueError):
        return False


def router_process(
    dsn: str,
    *,
    port: int,
    gateway_token: str,
    env: dict[str, str] | None = None,
    workers: int = 1,
) -> contextlib.AbstractContextManager[subprocess.Popen[bytes]]:
    """`python -m router serve --workers N` on 127.0.0.1:`port` against `dsn`, logging
    warnings only (one process by default, so figures compare with earlier runs)."""
    settings = {
        "ROUTER_SERVE_WORKERS": str(workers),
        "ROUTER_DATABASE_URL": dsn,
        "ROUTER_HOST": "127.0.0.1",
        "ROUTER_PORT": str(port),
        "ROUTER_GATEWAY_TOKEN": gateway_token,
        "ROUTER_LOG_LEVEL": "warning",
        "ROUTER_LOG_FORMAT": "json",
    }
    return server_process(
        [sys.executable, "-m", "router", "serve"],
        ready_url=f"http://127.0.0.1:{port}/readyz",
        env={**settings, **(env or {})},
    )


@dataclass(frozen=True)
class Row:
    """One line of a benchmark's table: a figure, its same-run baseline and target."""

    figure: str
    value: float
    unit: str
    baseline: float | None = None
    target: str = ""  # e.g. ">= 0.50 (ratio)" or "< 10 ms"
    met: bool | None = None

    @property
    def ratio(self) -> float | None:
        return self.value / self.baseline if self.baseline else None


def print_table(title: str, rows: Sequence[Row]) -> None:
    """figure | value | baseline | ratio | target | met?"""
    header = ("figure", "value", "baseline", "ratio", "target", "met?")
    lines = [
        (
            row.figure,
            _quantity(row.value, row.unit),
            "" if row.baseline is None else _quantity(row.baseline, row.unit),
            "" if row.ratio is None else f"{row.ratio:.2f}",
            row.target,
            {True: "yes", False: "NO", None: ""}[row.met],
        )
        for row in rows
    ]
    widths = [max(len(cells[i]) for cells in [header, *lines]) for i in range(len(header))]
    print(f"\n{title}  (load average {' '.join(map(str, load_average()))})")
    for cells in [header, *lines]:
        print("  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)))


def _quantity(value: float, unit: str) -> str:
    return f"{value:,.0f} {unit}" if abs(value) >= 100 else f"{value:,.2f} {unit}"


def write_json(path: Path, benchmark: str, rows: Sequence[Row], details: Any = None) -> None:
    """The table (and details) as JSON for benchmarks/quick.py."""
    payload = {
        "benchmark": benchmark,
        "load_average": load_average(),
        "rows": [{**asdict(row), "ratio": row.ratio} for row in rows],
        "details": details,
    }
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")


def py_spy(pid: int, out: Path, seconds: float) -> subprocess.Popen[bytes]:
    """Sample process `pid` with py-spy (`pip install py-spy`) for `seconds`: a flame
    graph for an .svg `out`, collapsed stacks (for profile_shares) for a .txt one.
    Stop it early with SIGINT; it writes its output either way."""
    beside = Path(sys.executable).with_name("py-spy")  # installed into this venv
    program = str(beside) if beside.exists() else "py-spy"
    argv = [program, "record", "--pid", str(pid), "--duration", str(max(1, int(seconds)))]
    argv += ["-o", str(out)] + (["--format", "raw"] if out.suffix == ".txt" else [])
    spy = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)  # attached
    return spy


# Leaf frames of threads waiting for work, which py-spy does not always see as idle.
IDLE_LEAVES = frozenset({"_worker", "EpollSelector.select"})


def profile_shares(raw: Path, functions: Sequence[str]) -> dict[str, Any]:
    """From py-spy collapsed stacks: the share of busy samples (idle-waiting leaves
    such as the event loop's epoll and an executor's queue left out) under each of
    `functions` (qualified names as py-spy prints them, e.g. `Resolver.resolve`)."""
    busy = idle = 0
    under = dict.fromkeys(functions, 0)
    for line in raw.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [frame.split(" (", 1)[0] for frame in stack.split(";")]
        if frames[-1] in IDLE_LEAVES:
            idle += int(count)
            continue
        busy += int(count)
        names = set(frames)
        for name in functions:
            if name in names:
                under[name] += int(count)
    return {
        "samples": busy,
        "idle_samples": idle,
        "shares": {name: round(n / busy, 3) if busy else 0.0 for name, n in under.items()},
    }


def fsync_ms(samples: int = 50) -> float:
    """Median time of one 8 kB write + fdatasync in /tmp (where the benchmark clusters
    live): the floor under every durable commit. Shared disks vary by 10-50x over an
    hour, so durable-write benchmarks report it with their figures."""
    fd, name = tempfile.mkstemp(prefix="router-bench-fsync-", dir="/tmp")
    block = b"\0" * 8192
    timings = []
    try:
        for _ in range(samples):
            os.lseek(fd, 0, os.SEEK_SET)
            started = time.perf_counter()
            os.write(fd, block)
            os.fdatasync(fd)
            timings.append(time.perf_counter() - started)
    finally:
        os.close(fd)
        os.unlink(name)
    return round(sorted(timings)[len(timings) // 2] * 1e3, 3)
