"""GET /metrics: Prometheus text with decisions, resolver caches and the callback queue."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.conftest import Tenant


async def test_metrics_count_decisions_cache_lookups_and_queue_depth(
    client: TestClient, tenant: Tenant, gateway: dict[str, str]
) -> None:
    """Two routed calls and one miss show up in the counters; the queue depth is a gauge."""
    response = await client.post(
        f"/2012-04-24/Accounts/{tenant.sid}/IncomingPhoneNumbers.json",
        data={"PhoneNumber": "3030", "isSIP": "true", "VoiceUrl": "http://127.0.0.1:9/x"},
        headers=tenant.auth,
    )
    assert response.status == 200
    org = tenant.account.organization_sid
    for to in ("3030", "3030", "4040"):
        event = {"From": "+15550001", "To": to, "DestinationOrganizationSid": org}
        await client.post("/v1/events/calls?fetch=false", json=event, headers=gateway)

    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    text = await response.text()
    assert 'router_decisions_total{kind="call",outcome="routed",stage="exact"} 2.0' in text
    assert 'router_decisions_total{kind="call",outcome="not_found",stage="none"} 1.0' in text
    assert 'router_resolver_cache_lookups_total{cache="answer",result="hit"} 1.0' in text
    assert "router_resolve_seconds_count 3.0" in text
    assert "router_callbacks_pending 0.0" in text
