"""Nothing answered is lost across a database outage (SPEC 4, 6, 8): calls routed and
status events accepted while PostgreSQL is down go to each instance's spool and reach
the database, in order, once it is back; every callback is then delivered, in
SequenceNumber order, to a real receiver on 127.0.0.1."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from router import config
from router.app import create_app
from router.store.postgres import Database
from tests.api.test_status_events import fast_settings
from tests.cluster.own_postgres import Owner, OwnPostgres, make_owner, own_postgres
from tests.conftest import GATEWAY_TOKEN

GATEWAY = {"Authorization": f"Bearer {GATEWAY_TOKEN}"}
STATUSES = ("ringing", "in-progress", "completed")
RCML = "<Response><Dial>alice</Dial></Response>"
PHONE = "5100"


class Receiver:
    """The tenant's server: RCML at /rcml, status callbacks at /status (each awaiting
    `before_answer` first, if set)."""

    def __init__(self) -> None:
        self.hits: list[dict[str, str]] = []
        self.url = ""
        self.before_answer: Callable[[dict[str, str]], Awaitable[None]] | None = None

    async def rcml(self, request: web.Request) -> web.Response:
        return web.Response(text=RCML, content_type="application/xml")

    async def status(self, request: web.Request) -> web.Response:
        form = await request.post()
        hit = {k: str(v) for k, v in form.items()}
        hit["delivery_id"] = request.headers["I-Router-Delivery-Id"]
        self.hits.append(hit)
        if self.before_answer is not None:
            await self.before_answer(hit)
        return web.Response(text="ok")

    def delivered(self) -> dict[str, list[tuple[int, str]]]:
        """(SequenceNumber, CallStatus) per call, in arrival order, each delivery once."""
        seen: set[str] = set()
        found: dict[str, list[tuple[int, str]]] = {}
        for hit in self.hits:
            if hit["delivery_id"] in seen:
                continue
            seen.add(hit["delivery_id"])
            found.setdefault(hit["CallSid"], []).append(
                (int(hit["SequenceNumber"]), hit["CallStatus"])
            )
        return found


@asynccontextmanager
async def receiving() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/rcml", receiver.rcml)
    app.router.add_post("/status", receiver.status)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    receiver.url = f"http://127.0.0.1:{port}"
    try:
        yield receiver
    finally:
        await runner.cleanup()


@pytest.fixture
def postgres() -> Iterator[OwnPostgres]:
    yield from own_postgres()


def instance_settings(dsn: str, data_dir: Path, **changes: Any) -> config.Settings:
    base = config.load(
        environ={},
        overrides={"database_url": dsn, "gateway_token": GATEWAY_TOKEN, "data_dir": str(data_dir)},
    )
    return fast_settings(
        base,
        cache_ttl_seconds=600.0,
        spool_replay_interval_seconds=0.2,
        database_pool_min=1,
        **changes,
    )


async def provision(
    postgres: OwnPostgres,
    data_dir: Path,
    owner: Owner,
    receiver_url: str,
    *,
    status_callback: bool = True,
) -> None:
    """The SIP number PHONE, its RCML (and status callbacks) at the receiver, written
    through an instance of its own that stops before the instances under test start:
    they read the number at start, and the write's NOTIFY cannot reach one of them late
    (on a loaded machine) and evict what it resolved before the outage."""
    data = {"PhoneNumber": PHONE, "isSIP": "true", "VoiceUrl": f"{receiver_url}/rcml"}
    if status_callback:
        data["StatusCallback"] = f"{receiver_url}/status"
    writer_app = create_app(instance_settings(postgres.dsn, data_dir))
    async with TestClient(TestServer(writer_app)) as writer:
        response = await writer.post(
            f"/2012-04-24/Accounts/{owner.account_sid}/IncomingPhoneNumbers.json",
            data=data,
            headers=owner.auth,
        )
        assert response.status == 200, await response.text()


async def route(client: TestClient, owner: Owner, call_sid: str) -> dict[str, Any]:
    body = {
        "From": "+15550100",
        "To": PHONE,
        "CallSid": call_sid,
        "DestinationOrganizationSid": owner.organization.sid,
    }
    response = await client.post("/v1/events/calls", json=body, headers=GATEWAY)
    assert response.status == 200, await response.text()
    answer = dict(await response.json())
    assert answer["outcome"] == "routed", answer
    assert answer["rcml"] == RCML
    return answer


async def report(client: TestClient, call_sid: str, status: str) -> dict[str, Any]:
    response = await client.post(
        f"/v1/events/calls/{call_sid}/status", json={"CallStatus": status}, headers=GATEWAY
    )
    assert response.status == 202, await response.text()
    return dict(await response.json())


def sid(n: int) -> str:
    return f"CA{n:032x}"


def spooled(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "spool").glob("*.spool"))


async def until(condition: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not await condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def test_calls_and_statuses_answered_during_an_outage_are_recorded_and_called_back(
    postgres: OwnPostgres, tmp_path: Path
) -> None:
    owner = await make_owner(postgres.dsn)
    dir_a, dir_b = tmp_path / "a", tmp_path / "b"
    async with receiving() as receiver:
        await provision(postgres, tmp_path / "writer", owner, receiver.url)
        async with (
            TestClient(TestServer(create_app(instance_settings(postgres.dsn, dir_a)))) as a,
            TestClient(TestServer(create_app(instance_settings(postgres.dsn, dir_b)))) as b,
        ):
            # Recorded before the outage; both instances now know the number from memory.
            await route(a, owner, sid(0))
            await route(b, owner, sid(100))

            await postgres.stop()
            on_a, on_b, across = [sid(1), sid(2), sid(3)], [sid(4), sid(5), sid(6)], sid(7)
            for call_sid in [*on_a, across]:
                await route(a, owner, call_sid)
            for call_sid in on_b:
                await route(b, owner, call_sid)
            for status in STATUSES:
                for call_sid in on_a:
                    assert (await report(a, call_sid, status))["duplicate"] is False
                # Reported to the other instance than the one that spooled the call, or
                # (sid 0) recorded before the outage.
                for call_sid in [*on_b, across, sid(0)]:
                    assert (await report(b, call_sid, status))["duplicate"] is False
            # The gateway repeats itself: the same decision, the same status, nothing twice.
            repeat = await route(a, owner, sid(1))
            assert repeat["call_sid"] == sid(1)
            assert (await report(a, sid(1), "completed"))["duplicate"] is True
            assert spooled(dir_a)
            assert spooled(dir_b)
            assert receiver.hits == []

            await postgres.start()
            everyone = [sid(0), *on_a, *on_b, across]

            async def all_delivered() -> bool:
                delivered = receiver.delivered()
                done = all(len(delivered.get(s, [])) == len(STATUSES) for s in everyone)
                return done and not spooled(dir_a) and not spooled(dir_b)

            await until(all_delivered, 30.0, "every callback")
            expected = [(n, status) for n, status in enumerate(STATUSES)]
            delivered = receiver.delivered()
            for call_sid in everyone:
                assert delivered[call_sid] == expected, call_sid
            assert set(delivered) == set(everyone)

    db = await Database.connect(postgres.dsn, min_size=1, max_size=1)
    try:
        async with db.connection() as conn:
            calls = {
                r["sid"]: r["status"] for r in await conn.fetch("SELECT sid, status FROM calls")
            }
            callbacks = await conn.fetch("SELECT call_sid, state FROM callbacks")
    finally:
        await db.close()
    assert calls == {**{s: "completed" for s in everyone}, sid(100): "ringing"}
    assert len(callbacks) == len(everyone) * len(STATUSES)
    assert {r["state"] for r in callbacks} == {"delivered"}


async def test_a_full_spool_answers_503_and_keeps_nothing(
    postgres: OwnPostgres, tmp_path: Path
) -> None:
    """Past spool_max_bytes an event is refused (the gateway may retry), never half kept."""
    owner = await make_owner(postgres.dsn)
    settings = instance_settings(postgres.dsn, tmp_path / "a", spool_max_bytes=100)
    async with receiving() as receiver:
        await provision(postgres, tmp_path / "writer", owner, receiver.url, status_callback=False)
        async with TestClient(TestServer(create_app(settings))) as a:
            await route(a, owner, sid(0))
            await postgres.stop()
            body = {"From": "+1", "To": PHONE, "DestinationOrganizationSid": owner.organization.sid}
            refused = [
                await a.post("/v1/events/calls", json=body, headers=GATEWAY),
                await a.post(
                    f"/v1/events/calls/{sid(0)}/status",
                    json={"CallStatus": "ringing"},
                    headers=GATEWAY,
                ),
            ]
            for response in refused:
                assert response.status == 503
                assert response.headers["Retry-After"]
                assert (await response.json())["message"] == (
                    "The database is unreachable and this worker's spool is full"
                    " (100 bytes, setting spool_max_bytes); retry later."
                )
            assert all(path.stat().st_size == 0 for path in spooled(tmp_path / "a"))
            await postgres.start()
