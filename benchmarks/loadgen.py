"""Load generator for a running router: call and message events at a set concurrency or rate.

For operators (aim it at your own deployment) and for the ingress benchmark:

    python -m benchmarks.loadgen --url http://127.0.0.1:8080 --token GATEWAY_TOKEN \\
        --destination-org ORxxx --concurrency 64 --duration 30 \\
        --mix exact=70,pattern=20,miss=5,sms=5 \\
        --numbers +12000000000..+12000699993/7 --pattern-numbers patterns.txt --no-fetch

Each request is a call event (POST /v1/events/calls) or, for the `sms` share, a message
event (POST /v1/events/messages), to a number drawn from the list of its kind:

- `exact` and `sms`: --numbers (provisioned numbers, reached by the exact stage);
- `pattern`: --pattern-numbers (dialed strings that only a pattern number catches);
- `miss`: --miss-numbers (strings nothing catches; default a range of +1999555 numbers).

A list is a file (one number a line) or a range `FIRST..LAST[/STEP]`.

Closed loop (`--concurrency N`): N workers, each sending its next request when the last
one is answered; latency is the request's own time. Open loop (`--rate R`): requests
are scheduled every 1/R s whatever happens to earlier ones, and latency is measured from
the *scheduled* send time, so a stalled server is charged for the requests it delayed
(no coordinated omission); they share --connections keep-alive connections (a request
waits for a free one, and that wait counts), at most --max-in-flight outstanding.

One aiohttp ClientSession with keep-alive and a connection limit sized to the
concurrency. A progress line each second on stderr; a summary at the end (and JSON with
--json). Bounded: stops after --duration seconds (after --warmup) or --max-requests
requests, whichever comes first. Only loopback URLs unless --allow-remote.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import math
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from yarl import URL

KINDS = ("exact", "pattern", "miss", "sms")
DEFAULT_MIX = "exact=70,pattern=20,miss=5,sms=5"
DEFAULT_MISS_RANGE = "+19995550000..+19995559999"
DEFAULT_FROM = "+15005550006"
HARD_MAX_REQUESTS = 10_000_000
HARD_MAX_DURATION = 3600.0
_OUTCOME = re.compile(rb'"outcome"\s*:\s*"([a-z_]+)"')
_RANGE = re.compile(r"^(\+?)(\d+)\.\.(\+?)(\d+)(?:/(\d+))?$")


# --- number lists -------------------------------------------------------------------


class NumberList:
    """Numbers to draw from: a stepped range or an explicit list."""

    def __init__(
        self,
        *,
        items: Sequence[str] = (),
        first: int = 0,
        count: int = 0,
        step: int = 1,
        prefix: str = "",
        width: int = 0,
    ) -> None:
        self._items = list(items)
        self._first, self._count, self._step = first, count, step
        self._prefix, self._width = prefix, width

    def __len__(self) -> int:
        return len(self._items) if self._items else self._count

    def pick(self, rng: random.Random) -> str:
        if self._items:
            return self._items[rng.randrange(len(self._items))]
        value = self._first + rng.randrange(self._count) * self._step
        return f"{self._prefix}{value:0{self._width}d}"


def parse_numbers(spec: str) -> NumberList:
    """A file of numbers (one a line, # comments) or a range FIRST..LAST[/STEP]."""
    match = _RANGE.match(spec.strip())
    if match and not Path(spec).is_file():
        plus, first_text, _, last_text, step_text = match.groups()
        first, last, step = int(first_text), int(last_text), int(step_text or 1)
        if last < first or step < 1:
            raise ValueError(f"empty range {spec!r}")
        return NumberList(
            first=first,
            count=(last - first) // step + 1,
            step=step,
            prefix=plus,
            width=len(first_text),
        )
    path = Path(spec)
    if not path.is_file():
        raise ValueError(f"{spec!r} is neither a file nor a range FIRST..LAST[/STEP]")
    lines = path.read_text(encoding="utf-8").splitlines()
    items = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    if not items:
        raise ValueError(f"{spec} holds no numbers")
    return NumberList(items=items)


def parse_mix(text: str) -> dict[str, float]:
    """`exact=70,pattern=20,miss=5,sms=5` -> shares by kind (any positive weights)."""
    mix: dict[str, float] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        name, _, weight = part.partition("=")
        name = name.strip()
        if name not in KINDS:
            raise ValueError(f"unknown kind {name!r} in --mix (kinds: {', '.join(KINDS)})")
        mix[name] = float(weight)
        if mix[name] < 0:
            raise ValueError(f"negative weight for {name} in --mix")
    if sum(mix.values()) <= 0:
        raise ValueError("--mix has no positive weight")
    return {k: v for k, v in mix.items() if v > 0}


# --- statistics -----------------------------------------------------------------------

_BUCKET_RATIO = 1.01  # latency histogram: buckets 1 % wide, from 1 microsecond up
_LOG_RATIO = math.log(_BUCKET_RATIO)
_BUCKETS = int(math.log(1e9) / _LOG_RATIO) + 2  # up to 1,000 s


class Histogram:
    """Latencies in log buckets (1 % resolution): constant cost, any percentile."""

    def __init__(self) -> None:
        self.counts = [0] * _BUCKETS
        self.total = 0
        self.max = 0.0
        self.sum = 0.0

    def record(self, seconds: float) -> None:
        micros = seconds * 1e6
        index = int(math.log(micros) / _LOG_RATIO) + 1 if micros >= 1 else 0
        self.counts[min(index, _BUCKETS - 1)] += 1
        self.total += 1
        self.sum += seconds
        self.max = max(self.max, seconds)

    def percentile(self, fraction: float) -> float:
        """The latency (seconds) below which `fraction` of samples fall; 0 when empty."""
        if not self.total:
            return 0.0
        rank = max(1, math.ceil(fraction * self.total))
        seen = 0
        for index, count in enumerate(self.counts):
            seen += count
            if seen >= rank:
                # The bucket's geometric middle, never above the largest sample.
                middle = _BUCKET_RATIO ** (index - 0.5) / 1e6 if index else 0.5e-6
                return min(middle, self.max)
        return self.max


@dataclass
class Stats:
    """What one phase (warm-up or measurement) saw."""

    started: float
    histogram: Histogram = field(default_factory=Histogram)
    requests: int = 0
    errors: int = 0
    last_done: float = 0.0
    statuses: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    error_kinds: Counter[str] = field(default_factory=Counter)


# --- the run --------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    url: str
    token: str
    destination_org: str | None = None
    domain: str | None = None
    concurrency: int | None = 64
    rate: float | None = None
    duration: float = 30.0
    warmup: float = 0.0
    max_requests: int = 1_000_000
    max_in_flight: int = 1000
    connections: int = 64
    mix: dict[str, float] = field(default_factory=lambda: parse_mix(DEFAULT_MIX))
    numbers: NumberList | None = None
    pattern_numbers: NumberList | None = None
    miss_numbers: NumberList = field(default_factory=lambda: parse_numbers(DEFAULT_MISS_RANGE))
    fetch: bool = True
    timeout: float = 10.0
    progress: bool = True
    seed: int = 1


class LoadGenerator:
    """Sends the events of one run and keeps its statistics."""

    def __init__(self, options: Options) -> None:
        self.o = options
        self.rng = random.Random(options.seed)  # the numbers dialed: reproducible
        self.sids = random.Random()  # CallSid/SmsSid: new in every run, never repeats
        base = URL(options.url.rstrip("/"))
        query = {} if options.fetch else {"fetch": "false"}
        self.urls = {
            "call": str((base / "v1/events/calls").with_query(query)),
            "sms": str((base / "v1/events/messages").with_query(query)),
        }
        self.headers = {
            "Authorization": f"Bearer {options.token}",
            "Content-Type": "application/json",
        }
        self.org: dict[str, str] = {}
        if options.destination_org:
            self.org["DestinationOrganizationSid"] = options.destination_org
        if options.domain:
            self.org["Domain"] = options.domain
        self.kinds = list(options.mix)
        self.weights = [options.mix[k] for k in self.kinds]
        self.lists = {
            "exact": options.numbers,
            "sms": options.numbers,
            "pattern": options.pattern_numbers,
            "miss": options.miss_numbers,
        }
        self.issued = 0
        self.stats = Stats(started=0.0)
        self.measuring = False
        self.loop = asyncio.get_running_loop()
        # Not loop.time(): uvloop's clock ticks in whole milliseconds.
        self.clock = time.perf_counter

    def _request(self) -> tuple[str, str, bytes]:
        kind = self.rng.choices(self.kinds, self.weights)[0]
        numbers = self.lists[kind]
        assert numbers is not None
        sid = f"{self.sids.getrandbits(128):032x}"
        to = numbers.pick(self.rng)
        if kind == "sms":
            body = {"SmsSid": "SM" + sid, "From": DEFAULT_FROM, "To": to, "Body": "hello"}
            return kind, self.urls["sms"], orjson.dumps(body | self.org)
        body = {"CallSid": "CA" + sid, "From": DEFAULT_FROM, "To": to}
        return kind, self.urls["call"], orjson.dumps(body | self.org)

    async def _one(self, session: aiohttp.ClientSession, since: float) -> None:
        """Send one event; its latency counts from `since` (now, or its scheduled time)."""
        kind, url, body = self._request()
        stats = self.stats
        status = outcome = None
        try:
            async with session.post(url, data=body, headers=self.headers) as response:
                status = response.status
                found = _OUTCOME.search(await response.read())
                outcome = found.group(1).decode() if found else None
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            stats.error_kinds[type(error).__name__] += 1
        done = self.clock()
        stats = self.stats  # a request straddling the warm-up's end counts in the measurement
        stats.requests += 1
        stats.kinds[kind] += 1
        stats.last_done = done
        if status is not None:
            stats.histogram.record(done - since)
            stats.statuses[str(status)] += 1
        if outcome is None:
            stats.errors += 1  # no decision: transport failure or an error document
        else:
            stats.outcomes[outcome] += 1

    def _may_issue(self, deadline: float) -> bool:
        if self.issued >= self.o.max_requests or self.clock() >= deadline:
            return False
        self.issued += 1
        return True

    async def _closed_loop(self, session: aiohttp.ClientSession, deadline: float) -> None:
        async def worker() -> None:
            while self._may_issue(deadline):
                await self._one(session, self.clock())

        assert self.o.concurrency is not None
        await asyncio.gather(*(worker() for _ in range(self.o.concurrency)))

    async def _open_loop(self, session: aiohttp.ClientSession, deadline: float) -> float:
        """Schedule requests every 1/rate s; return how late the last send was (s)."""
        assert self.o.rate is not None
        interval = 1.0 / self.o.rate
        slots = asyncio.Semaphore(self.o.max_in_flight)
        tasks: set[asyncio.Task[None]] = set()
        start = self.clock()
        sent = 0
        lag = 0.0

        def finished(task: asyncio.Task[None]) -> None:
            tasks.discard(task)
            slots.release()

        while True:
            now = self.clock()
            # Every request due by now goes out; the next one is waited for.
            while (scheduled := start + sent * interval) <= now:
                if scheduled >= deadline or not self._may_issue(math.inf):
                    await asyncio.gather(*tasks)
                    return lag
                await slots.acquire()
                lag = max(lag, self.clock() - scheduled)
                task = asyncio.create_task(self._one(session, scheduled))
                tasks.add(task)
                task.add_done_callback(finished)
                sent += 1
            # Timers fire at millisecond granularity (and sub-millisecond sleeps would
            # spin under uvloop): sleep at least 1 ms and send what fell due meanwhile.
            # The lateness counts in the latencies, equally for every server measured.
            await asyncio.sleep(max(0.001, start + sent * interval - self.clock()))

    async def _progress(self) -> None:
        last_requests, last_time = 0, self.clock()
        while True:
            await asyncio.sleep(1.0)
            stats, now = self.stats, self.clock()
            if stats.requests < last_requests:  # the measurement just started
                last_requests = 0
            rps = (stats.requests - last_requests) / (now - last_time)
            last_requests, last_time = stats.requests, now
            phase = "measure" if self.measuring else "warmup "
            h = stats.histogram
            print(
                f"[{phase} {now - stats.started:5.1f}s] requests {stats.requests:>9,}"
                f"  rps {rps:>8,.0f}  errors {stats.errors:>6,}"
                f"  p50 {h.percentile(0.5) * 1e3:7.2f} ms  p99 {h.percentile(0.99) * 1e3:7.2f} ms",
                file=sys.stderr,
                flush=True,
            )

    async def run(self) -> dict[str, Any]:
        o = self.o
        limit = o.concurrency if o.rate is None else o.connections
        connector = aiohttp.TCPConnector(limit=limit, limit_per_host=0, keepalive_timeout=60)
        timeout = aiohttp.ClientTimeout(total=o.timeout)
        reporter = asyncio.create_task(self._progress()) if o.progress else None
        lag = 0.0
        try:
            async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
                if o.warmup > 0:
                    self.stats = Stats(started=self.clock())
                    await self._phase(session, self.clock() + o.warmup)
                self.issued = 0
                self.measuring = True
                self.stats = Stats(started=self.clock())
                cpu = time.process_time()
                lag = await self._phase(session, self.stats.started + o.duration)
                cpu = time.process_time() - cpu
        finally:
            if reporter is not None:
                reporter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reporter
        return self._summary(cpu, lag)

    async def _phase(self, session: aiohttp.ClientSession, deadline: float) -> float:
        if self.o.rate is None:
            await self._closed_loop(session, deadline)
            return 0.0
        return await self._open_loop(session, deadline)

    def _summary(self, cpu: float, lag: float) -> dict[str, Any]:
        s, o = self.stats, self.o
        elapsed = max(s.last_done - s.started, 1e-9) if s.requests else 0.0
        h = s.histogram
        return {
            "url": o.url,
            "mode": "closed" if o.rate is None else "open",
            "concurrency": o.concurrency if o.rate is None else None,
            "target_rate": o.rate,
            "fetch": o.fetch,
            "mix": o.mix,
            "elapsed_s": round(elapsed, 3),
            "requests": s.requests,
            "errors": s.errors,
            "throughput_rps": round(s.requests / elapsed, 1) if elapsed else 0.0,
            "latency_ms": {
                "p50": round(h.percentile(0.50) * 1e3, 3),
                "p90": round(h.percentile(0.90) * 1e3, 3),
                "p99": round(h.percentile(0.99) * 1e3, 3),
                "max": round(h.max * 1e3, 3),
                "mean": round(h.sum / h.total * 1e3, 3) if h.total else 0.0,
            },
            "status_counts": dict(sorted(s.statuses.items())),
            "outcome_counts": dict(sorted(s.outcomes.items())),
            "kind_counts": dict(sorted(s.kinds.items())),
            "error_kinds": dict(s.error_kinds),
            "send_lag_s": round(lag, 4),
            "loadgen_cpu_percent": round(100 * cpu / elapsed, 1) if elapsed else 0.0,
            "loadgen_loop": type(self.loop).__module__.split(".")[0],
        }


def render(summary: dict[str, Any]) -> str:
    """The final summary as text."""
    lat = summary["latency_ms"]
    mode = (
        f"closed loop, concurrency {summary['concurrency']}"
        if summary["mode"] == "closed"
        else f"open loop, {summary['target_rate']:,.0f}/s scheduled"
    )
    lines = [
        f"loadgen: {summary['url']} ({mode}, fetch={'on' if summary['fetch'] else 'off'})",
        f"  requests    {summary['requests']:,} in {summary['elapsed_s']:.2f} s"
        f"  ->  {summary['throughput_rps']:,.0f} req/s   errors {summary['errors']:,}",
        f"  latency ms  p50 {lat['p50']:.2f}  p90 {lat['p90']:.2f}  p99 {lat['p99']:.2f}"
        f"  max {lat['max']:.2f}  mean {lat['mean']:.2f}",
        f"  statuses    {_counts(summary['status_counts'])}",
        f"  outcomes    {_counts(summary['outcome_counts'])}",
        f"  kinds       {_counts(summary['kind_counts'])}",
        f"  loadgen CPU {summary['loadgen_cpu_percent']:.0f} % of one core",
    ]
    if summary["error_kinds"]:
        lines.append(f"  failures    {_counts(summary['error_kinds'])}")
    if summary["mode"] == "open":
        lines.append(f"  send lag    {summary['send_lag_s'] * 1e3:.1f} ms behind schedule at most")
    return "\n".join(lines)


def _counts(counts: dict[str, int]) -> str:
    return "  ".join(f"{k}={v:,}" for k, v in counts.items()) or "-"


# --- command line ---------------------------------------------------------------------


def is_loopback_url(url: str) -> bool:
    host = URL(url).host or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.loadgen",
        description="Send call and message events to a running router and report throughput"
        " and latency.",
    )
    p.add_argument("--url", required=True, help="the router's base URL")
    p.add_argument("--token", required=True, help="the gateway token (Bearer)")
    org = p.add_mutually_exclusive_group()
    org.add_argument("--destination-org", help="DestinationOrganizationSid of every event")
    org.add_argument("--domain", help="Domain (the destination organization's SIP domain)")
    load = p.add_mutually_exclusive_group()
    load.add_argument("--concurrency", type=int, help="closed loop: requests in flight (64)")
    load.add_argument("--rate", type=float, help="open loop: requests per second scheduled")
    p.add_argument("--duration", type=float, default=30.0, help="measured seconds (30)")
    p.add_argument("--warmup", type=float, default=0.0, help="unmeasured seconds first (0)")
    p.add_argument("--max-requests", type=int, default=1_000_000, help="hard cap (1,000,000)")
    p.add_argument(
        "--max-in-flight", type=int, default=1000, help="open loop: outstanding cap (1000)"
    )
    p.add_argument(
        "--connections", type=int, default=64, help="open loop: keep-alive connections (64)"
    )
    p.add_argument("--mix", default=DEFAULT_MIX, help=f"shares by kind ({DEFAULT_MIX})")
    p.add_argument("--numbers", help="provisioned numbers: FILE or FIRST..LAST[/STEP]")
    p.add_argument("--pattern-numbers", help="strings only patterns catch: FILE or range")
    p.add_argument("--miss-numbers", default=DEFAULT_MISS_RANGE, help="strings nothing catches")
    p.add_argument(
        "--fetch",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="let the router fetch RCML (--no-fetch sends ?fetch=false)",
    )
    p.add_argument("--timeout", type=float, default=10.0, help="per-request timeout, s (10)")
    p.add_argument("--seed", type=int, default=1, help="seeds the numbers drawn (1)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.add_argument("--json", type=Path, help="also write the summary as JSON here")
    p.add_argument("--allow-remote", action="store_true", help="allow a URL that is not loopback")
    return p


def options_from(args: argparse.Namespace) -> Options:
    """Validated options; raises ValueError with a message for the user."""
    if not args.allow_remote and not is_loopback_url(args.url):
        raise ValueError(
            f"{args.url} is not a loopback address; pass --allow-remote to load a remote"
            " deployment (only your own)."
        )
    mix = parse_mix(args.mix)
    numbers = parse_numbers(args.numbers) if args.numbers else None
    patterns = parse_numbers(args.pattern_numbers) if args.pattern_numbers else None
    if numbers is None and ({"exact", "sms"} & set(mix)):
        raise ValueError("--numbers is needed for the exact and sms shares of --mix")
    if patterns is None and "pattern" in mix:
        raise ValueError("--pattern-numbers is needed for the pattern share of --mix")
    if "pattern" in mix and not (args.destination_org or args.domain):
        raise ValueError("the pattern stage needs --destination-org or --domain")
    if args.rate is not None and args.rate <= 0:
        raise ValueError("--rate must be positive")
    concurrency = args.concurrency if args.rate is None else None
    if args.rate is None and concurrency is None:
        concurrency = 64
    if concurrency is not None and not 1 <= concurrency <= 10_000:
        raise ValueError("--concurrency must be between 1 and 10000")
    if not 0 < args.duration <= HARD_MAX_DURATION or not 0 <= args.warmup <= HARD_MAX_DURATION:
        raise ValueError(f"--duration and --warmup must be at most {HARD_MAX_DURATION:.0f} s")
    if not 1 <= args.max_requests <= HARD_MAX_REQUESTS:
        raise ValueError(f"--max-requests must be between 1 and {HARD_MAX_REQUESTS:,}")
    return Options(
        url=args.url,
        token=args.token,
        destination_org=args.destination_org,
        domain=args.domain,
        concurrency=concurrency,
        rate=args.rate,
        duration=args.duration,
        warmup=args.warmup,
        max_requests=args.max_requests,
        max_in_flight=max(1, args.max_in_flight),
        connections=max(1, args.connections),
        mix=mix,
        numbers=numbers,
        pattern_numbers=patterns,
        miss_numbers=parse_numbers(args.miss_numbers),
        fetch=args.fetch,
        timeout=args.timeout,
        progress=not args.quiet,
        seed=args.seed,
    )


async def generate(options: Options) -> dict[str, Any]:
    """Run the load described by `options`; return the summary."""
    return await LoadGenerator(options).run()


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop when installed: the load generator should cost as little CPU as it can."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        options = options_from(args)
    except ValueError as error:
        print(f"loadgen: {error}", file=sys.stderr)
        return 2
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        summary = runner.run(generate(options))
    print(render(summary), flush=True)
    if args.json:
        args.json.write_text(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
