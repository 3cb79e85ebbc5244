"""Leases on claimed callbacks: a verdict from a lost lease never overwrites a newer one."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestClient

from router import config
from router.errors import ConfigError
from router.outbound import DenyList
from router.store.callbacks import AttemptRecord, CallbackStore
from router.store.postgres import Database
from router.webhooks.dispatcher import Dispatcher
from router.webhooks.retry import RetryPolicy
from tests.api.test_callback_delivery import service
from tests.api.test_status_events import post_status, provision, route_call
from tests.conftest import Tenant


async def test_a_settle_after_the_lease_was_lost_is_dropped(
    db: Database, settings: config.Settings, tenant: Tenant, gateway: dict[str, str]
) -> None:
    """A claims, its lease runs out, B claims and delivers; A's late verdict is dropped."""
    async with service(db, settings, callbacks_dispatcher_enabled=False) as client:
        await queue_one_callback(client, tenant, gateway)
    store = CallbackStore(db)
    [first] = await store.claim(1, lease_seconds=0.2, in_flight_hosts=[], per_host_limit=8)
    await asyncio.sleep(0.3)
    [second] = await store.claim(1, lease_seconds=30, in_flight_hosts=[], per_host_limit=8)
    assert second.id == first.id

    assert await store.settle(second, attempt(200), state="delivered", next_attempt_at=None)
    assert not await store.settle(first, attempt(503), state="pending", next_attempt_at=None)

    callback = await store.get(first.id)
    assert callback is not None
    assert callback.state == "delivered"
    assert callback.attempts == 2  # each claim is an attempt
    async with db.connection() as conn:
        recorded = await conn.fetch(
            "SELECT status, settled FROM callback_attempts WHERE callback_id = $1 ORDER BY id",
            first.id,
        )
    # Both attempts happened and are on record, each with its own outcome.
    assert [(r["status"], r["settled"]) for r in recorded] == [(503, True), (200, True)]


async def queue_one_callback(client: TestClient, tenant: Tenant, gateway: dict[str, str]) -> None:
    await provision(client, tenant, "7777", StatusCallback="http://127.0.0.1:9/cb")
    call_sid = await route_call(client, gateway, tenant, "7777")
    assert (await post_status(client, gateway, call_sid, "ringing"))[0] == 202


def attempt(status: int) -> AttemptRecord:
    return AttemptRecord(datetime.now(UTC), status, None, 1.0, "ok")


async def test_a_lease_shorter_than_the_request_timeout_is_refused(db: Database) -> None:
    """The dispatcher refuses a lease that could end while its own request is in flight."""
    async with ClientSession() as session:
        with pytest.raises(ConfigError, match="callbacks_lease_seconds"):
            Dispatcher(
                CallbackStore(db),
                session,
                RetryPolicy(),
                deny_list=DenyList([]),
                lease_seconds=5,
                timeout=10,
            )
