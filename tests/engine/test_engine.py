"""The engine called directly, as an embedding program calls it, on the suite's real
PostgreSQL. Its resolver hears no NOTIFY here (no listener runs), so what it sees of
a write is what the engine itself told it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from router.config import Settings
from router.domain import CallStatus, Channel, NumberRequest
from router.engine.answers import RoutingAnswer
from router.engine.engine import Engine, Stores
from router.engine.events import CallEvent, ExplainRequest, MessageEvent, ReferEvent, StatusEvent
from router.errors import Conflict, Forbidden, Invalid, NotFound
from router.metrics import Metrics
from router.organizations import OrganizationNames
from router.outbound import create_client_session
from router.rcml import RcmlFetcher
from router.resolver import Resolver
from router.routing import Outcome
from router.spool.journal import Journal
from router.spool.recorder import EventRecorder
from router.store.accounts import AccountStore
from router.store.callbacks import CallbackStore
from router.store.calls import CallStore
from router.store.inventory import InventoryStore
from router.store.numbers import NumberStore
from router.store.postgres import Database
from tests.conftest import Tenant

Provision = Callable[..., Awaitable[str]]


@pytest.fixture
async def engine(db: Database, settings: Settings, tmp_path: Path) -> AsyncIterator[Engine]:
    stores = Stores(
        accounts=AccountStore(db),
        numbers=NumberStore(db),
        inventory=InventoryStore(db),
        calls=CallStore(db),
        callbacks=CallbackStore(db),
    )
    session = create_client_session(settings)
    # Not started: nothing is spooled while the database is up.
    journal = Journal(tmp_path / "spool", max_bytes=1 << 20)
    recorder = EventRecorder(journal, stores.calls, stores.callbacks)
    try:
        yield Engine(
            stores,
            recorder=recorder,
            resolver=Resolver(stores.numbers, cache_ttl=3600),
            fetcher=RcmlFetcher.from_settings(session, settings),
            metrics=Metrics(),
        )
    finally:
        await session.close()
        journal.close()


@pytest.fixture
def provision(engine: Engine, tenant: Tenant) -> Provision:
    async def make(phone_number: str, **fields: object) -> str:
        request = NumberRequest(phone_number, None, True, None, dict(fields))
        return (await engine.numbers.provision(tenant.account, request)).sid

    return make


def _call(tenant: Tenant, to: str) -> CallEvent:
    """A call to `to` in the tenant's organization, asking for the decision only."""
    here = OrganizationNames(destination_sid=tenant.account.organization_sid)
    return CallEvent(from_number="+15550000", to=to, organizations=here, fetch_rcml=False)


async def test_a_released_number_is_forgotten_by_this_engine_at_once(
    engine: Engine, tenant: Tenant, provision: Provision
) -> None:
    """Releasing a number drops it from the engine's caches without waiting for NOTIFY."""
    sid = await provision("7001", voice_url="http://127.0.0.1:9/v")
    first = await engine.route_call(_call(tenant, "7001"))
    assert first.outcome is Outcome.ROUTED
    await engine.numbers.release(tenant.account, sid)
    again = await engine.route_call(_call(tenant, "7001"))
    assert again.outcome is Outcome.NOT_FOUND
    assert again.number is None


async def test_an_updated_number_routes_to_its_new_url_at_once(
    engine: Engine, tenant: Tenant, provision: Provision
) -> None:
    sid = await provision("7002", voice_url="http://127.0.0.1:9/old")
    assert (await engine.route_call(_call(tenant, "7002"))).target
    await engine.numbers.update(
        tenant.account, tenant.account, sid, {"voice_url": "http://127.0.0.1:9/new"}
    )
    answer = await engine.route_call(_call(tenant, "7002"))
    assert answer.target is not None
    assert answer.target.url == "http://127.0.0.1:9/new"


async def test_a_repeated_call_sid_gets_the_typed_answer_it_got_first(
    engine: Engine, tenant: Tenant, provision: Provision
) -> None:
    """The stored answer reads back equal to the one given, whatever the number does next."""
    sid = await provision("7003", voice_url="http://127.0.0.1:9/v")
    event = _call(tenant, "7003")
    first = await engine.route_call(event)
    await engine.numbers.release(tenant.account, sid)
    repeated = await engine.route_call(
        CallEvent(event.from_number, event.to, event.call_sid, event.organizations, fetch_rcml=True)
    )
    assert isinstance(repeated, RoutingAnswer)
    assert repeated == first
    assert repeated.sid == event.call_sid


async def test_messages_are_not_routed_by_patterns(
    engine: Engine, tenant: Tenant, provision: Provision
) -> None:
    await provision(r"70[0-9]{2}", sms_url="http://127.0.0.1:9/s", voice_url="http://127.0.0.1:9/v")
    here = OrganizationNames(destination_sid=tenant.account.organization_sid)
    message = MessageEvent("+15550000", "7055", "hi", organizations=here, fetch_rcml=False)
    assert (await engine.route_message(message)).outcome is Outcome.NOT_FOUND
    call = await engine.route_call(_call(tenant, "7055"))
    assert call.outcome is Outcome.ROUTED
    assert call.match is not None
    assert call.match.how == "pattern"


async def test_status_reports_and_refers_follow_the_call(
    engine: Engine, tenant: Tenant, provision: Provision
) -> None:
    """A refer needs the call in progress (409 before, routed after); a status reported
    twice is a duplicate; an unknown call is not found."""
    await provision("7004", voice_url="http://127.0.0.1:9/v", refer_url="http://127.0.0.1:9/r")
    call = await engine.route_call(_call(tenant, "7004"))
    refer = ReferEvent(call.sid, "sip:bob@127.0.0.1", fetch_rcml=False)
    with pytest.raises(Conflict, match="only a call in progress can be transferred"):
        await engine.route_refer(refer)
    accepted = await engine.report_call_status(StatusEvent(call.sid, CallStatus.IN_PROGRESS))
    assert not accepted.duplicate
    again = await engine.report_call_status(StatusEvent(call.sid, CallStatus.IN_PROGRESS))
    assert again.duplicate
    routed = await engine.route_refer(refer)
    assert routed.outcome is Outcome.ROUTED
    assert routed.target is not None
    assert routed.target.url == "http://127.0.0.1:9/r"
    with pytest.raises(NotFound, match="was not found"):
        await engine.report_call_status(StatusEvent("CA" + "0" * 32, CallStatus.COMPLETED))


async def test_explain_keeps_a_tenant_inside_its_organization(
    engine: Engine, tenant: Tenant, provision: Provision
) -> None:
    await provision("7005", voice_url="http://127.0.0.1:9/v")
    own = tenant.account.organization_sid
    found = await engine.explain(ExplainRequest("7005", Channel.VOICE, tenant_organization_sid=own))
    assert found.answer.outcome is Outcome.ROUTED
    assert found.trace.spellings
    other = OrganizationNames(destination_sid="OR" + "1" * 32)
    with pytest.raises(Forbidden, match="only within its own organization"):
        await engine.explain(
            ExplainRequest("7005", organizations=other, tenant_organization_sid=own)
        )


async def test_an_embedder_provisioning_a_bad_pattern_is_refused_by_field(
    engine: Engine, tenant: Tenant, db: Database
) -> None:
    """The engine checks what the API would have: the error names the field, not a wire
    parameter, and nothing is stored."""
    bad = NumberRequest("(12", None, True, None, {"voice_url": "http://127.0.0.1:9/v"})
    with pytest.raises(Invalid, match=r"^Invalid phone_number: the pattern '\(12' does not"):
        await engine.numbers.provision(tenant.account, bad)
    orphan = NumberRequest("7100", None, True, None, {"voice_fallback_url": "http://127.0.0.1:9/f"})
    with pytest.raises(Invalid) as raised:
        await engine.numbers.provision(tenant.account, orphan)
    assert raised.value.field == "voice_fallback_url"
    async with db.connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM incoming_numbers") == 0
