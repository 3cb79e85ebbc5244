"""Fault campaign (issue 12): several `router serve` instances on one PostgreSQL, under
call and status traffic, while instances are killed (SIGKILL) and restarted,
PostgreSQL is restarted, the tenant's receiver answers 503s, times out and goes down,
and malformed requests arrive. Then it checks what the gateway and the tenant saw:

- lost: a status answered 202 whose callback the receiver never took (2xx in time);
- reordered: a call's callbacks taken out of SequenceNumber order;
- sent early: callback n+1 sent before callback n was taken;
- gaps: a call's SequenceNumbers not 0..n-1 for its n accepted statuses, or not in the
  order the statuses were reported;
- duplicates: deliveries taken again (at-least-once allows them: counted, not failed);
- routed but unrecorded: a call answered `routed` that is not in the calls table;
- refused: a call not answered `routed`, or a status of a routed call not answered
  202 (the symptom of an unrecorded call: 404 "Call ... was not found");
- attempts missing: receiver hits of a delivery beyond its rows in the attempt log;
- 5xx: answers of 500 or more to the gateway or to the malformed requests, except the
  503 (with Retry-After) that SPEC 8 prescribes while PostgreSQL is down, for what
  router cannot answer from memory (e.g. a number an instance restarted during the
  outage has not resolved yet): those are counted apart, and retried by the gateway;
- tracebacks: log lines of the instances with a traceback caused by malformed input
  (aiohttp's parser errors); other tracebacks are counted apart, with examples.

The gateway pins each call to one instance (as Kamailio's dispatcher does, hashing the
Call-ID), retries a request that met a dead instance (on the next instance after
FAILOVER_SECONDS), and retries a 5xx; a killed instance is started again at once, as
systemd's Restart=always would. Everything runs on 127.0.0.1; every process started is
stopped by its PID.

    python -m benchmarks.chaos --short          # the CI size (tests/chaos/), ~90 s
    python -m benchmarks.chaos                  # the long campaign, ~12 min
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from benchmarks.fixtures import free_port, load_average, make_tenant, migrated
from router.store.embedded import EmbeddedPostgres
from router.store.postgres import Database

GATEWAY_TOKEN = "chaos-gateway-token-0123456789abcdef"
STATUSES = ("ringing", "in-progress", "completed")
RCML = "<Response><Dial>chaos</Dial></Response>"
NUMBERS = [f"77{n:02d}" for n in range(10)]
CALLBACK_TIMEOUT = 1.5
OUTAGE_GRACE = 5.0
# A dead instance is retried this long before the gateway fails over to the next one.
# A call spooled by an instance stays in its spool until that instance starts again
# (it cannot while PostgreSQL is down): a status failed over sooner would find no call.
FAILOVER_SECONDS = 15.0
RESTART_SECONDS = 0.5  # seconds after PostgreSQL is back during which a 503 is still expected


@dataclass(frozen=True)
class Plan:
    """How hard the campaign pushes, for how long."""

    traffic_seconds: float
    instances: int
    flows: int  # calls in progress at once
    kill_every: tuple[float, float]  # seconds between two kills
    postgres_restarts: int
    postgres_down: tuple[float, float]
    receiver_outages: int
    receiver_outage_seconds: float
    receiver_503: float  # share of deliveries answered 503
    receiver_slow: float  # share answered only after the callback timeout
    malformed: int
    converge_within: float
    seed: int = 12


SHORT = Plan(
    traffic_seconds=40,
    instances=3,
    flows=6,
    kill_every=(2.5, 3.5),
    postgres_restarts=2,
    postgres_down=(2.0, 4.0),
    receiver_outages=2,
    receiver_outage_seconds=3.0,
    receiver_503=0.15,
    receiver_slow=0.03,
    malformed=600,
    converge_within=45,
)
LONG = Plan(
    traffic_seconds=600,
    instances=3,
    flows=12,
    kill_every=(8.0, 15.0),
    postgres_restarts=3,
    postgres_down=(3.0, 10.0),
    receiver_outages=2,
    receiver_outage_seconds=10.0,
    receiver_503=0.15,
    receiver_slow=0.03,
    malformed=8000,
    converge_within=120,
)


@dataclass
class Findings:
    """What the campaign counted; every `Checks` field must be 0 to pass."""

    calls_routed: int = 0
    statuses_accepted: int = 0
    callbacks_taken: int = 0
    kills: int = 0
    postgres_restarts: int = 0
    receiver_outages: int = 0
    malformed_sent: int = 0
    gateway_retries: int = 0
    unavailable_during_outage: int = 0  # 503 + Retry-After while PostgreSQL was down
    duplicates: int = 0
    converged_seconds: float = -1.0
    lost: int = 0
    reordered: int = 0
    sent_early: int = 0
    gaps: int = 0
    routed_unrecorded: int = 0
    refused: int = 0
    attempts_missing: int = 0
    server_errors: int = 0
    tracebacks: int = 0  # from malformed input
    other_tracebacks: int = 0
    examples: dict[str, list[str]] = field(default_factory=dict)

    CHECKS = (
        "lost",
        "reordered",
        "sent_early",
        "gaps",
        "routed_unrecorded",
        "refused",
        "attempts_missing",
        "server_errors",
        "tracebacks",
    )

    def failed(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.CHECKS if getattr(self, name)}

    def note(self, check: str, example: str) -> None:
        setattr(self, check, getattr(self, check) + 1)
        self.example(check, example)

    def example(self, check: str, example: str) -> None:
        kept = self.examples.setdefault(check, [])
        if len(kept) < 5:
            kept.append(example)


# --- the tenant's receiver ----------------------------------------------------------------


@dataclass
class Hit:
    at: float
    call_sid: str
    sequence: int
    status: str
    delivery_id: str
    taken: bool  # answered 2xx within the callback timeout


class Receiver:
    """RCML at /rcml (always up); status callbacks at /status, answered 503, late, or
    not at all during an outage, as the plan says."""

    def __init__(self, plan: Plan, rng: random.Random) -> None:
        self.plan, self.rng = plan, rng
        self.hits: list[Hit] = []
        self.down_until = 0.0

    async def rcml(self, request: web.Request) -> web.Response:
        return web.Response(text=RCML, content_type="application/xml")

    async def status(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        at = time.monotonic()
        hit = Hit(
            at,
            str(form["CallSid"]),
            int(str(form["SequenceNumber"])),
            str(form["CallStatus"]),
            request.headers["I-Router-Delivery-Id"],
            taken=False,
        )
        self.hits.append(hit)
        if at < self.down_until:
            return web.Response(status=503, text="down")
        draw = self.rng.random()
        if draw < self.plan.receiver_503:
            return web.Response(status=503, text="busy")
        if draw < self.plan.receiver_503 + self.plan.receiver_slow:
            await asyncio.sleep(CALLBACK_TIMEOUT + 0.5)  # the dispatcher has given up on it
            return web.Response(text="late")
        hit.taken = True
        return web.Response(text="ok")


# --- processes ----------------------------------------------------------------------------


class Instance:
    """One `router serve` process (one worker) with its own data directory (own spool)."""

    def __init__(self, index: int, dsn: str, root: Path) -> None:
        self.index, self.dsn = index, dsn
        self.port = free_port()
        self.data_dir = root / f"instance-{index}"
        self.data_dir.mkdir()
        self.log_path = root / f"instance-{index}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("ROUTER_")},
            "ROUTER_DATABASE_URL": self.dsn,
            "ROUTER_HOST": "127.0.0.1",
            "ROUTER_PORT": str(self.port),
            "ROUTER_DATA_DIR": str(self.data_dir),
            "ROUTER_GATEWAY_TOKEN": GATEWAY_TOKEN,
            "ROUTER_LOG_FORMAT": "json",
            "ROUTER_SERVE_WORKERS": "1",
            "ROUTER_DATABASE_POOL_MIN": "1",
            "ROUTER_CACHE_TTL_SECONDS": "3600",
            "ROUTER_CALLBACKS_LEASE_SECONDS": "2",
            "ROUTER_CALLBACKS_TIMEOUT_SECONDS": str(CALLBACK_TIMEOUT),
            "ROUTER_CALLBACKS_POLL_INTERVAL_SECONDS": "0.2",
            "ROUTER_CALLBACKS_BASE_DELAY_SECONDS": "0.1",
            "ROUTER_CALLBACKS_MAX_DELAY_SECONDS": "1.0",
            "ROUTER_CALLBACKS_MAX_ATTEMPTS": "100",
            "ROUTER_SPOOL_REPLAY_INTERVAL_SECONDS": "0.5",
        }
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "router", "serve"],
                cwd=self.data_dir,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        """SIGKILL, by PID."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM (then SIGKILL), by PID."""
        if self.process is None or self.process.poll() is not None:
            return
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.kill()


async def wait_ready(session: aiohttp.ClientSession, instance: Instance) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(aiohttp.ClientError, OSError):
            async with session.get(f"{instance.url}/readyz") as response:
                if response.status == 200:
                    return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"instance {instance.index} not ready: {instance.log_path}")


@contextlib.contextmanager
def postgres_cluster() -> Iterator[EmbeddedPostgres]:
    root = Path(tempfile.mkdtemp(prefix="router-chaos-pg-", dir="/tmp"))
    root.chmod(0o755)
    cluster = EmbeddedPostgres(root, port=free_port())
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


# --- the gateway --------------------------------------------------------------------------


@dataclass
class Ledger:
    """What the gateway was told."""

    routed: set[str] = field(default_factory=set)
    # (call, status) -> monotonic time the accepted request was first sent
    accepted: dict[tuple[str, str], float] = field(default_factory=dict)
    reported: dict[str, list[str]] = field(default_factory=dict)


class Gateway:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        instances: Sequence[Instance],
        org_sid: str,
        findings: Findings,
    ) -> None:
        self.session, self.instances, self.org_sid = session, instances, org_sid
        self.findings = findings
        self.ledger = Ledger()
        # While PostgreSQL is down (and for a grace after it is back: pools reconnect),
        # a 503 with Retry-After is the answer SPEC 8 prescribes for what is not in memory.
        self.outage_until = 0.0
        self.in_outage = False

    def _prescribed_503(self, status: int, headers: Any) -> bool:
        during = self.in_outage or time.monotonic() < self.outage_until
        return status == 503 and "Retry-After" in headers and during

    def _pinned(self, call_sid: str) -> int:
        return zlib.crc32(call_sid.encode()) % len(self.instances)

    async def _post(self, call_sid: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        """POST to the call's instance until it answers below 500 (a dead instance is
        tried again, then the next one)."""
        index, began = self._pinned(call_sid), time.monotonic()
        for _ in range(400):
            instance = self.instances[index]
            try:
                async with self.session.post(
                    f"{instance.url}{path}",
                    json=body,
                    headers={"Authorization": f"Bearer {GATEWAY_TOKEN}"},
                    timeout=aiohttp.ClientTimeout(total=15),
                ) as response:
                    answer = await response.json(content_type=None)
                    if response.status < 500:
                        return response.status, answer
                    if self._prescribed_503(response.status, response.headers):
                        self.findings.unavailable_during_outage += 1
                    else:
                        self.findings.note("server_errors", f"{path} -> {response.status} {answer}")
            except (aiohttp.ClientError, OSError, TimeoutError):
                if time.monotonic() - began > FAILOVER_SECONDS:  # as a SIP proxy would
                    index, began = (index + 1) % len(self.instances), time.monotonic()
            self.findings.gateway_retries += 1
            await asyncio.sleep(0.2)
        raise RuntimeError(f"{path} never answered")

    async def call(self, rng: random.Random, call_sid: str) -> None:
        body = {
            "From": "+15550100",
            "To": rng.choice(NUMBERS),
            "CallSid": call_sid,
            "DestinationOrganizationSid": self.org_sid,
        }
        status, answer = await self._post(call_sid, "/v1/events/calls", body)
        if status != 200 or answer.get("outcome") != "routed":
            self.findings.note("refused", f"call {call_sid}: {status} {answer}")
            return
        self.ledger.routed.add(call_sid)
        self.findings.calls_routed += 1
        reported = self.ledger.reported.setdefault(call_sid, [])
        for call_status in STATUSES:
            await asyncio.sleep(rng.uniform(0.0, 0.3))
            sent = time.monotonic()
            status, answer = await self._post(
                call_sid, f"/v1/events/calls/{call_sid}/status", {"CallStatus": call_status}
            )
            if status != 202:
                self.findings.note("refused", f"status {call_sid}: {status} {answer}")
                return
            self.ledger.accepted.setdefault((call_sid, call_status), sent)
            reported.append(call_status)
            self.findings.statuses_accepted += 1


# --- malformed traffic --------------------------------------------------------------------

MALFORMED_HEADS = (
    b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"BREW /v1/events/calls HTCPCP/1.0\r\n\r\n",
    b"POST /v1/events/calls HTTP/1.1\r\nHost: x\r\nX-Bad\x01: y\r\n\r\n",
    b"GET /" + b"a" * 200_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /v1/events/calls HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    b"POST /v1/events/calls HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(64)),
)
MALFORMED_BODIES: tuple[Any, ...] = (
    b"{",
    b"\xff\xfe not utf-8",
    {"From": 5, "To": []},
    {"From": "+1", "To": "9" * 100_000},
    {"From": "+1", "To": "7700", "CallSid": "CA" + "z" * 32},
    {"CallStatus": {"nested": True}},
    [1, 2, 3],
)


async def one_malformed(rng: random.Random, instance: Instance, findings: Findings) -> None:
    findings.malformed_sent += 1
    if rng.random() < 0.5:
        head = rng.choice(MALFORMED_HEADS)
        with contextlib.suppress(OSError, TimeoutError, asyncio.IncompleteReadError):
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", instance.port), 5
            )
            try:
                writer.write(head)
                await writer.drain()
                line = await asyncio.wait_for(reader.readline(), 5)
                parts = line.split()
                if len(parts) > 1 and parts[1].isdigit() and int(parts[1]) >= 500:
                    findings.note("server_errors", f"malformed {head[:40]!r} -> {line!r}")
            finally:
                writer.close()
        return
    body = rng.choice(MALFORMED_BODIES)
    path = rng.choice(["/v1/events/calls", f"/v1/events/calls/CA{'1' * 32}/status"])
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{instance.url}{path}",
                data=data,
                headers={
                    "Authorization": f"Bearer {GATEWAY_TOKEN}",
                    "Content-Type": "application/json",
                },
                timeout=aiohttp.ClientTimeout(total=10),
            ) as response,
        ):
            await response.read()
            if response.status >= 500:
                findings.note("server_errors", f"malformed body {data[:40]!r} -> {response.status}")


# --- the campaign -------------------------------------------------------------------------


async def campaign(plan: Plan, root: Path, cluster: EmbeddedPostgres) -> Findings:
    rng = random.Random(plan.seed)
    findings = Findings()
    dsn = cluster.dsn
    async with migrated(dsn) as db:
        tenant = await make_tenant(db, "chaos.test")
    receiver = Receiver(plan, random.Random(plan.seed + 1))
    app = web.Application()
    app.router.add_post("/rcml", receiver.rcml)
    app.router.add_post("/status", receiver.status)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    receiver_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    instances = [Instance(i, dsn, root) for i in range(plan.instances)]
    try:
        async with aiohttp.ClientSession() as session:
            for instance in instances:
                instance.start()
            for instance in instances:
                await wait_ready(session, instance)
            await provision(session, instances[0], tenant, receiver_url)
            gateway = Gateway(session, instances, tenant.organization_sid, findings)
            await run_faults_and_traffic(plan, rng, gateway, instances, cluster, receiver, findings)
            began = time.monotonic()
            await converge(plan, gateway, receiver)
            findings.converged_seconds = round(time.monotonic() - began, 1)
        await check(gateway.ledger, receiver, dsn, findings)
    finally:
        for instance in instances:
            instance.stop()
        await runner.cleanup()
    for instance in instances:
        count_tracebacks(instance.log_path, findings)
    return findings


async def provision(
    session: aiohttp.ClientSession, instance: Instance, tenant: Any, receiver_url: str
) -> None:
    raw = f"{tenant.account_sid}:{tenant.token}".encode()
    auth = {"Authorization": "Basic " + base64.b64encode(raw).decode()}
    for phone in NUMBERS:
        async with session.post(
            f"{instance.url}/2012-04-24/Accounts/{tenant.account_sid}/IncomingPhoneNumbers.json",
            data={
                "PhoneNumber": phone,
                "isSIP": "true",
                "VoiceUrl": f"{receiver_url}/rcml",
                "StatusCallback": f"{receiver_url}/status",
            },
            headers=auth,
        ) as response:
            if response.status != 200:
                raise RuntimeError(f"provisioning {phone}: {await response.text()}")
    await asyncio.sleep(1.0)  # the numbers_changed notices reach every instance


async def run_faults_and_traffic(
    plan: Plan,
    rng: random.Random,
    gateway: Gateway,
    instances: Sequence[Instance],
    cluster: EmbeddedPostgres,
    receiver: Receiver,
    findings: Findings,
) -> None:
    stop = asyncio.Event()
    counter = iter(range(10**9))

    async def flow() -> None:
        flow_rng = random.Random(rng.random())
        while not stop.is_set():
            await gateway.call(flow_rng, f"CA{next(counter):032x}")

    # Warm-up: each instance routes every number once with the database up.
    for instance_index in range(len(instances)):
        for phone in NUMBERS:
            sid = _pinned_sid(gateway, instance_index, phone)
            await gateway.call(random.Random(0), sid)

    async def kills() -> None:
        while not stop.is_set():
            await asyncio.sleep(rng.uniform(*plan.kill_every))
            if stop.is_set():
                return
            victim = rng.choice(instances)
            await asyncio.to_thread(victim.kill)
            findings.kills += 1

    async def restarts() -> None:
        # As systemd's Restart=always would (an instance cannot start while PostgreSQL
        # is down: it exits, and is started again).
        while not stop.is_set():
            for instance in instances:
                if instance.process is not None and instance.process.poll() is not None:
                    instance.start()
            await asyncio.sleep(RESTART_SECONDS)

    async def postgres_restarts() -> None:
        gap = plan.traffic_seconds / (plan.postgres_restarts + 1)
        for _ in range(plan.postgres_restarts):
            await asyncio.sleep(gap * rng.uniform(0.7, 1.0))
            gateway.in_outage = True
            await asyncio.to_thread(cluster.stop)
            await asyncio.sleep(rng.uniform(*plan.postgres_down))
            await asyncio.to_thread(cluster.start)
            gateway.in_outage, gateway.outage_until = False, time.monotonic() + OUTAGE_GRACE
            findings.postgres_restarts += 1

    async def receiver_outages() -> None:
        gap = plan.traffic_seconds / (plan.receiver_outages + 1)
        for _ in range(plan.receiver_outages):
            await asyncio.sleep(gap * rng.uniform(0.8, 1.2))
            receiver.down_until = time.monotonic() + plan.receiver_outage_seconds
            findings.receiver_outages += 1

    async def malformed() -> None:
        # Spread over the last third of the traffic window.
        await asyncio.sleep(plan.traffic_seconds * 2 / 3)
        pace = plan.traffic_seconds / 3 / max(plan.malformed, 1)
        for _ in range(plan.malformed):
            await one_malformed(rng, rng.choice(instances), findings)
            await asyncio.sleep(pace)

    flows = [asyncio.create_task(flow()) for _ in range(plan.flows)]
    faults = [
        asyncio.create_task(task())
        for task in (kills, restarts, postgres_restarts, receiver_outages, malformed)
    ]
    await asyncio.sleep(plan.traffic_seconds)
    stop.set()
    await asyncio.gather(*flows, *faults)
    # Every instance up again before convergence is measured.
    for instance in instances:
        if instance.process is None or instance.process.poll() is not None:
            instance.start()
    if not cluster.is_running():
        await asyncio.to_thread(cluster.start)


def _pinned_sid(gateway: Gateway, instance_index: int, phone: str) -> str:
    for n in range(10**6):
        sid = f"CA{zlib.crc32(phone.encode()):08x}{n:024x}"
        if gateway._pinned(sid) == instance_index:
            return sid
    raise AssertionError("no sid pins there")


async def converge(plan: Plan, gateway: Gateway, receiver: Receiver) -> None:
    """Until every accepted status's callback was taken (or the plan's bound)."""
    deadline = time.monotonic() + plan.converge_within
    while time.monotonic() < deadline:
        taken = {(h.call_sid, h.status) for h in receiver.hits if h.taken}
        if all(key in taken for key in gateway.ledger.accepted):
            return
        await asyncio.sleep(0.5)


async def check(ledger: Ledger, receiver: Receiver, dsn: str, findings: Findings) -> None:
    first_taken: dict[tuple[str, int], Hit] = {}
    taken_per_delivery: Counter[str] = Counter()
    hits_per_delivery: Counter[str] = Counter()
    for hit in receiver.hits:
        hits_per_delivery[hit.delivery_id] += 1
        if hit.taken:
            taken_per_delivery[hit.delivery_id] += 1
            first_taken.setdefault((hit.call_sid, hit.sequence), hit)
    findings.callbacks_taken = len(first_taken)
    findings.duplicates = sum(n - 1 for n in taken_per_delivery.values())
    taken_statuses = {(h.call_sid, h.status): h for h in first_taken.values()}
    for (call_sid, status), sent in ledger.accepted.items():
        taken = taken_statuses.get((call_sid, status))
        if taken is None:
            findings.note("lost", f"{call_sid} {status}")
        elif taken.at < sent:
            findings.note("sent_early", f"{call_sid} {status} taken before it was reported")
    by_call: dict[str, list[Hit]] = defaultdict(list)
    for hit in first_taken.values():
        by_call[hit.call_sid].append(hit)
    for call_sid, reported in ledger.reported.items():
        hits = sorted(by_call.get(call_sid, []), key=lambda h: h.at)
        if [h.sequence for h in hits] != sorted(h.sequence for h in hits):
            findings.note("reordered", f"{call_sid} {[h.sequence for h in hits]}")
        by_sequence = sorted(hits, key=lambda h: h.sequence)
        if [h.sequence for h in by_sequence] != list(range(len(by_sequence))) or [
            h.status for h in by_sequence
        ] != reported[: len(by_sequence)]:
            findings.note("gaps", f"{call_sid} {[(h.sequence, h.status) for h in by_sequence]}")
    # Callback n+1 sent (any hit) before callback n was taken.
    for hit in receiver.hits:
        previous = first_taken.get((hit.call_sid, hit.sequence - 1))
        if hit.sequence > 0 and (previous is None or previous.at > hit.at):
            findings.note("sent_early", f"{hit.call_sid} #{hit.sequence} before its predecessor")
    db = await Database.connect(dsn, min_size=1, max_size=1)
    try:
        async with db.connection() as conn:
            recorded = {r["sid"] for r in await conn.fetch("SELECT sid FROM calls")}
            logged = {
                r["delivery_id"]: r["n"]
                for r in await conn.fetch(
                    "SELECT c.delivery_id, count(a.id) AS n FROM callbacks c"
                    " LEFT JOIN callback_attempts a ON a.callback_id = c.id GROUP BY c.delivery_id"
                )
            }
    finally:
        await db.close()
    for call_sid in sorted(ledger.routed - recorded):
        findings.note("routed_unrecorded", call_sid)
    for delivery_id, sent_count in hits_per_delivery.items():
        if sent_count > logged.get(delivery_id, 0):
            findings.note(
                "attempts_missing",
                f"{delivery_id}: {sent_count} hits, {logged.get(delivery_id, 0)} logged",
            )


MALFORMED_SIGNS = (
    "Error handling request",
    "http_exceptions",
    "BadStatusLine",
    "BadHttpMessage",
    "LineTooLong",
    "InvalidHeader",
    "TransferEncodingError",
)


def count_tracebacks(log_path: Path, findings: Findings) -> None:
    """Lines carrying an exception (a rendered traceback, or exc_info / exception
    fields of a JSON line), split by whether malformed input caused them."""
    with log_path.open(errors="replace") as log:
        for line in log:
            if not _carries_exception(line):
                continue
            if any(sign in line for sign in MALFORMED_SIGNS):
                findings.note("tracebacks", line[:400])
            else:
                findings.other_tracebacks += 1
                findings.example("other_tracebacks", line[:400])


def _carries_exception(line: str) -> bool:
    if "Traceback (most recent call last)" in line:
        return True
    try:
        entry = json.loads(line)
    except ValueError:
        return False
    return isinstance(entry, dict) and bool(entry.get("exc_info") or entry.get("exception"))


def run(plan: Plan, keep_logs: Path | None = None) -> Findings:
    root = Path(tempfile.mkdtemp(prefix="router-chaos-", dir="/tmp"))
    root.chmod(0o755)
    try:
        with postgres_cluster() as cluster:
            return asyncio.run(campaign(plan, root, cluster))
    finally:
        if keep_logs is not None:
            keep_logs.mkdir(parents=True, exist_ok=True)
            for log in root.glob("*.log"):
                shutil.copy(log, keep_logs / log.name)
        shutil.rmtree(root, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="the CI size (about 90 s)")
    parser.add_argument("--seconds", type=float, help="traffic time instead of the plan's")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--json", type=Path, help="write the findings here")
    parser.add_argument("--keep-logs", type=Path, help="copy the instances' logs here")
    args = parser.parse_args(argv)
    plan = SHORT if args.short else LONG
    if args.seconds:
        plan = Plan(**{**asdict(plan), "traffic_seconds": args.seconds})
    if args.seed is not None:
        plan = Plan(**{**asdict(plan), "seed": args.seed})
    began = time.monotonic()
    findings = run(plan, args.keep_logs)
    report = {
        "plan": asdict(plan),
        "findings": {k: v for k, v in asdict(findings).items() if k != "examples"},
        "examples": dict(findings.examples),
        "failed": findings.failed(),
        "seconds": round(time.monotonic() - began, 1),
        "load_average": load_average(),
    }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 1 if findings.failed() else 0


if __name__ == "__main__":
    sys.exit(main())
