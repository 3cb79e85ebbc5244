"""Prometheus metrics (DESIGN 7): one registry per application, so several apps in one
process (tests, benchmarks) never clash. Under `router serve` with several workers,
prometheus-client's multiprocess mode keeps every worker's values in a shared
directory, and whichever worker answers /metrics renders the sum of all of them."""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import values as prometheus_values
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from router.resolver import ResolverStats

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)
_MEMORY_READ_SECONDS = 10.0
_shared_directory: str | None = None


def share_between_processes(directory: Path) -> None:
    """From now on (and in every process forked after), metric values live in files
    under `directory`; called by the supervisor before it starts workers."""
    global _shared_directory
    _shared_directory = str(directory)
    # prometheus-client picks its value store from this variable; it reads it when it is
    # first imported, which happened long before, so the store is swapped here too.
    os.environ[MULTIPROCESS_VARIABLE] = _shared_directory
    prometheus_values.ValueClass = prometheus_values.get_value_class()  # type: ignore[no-untyped-call]


def forget_process(pid: int) -> None:
    """A worker has exited: its live-only gauges (memory, CPU) no longer count."""
    if _shared_directory is not None:
        mark_process_dead(pid, _shared_directory)  # type: ignore[no-untyped-call]


class Metrics:
    """The service's instruments."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.decisions = Counter(
            "router_decisions_total",
            "Routing decisions by event kind, outcome and match stage.",
            ["kind", "outcome", "stage"],
            registry=self.registry,
        )
        self.resolve_seconds = Histogram(
            "router_resolve_seconds",
            "Time to resolve a dialed number.",
            buckets=(0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5),
            registry=self.registry,
        )
        self.rcml_fetches = Counter(
            "router_rcml_fetches_total",
            "RCML fetches by where the document came from.",
            ["source"],
            registry=self.registry,
        )
        self.callbacks_pending = Gauge(
            "router_callbacks_pending",
            "Status callbacks not yet delivered or given up.",
            registry=self.registry,
            multiprocess_mode="livemostrecent",  # read from the database: any worker's will do
        )
        self.callback_deliveries = Counter(
            "router_callback_deliveries_total",
            "Status callback attempts by verdict.",
            ["verdict"],
            registry=self.registry,
        )
        self._decision_series: dict[tuple[object, ...], Any] = {}
        self._http_series: dict[tuple[object, ...], Any] = {}
        self.http_seconds = Histogram(
            "router_http_request_seconds",
            "HTTP requests by route template, method and status (count) and their latency.",
            ["route", "method", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.malformed_requests = Counter(
            "router_malformed_http_requests_total",
            "HTTP requests the parser refused (bad request line, header, line too long...)"
            " by the parser's error kind.",
            ["kind"],
            registry=self.registry,
        )
        self.auth_throttled = Counter(
            "router_auth_throttled_requests",
            "Requests refused with 429 after too many failed authentications, by what"
            " was throttled (address or account).",
            ["by"],
            registry=self.registry,
        )
        self._process = _ProcessGauges(self.registry)
        self._cache_lookups = Counter(
            "router_resolver_cache_lookups",
            "Resolver cache lookups by cache and result.",
            ["cache", "result"],
            registry=self.registry,
        )
        self._over_budget = Counter(
            "router_pattern_regex_over_budget",
            "Timed pattern matches not run because their organization had spent its regex"
            " time budget for the window (they count as no match).",
            registry=self.registry,
        )
        self._resolvers: list[_ResolverCounts] = []
        build = Gauge(
            "router_build_info",
            "Always 1; the version label says which router is running.",
            ["version"],
            registry=self.registry,
            multiprocess_mode="max",
        )
        build.labels(_version()).set(1)

    def observe_http(self, route: str, method: str, status: int, seconds: float) -> None:
        """One request (routes are templates, so their series are few)."""
        _series(self._http_series, self.http_seconds, (route, method, status)).observe(seconds)

    def count_decision(self, kind: str, outcome: str, stage: str) -> None:
        """One routing decision (kinds, outcomes and stages are a few fixed words)."""
        _series(self._decision_series, self.decisions, (kind, outcome, stage)).inc()

    def watch_resolver(self, stats: ResolverStats) -> None:
        self._resolvers.append(_ResolverCounts(stats, self._cache_lookups, self._over_budget))

    def refresh(self) -> None:
        """Copy what is read rather than counted (resolver statistics, this process's
        CPU and memory) into the instruments; run now and then and before a render."""
        for counts in self._resolvers:
            counts.push()
        self._process.update()

    def render(self) -> bytes:
        self.refresh()
        if _shared_directory is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=_shared_directory)  # type: ignore[no-untyped-call]
        return generate_latest(registry)


def _series(kept: dict[tuple[object, ...], Any], metric: Any, labels: tuple[object, ...]) -> Any:
    """The series of these label values, looked up once and then kept in `kept`:
    `metric.labels` validates and locks on every call, and it runs on every request."""
    series = kept.get(labels)
    if series is None:
        series = kept[labels] = metric.labels(*map(str, labels))
    return series


class _ResolverCounts:
    """The resolver's plain counters, pushed into a Counter as increments (so that in
    multiprocess mode every worker's lookups add up)."""

    def __init__(self, stats: ResolverStats, counter: Counter, over_budget: Counter) -> None:
        self._stats = stats
        self._counter = counter
        self._over_budget = over_budget
        self._pushed: dict[tuple[str, str], int] = {}
        self._over_budget_pushed = 0

    def push(self) -> None:
        for labels, value in (
            (("answer", "hit"), self._stats.answer_hits),
            (("answer", "miss"), self._stats.answer_misses),
            (("spelling", "hit"), self._stats.spelling_hits),
            (("spelling", "miss"), self._stats.spelling_misses),
        ):
            delta = value - self._pushed.get(labels, 0)
            # Touch every series once, so a fresh process shows zeros rather than nothing.
            if delta or labels not in self._pushed:
                self._counter.labels(*labels).inc(delta)
                self._pushed[labels] = value
        over_budget = self._stats.regex_over_budget
        self._over_budget.inc(over_budget - self._over_budget_pushed)
        self._over_budget_pushed = over_budget


class _ProcessGauges:
    """CPU and memory of this process; summed over the live workers when shared."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._cpu = Gauge(
            "router_process_cpu_seconds",
            "CPU time (user and system) used by the serving processes.",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self._rss = Gauge(
            "router_process_resident_memory_bytes",
            "Resident memory (shared pages count in each process); with several workers,"
            " one series per process, labelled pid.",
            registry=registry,
            multiprocess_mode="liveall",
        )
        self._pss = Gauge(
            "router_process_proportional_memory_bytes",
            "Proportional set size (shared pages split between their users): sums to the"
            " service's real memory.",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self._read_at = -_MEMORY_READ_SECONDS

    def update(self) -> None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        self._cpu.set(usage.ru_utime + usage.ru_stime)
        now = time.monotonic()
        # smaps_rollup walks the page tables (milliseconds for a few hundred MiB; 1 %
        # of a busy worker's CPU when read every second): every 10 s is enough.
        if now - self._read_at < _MEMORY_READ_SECONDS:
            return
        self._read_at = now
        memory = memory_of(os.getpid())
        if memory is not None:
            self._rss.set(memory.rss)
            self._pss.set(memory.pss)


@dataclass(frozen=True, slots=True)
class Memory:
    """One process's resident and proportional set sizes, in bytes."""

    rss: int
    pss: int


def memory_of(pid: int) -> Memory | None:
    """From /proc/PID/smaps_rollup (Linux); None where it cannot be read."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return None
    fields: dict[str, int] = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        if name in {"Rss", "Pss"}:
            fields[name] = int(rest.split()[0]) * 1024
    return Memory(fields.get("Rss", 0), fields.get("Pss", 0))


def _version() -> str:
    try:
        return metadata.version("router")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a bare checkout
        return "unknown"
