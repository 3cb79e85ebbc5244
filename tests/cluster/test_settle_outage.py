"""Every attempt is on record (SPEC 6), also when PostgreSQL goes away between the
receiver's answer and the settle: the claim wrote the attempt, and the settle, tried
again while the lease lasts, completes it; past the lease the callback is sent again
(same delivery id) and the first attempt stays on record without an outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from router.api.callbacks import UNSETTLED
from router.app import create_app
from tests.cluster.own_postgres import OwnPostgres, make_owner, own_postgres
from tests.cluster.test_spool_outage import (
    GATEWAY,
    instance_settings,
    provision,
    receiving,
    report,
    route,
    sid,
    until,
)


@pytest.fixture
def postgres() -> Iterator[OwnPostgres]:
    yield from own_postgres()


@pytest.mark.parametrize("back_within_the_lease", [True, False])
async def test_an_attempt_whose_settle_met_an_outage_is_on_record(
    postgres: OwnPostgres, tmp_path: Path, back_within_the_lease: bool
) -> None:
    owner = await make_owner(postgres.dsn)
    lease = 10.0 if back_within_the_lease else 3.0
    settings = instance_settings(
        postgres.dsn,
        tmp_path / "a",
        callbacks_lease_seconds=lease,
        callbacks_timeout_seconds=lease - 1,
    )
    async with receiving() as receiver:
        await provision(postgres, tmp_path / "writer", owner, receiver.url)
        async with TestClient(TestServer(create_app(settings))) as a:

            async def stop_postgres_before_the_first_answer(hit: dict[str, str]) -> None:
                if len(receiver.hits) == 1:
                    await postgres.stop()  # the 200 below then cannot be settled

            receiver.before_answer = stop_postgres_before_the_first_answer
            await route(a, owner, sid(1))
            await report(a, sid(1), "ringing")

            async def first_hit() -> bool:
                return bool(receiver.hits)

            await until(first_hit, 10.0, "the first delivery")
            # Down for a second, or until the lease has run out.
            await asyncio.sleep(1.0 if back_within_the_lease else lease + 0.5)
            await postgres.start()

            async def settled() -> bool:
                response = await a.get(f"/v1/calls/{sid(1)}/callbacks", headers=GATEWAY)
                if response.status != 200:
                    return False
                [callback] = (await response.json())["callbacks"]
                return bool(callback["state"] == "delivered")

            await until(settled, 20.0, "the callback to be settled")
            response = await a.get(f"/v1/calls/{sid(1)}/callbacks", headers=GATEWAY)
            [callback] = (await response.json())["callbacks"]

    log = callback["attempt_log"]
    if back_within_the_lease:
        # The settle got through before the lease ended: one delivery, one attempt.
        assert len(receiver.hits) == 1
        assert callback["attempts"] == 1
        assert [a["status"] for a in log] == [200]
        assert log[0]["latency_ms"] > 0
    else:
        # Sent again one lease later, with the same delivery id; both attempts on record.
        assert [h["delivery_id"] for h in receiver.hits] == [callback["delivery_id"]] * 2
        assert callback["attempts"] == 2
        assert [(a["status"], a["error"], a["latency_ms"]) for a in log[:1]] == [
            (None, UNSETTLED, None)
        ]
        assert log[1]["status"] == 200
