"""Provisioning refuses, on every mount, the patterns that could tax their organization
(issue 12.4): a 400 with code 21421 whose message names PhoneNumber, and nothing written;
updates cannot sneak one in either (PhoneNumber cannot change)."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from router.store.postgres import Database
from tests.conftest import Tenant

MOUNTS = ["/2012-04-24", "/restcomm/2012-04-24", "/2010-04-01"]
REFUSED = ["(?R)", "(1)\\1", "(123){e<=1}", "(?i)(1|11|111)+#", "(1|11|111)+(?=2)#"]


@pytest.mark.parametrize("mount", MOUNTS)
@pytest.mark.parametrize("pattern", REFUSED)
async def test_unbounded_patterns_are_refused_with_400_naming_phone_number(
    client: TestClient, tenant: Tenant, db: Database, mount: str, pattern: str
) -> None:
    """The error document names PhoneNumber and quotes the pattern; no row is written."""
    response = await client.post(
        f"{mount}/Accounts/{tenant.sid}/IncomingPhoneNumbers.json",
        data={"PhoneNumber": pattern, "isSIP": "true"},
        headers=tenant.auth,
    )
    body = await response.json()
    assert response.status == 400, body
    assert body["code"] == 21421
    assert body["status"] == 400
    assert body["message"].startswith(f"Invalid PhoneNumber: the pattern {pattern!r} ")
    async with db.connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM incoming_numbers") == 0


async def test_the_automaton_decided_catastrophic_pattern_is_still_accepted(
    client: TestClient, tenant: Tenant
) -> None:
    """`(1|11|111)+#` backtracks exponentially in `regex`, but the automaton decides it
    alone, so it taxes nobody and is provisioned."""
    response = await client.post(
        f"/2012-04-24/Accounts/{tenant.sid}/IncomingPhoneNumbers.json",
        data={"PhoneNumber": "(1|11|111)+#", "isSIP": "true"},
        headers=tenant.auth,
    )
    assert response.status == 200, await response.text()


async def test_metrics_expose_the_regex_budget_counter(client: TestClient) -> None:
    """The counter is there from the start, at zero."""
    text = await (await client.get("/metrics")).text()
    assert "router_pattern_regex_over_budget_total 0.0" in text
