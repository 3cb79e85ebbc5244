"""Prometheus metrics (DESIGN 7): one registry per application, so several apps in one
process (tests, benchmarks) never clash."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from router.resolver import ResolverStats

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


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
        )
        self.callback_deliveries = Counter(
            "router_callback_deliveries_total",
            "Status callback attempts by verdict.",
            ["verdict"],
            registry=self.registry,
        )

    def watch_resolver(self, stats: ResolverStats) -> None:
        self.registry.register(_ResolverCollector(stats))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _ResolverCollector(Collector):
    def __init__(self, stats: ResolverStats) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        lookups = CounterMetricFamily(
            "router_resolver_cache_lookups",
            "Resolver cache lookups by cache and result.",
            labels=["cache", "result"],
        )
        lookups.add_metric(["answer", "hit"], self._stats.answer_hits)
        lookups.add_metric(["answer", "miss"], self._stats.answer_misses)
        lookups.add_metric(["spelling", "hit"], self._stats.spelling_hits)
        lookups.add_metric(["spelling", "miss"], self._stats.spelling_misses)
        yield lookups
