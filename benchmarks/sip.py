"""Calls per second through the whole SIP path: SIPp -> Kamailio -> router -> SIPp.

    python -m benchmarks.sip            # 50, 100, 200, 400, 800 calls/s, 6 s each (~2 min)
    python -m benchmarks.sip --quick    # 50, 200, 800 calls/s, 3 s each
    python -m benchmarks.sip --tiny     # smoke size
    python -m benchmarks.sip --rates 100,300 --seconds 5

Every party is its own process on 127.0.0.1: PostgreSQL (a private cluster, fsync on),
`python -m router serve`, Kamailio running examples/kamailio/kamailio.cfg, SIPp
answering as the application server (examples/kamailio/sipp/answerer.xml) and SIPp
calling (caller.xml: INVITE, 180, 200, ACK, BYE at once). At each offered rate two runs
use the same caller and answerer: Kamailio asking router (`?fetch=false`; per call one
routing request and three status reports, ringing, in-progress, completed, each a
database write; the number has no StatusCallback, so nothing is delivered) and, as the
same-run baseline, Kamailio alone (the script with WITHOUT_ROUTER: it relays every call
straight to the answerer).

Reported per rate and run: completed calls/s (successful calls over the caller's wall
time), failed calls, and the mean INVITE-to-200 time SIPp measured (ms resolution).
SIPp, Kamailio, router and PostgreSQL share the machine's cores (and, on a shared
machine, other work): compare the two runs of one rate, not figures across machines.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import csv
import json
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from benchmarks.fixtures import (
    Row,
    Tenant,
    database_url,
    free_port,
    load_average,
    make_tenant,
    migrated,
    print_table,
    router_process,
    write_json,
)
from benchmarks.gateways import (
    ANSWERER,
    CALLER,
    free_udp_port,
    kamailio,
    sipp,
    sipp_command,
)
from router.store.postgres import Database

TOKEN = "bench-gateway-token"
NUMBER = "5000"
SIZES = {
    "full": ((50, 100, 200, 400, 800), 6.0),
    "quick": ((50, 200, 800), 3.0),
    "tiny": ((20,), 1.0),
}


@dataclass(frozen=True)
class Result:
    path: str  # "router" or "kamailio alone"
    rate: int
    offered: int
    successful: int
    failed: int
    seconds: float
    response_ms: float
    recorded: tuple[int, int] = (0, 0)  # calls and status reports router stored in this run
    drain_seconds: float = 0.0  # after the last call, until router had every status report

    @property
    def calls_per_second(self) -> float:
        return self.successful / self.seconds if self.seconds else 0.0


def provision(port: int, tenant: Tenant) -> None:
    """The called SIP number, through the REST API as a tenant would."""
    url = (
        f"http://127.0.0.1:{port}/2012-04-24/Accounts/{tenant.account_sid}/"
        "IncomingPhoneNumbers.json"
    )
    body = urllib.parse.urlencode(
        {"PhoneNumber": NUMBER, "isSIP": "true", "VoiceUrl": "http://127.0.0.1:9/unused"}
    ).encode()
    credentials = base64.b64encode(f"{tenant.account_sid}:{tenant.token}".encode()).decode()
    request = urllib.request.Request(
        url, data=body, headers={"Authorization": f"Basic {credentials}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 200, response.read()


def calls(folder: Path, address: str, rate: int, seconds: float, path: str) -> Result:
    """One SIPp caller run at `rate` calls/s for `seconds`; its result."""
    total = max(1, int(rate * seconds))
    stats = folder / f"stats-{path.replace(' ', '-')}-{rate}.csv"
    command = sipp_command(
        CALLER,
        port=free_udp_port(),
        service=NUMBER,
        remote=address,
        extra=[
            "-r", str(rate), "-m", str(total), "-d", "0",
            "-l", str(max(50, rate * 4)),  # concurrent calls: room for 4 s of backlog
            "-recv_timeout", "5000", "-timeout", f"{int(seconds) + 30}s",
            "-trace_stat", "-stf", str(stats), "-fd", "1",
        ],
    )  # fmt: skip
    started = time.monotonic()
    with sipp(command, folder) as caller:
        caller.wait(timeout=seconds + 40)
    wall = time.monotonic() - started
    last = _last_row(stats)
    return Result(
        path=path,
        rate=rate,
        offered=total,
        successful=int(last["SuccessfulCall(C)"]),
        failed=int(last["FailedCall(C)"]),
        seconds=wall,
        response_ms=_milliseconds(last["ResponseTime1(C)"]),
    )


def _last_row(stats: Path) -> dict[str, str]:
    with stats.open(newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    return rows[-1]


def _milliseconds(value: str) -> float:
    """SIPp's hh:mm:ss:usec."""
    hours, minutes, secs, micros = (int(part) for part in value.split(":"))
    return ((hours * 60 + minutes) * 60 + secs) * 1000 + micros / 1000


@contextmanager
def answering(folder: Path) -> Iterator[int]:
    """SIPp answering every call until the block ends; its port."""
    port = free_udp_port()
    with sipp(sipp_command(ANSWERER, port=port), folder):
        time.sleep(0.3)  # bound and listening
        yield port


def run(rates: Sequence[int], seconds: float, folder: Path) -> list[Result]:
    results: list[Result] = []
    with ExitStack() as stack:
        dsn = stack.enter_context(database_url())
        tenant = asyncio.run(_tenant(dsn))
        port = free_port()
        stack.enter_context(router_process(dsn, port=port, gateway_token=TOKEN))
        provision(port, tenant)
        app_port = stack.enter_context(answering(folder))
        common = {
            "router_url": f"http://127.0.0.1:{port}",
            "gateway_token": TOKEN,
            "app_server_uri": f"sip:127.0.0.1:{app_port}",
            "organization_sid": tenant.organization_sid,
            "fetch": False,
            "children": 4,
            "async_workers": 16,
            "shared_memory_mb": 128,
        }
        for rate in rates:
            for path, alone in (("kamailio alone", True), ("router", False)):
                before = asyncio.run(_recorded(dsn))
                with kamailio(**common, without_router=alone) as proxy:  # type: ignore[arg-type]
                    result = calls(folder, proxy.address, rate, seconds, path)
                    drained = 0.0 if alone else _drain(dsn, before[1] + 3 * result.successful)
                after = asyncio.run(_recorded(dsn))
                result = replace(
                    result,
                    recorded=(after[0] - before[0], after[1] - before[1]),
                    drain_seconds=drained,
                )
                print(_line(result), file=sys.stderr, flush=True)
                results.append(result)
    return results


async def _tenant(dsn: str) -> Tenant:
    async with migrated(dsn) as db:
        return await make_tenant(db)


def _drain(dsn: str, reports: int, within: float = 30.0) -> float:
    """Seconds until router has stored `reports` status reports in all (Kamailio posts
    them from its queues after the calls), or until they stop coming for 3 s."""
    started = last_change = time.monotonic()
    seen = -1
    while time.monotonic() - started < within:
        stored = asyncio.run(_recorded(dsn))[1]
        if stored >= reports:
            break
        if stored != seen:
            seen, last_change = stored, time.monotonic()
        elif time.monotonic() - last_change > 3:
            break
        time.sleep(0.2)
    return time.monotonic() - started


async def _recorded(dsn: str) -> tuple[int, int]:
    """How many calls and status reports router has stored (a check that the calls
    really went through it: one call and three reports per successful call)."""
    db = await Database.connect(dsn, min_size=1, max_size=1)
    try:
        async with db.connection() as conn:
            found = await conn.fetchrow(
                "SELECT (SELECT count(*) FROM calls) AS calls,"
                " (SELECT count(*) FROM call_events) AS reports"
            )
        return int(found["calls"]), int(found["reports"])
    finally:
        await db.close()


def _line(result: Result) -> str:
    return (
        f"{result.path:>14} at {result.rate:>4}/s: {result.calls_per_second:7.1f} calls/s,"
        f" {result.failed} failed of {result.offered}, INVITE->200 {result.response_ms:.1f} ms,"
        f" router stored {result.recorded[0]} calls and {result.recorded[1]} status reports"
        f" ({result.drain_seconds:.1f} s after the last call)"
    )


def rows(results: Sequence[Result]) -> list[Row]:
    """Per rate: router's calls/s against Kamailio alone, and router's failures."""
    alone = {r.rate: r for r in results if r.path == "kamailio alone"}
    table: list[Row] = []
    for result in (r for r in results if r.path == "router"):
        base = alone[result.rate]
        table.append(
            Row(f"calls/s offered {result.rate}/s", result.calls_per_second, "calls/s",
                base.calls_per_second)
        )  # fmt: skip
        table.append(
            Row(f"INVITE->200 at {result.rate}/s", result.response_ms, "ms", base.response_ms)
        )
        table.append(Row(f"failed calls at {result.rate}/s", result.failed, "calls", base.failed))
        table.append(
            Row(f"status reports stored at {result.rate}/s", result.recorded[1], "reports",
                3 * result.successful)
        )  # fmt: skip
    return table


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sip", description=__doc__)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true")
    size.add_argument("--tiny", action="store_true")
    parser.add_argument("--rates", help="comma-separated offered rates (calls/s)")
    parser.add_argument("--seconds", type=float, help="seconds of calls at each rate")
    parser.add_argument("--json", type=Path, help="also write the table as JSON here")
    args = parser.parse_args(argv)
    rates, seconds = SIZES["tiny" if args.tiny else "quick" if args.quick else "full"]
    if args.rates:
        rates = tuple(int(r) for r in args.rates.split(","))
    seconds = args.seconds or seconds
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="router-bench-sip-") as folder:
        results = run(rates, seconds, Path(folder))
    table = rows(results)
    print_table(f"SIP path (SIPp -> Kamailio -> router), {time.monotonic() - started:.0f} s", table)
    if args.json:
        write_json(args.json, "sip", table, [asdict(r) for r in results])
    print(json.dumps({"load_average": load_average()}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
