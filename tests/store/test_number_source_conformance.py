"""The in-memory number store answers resolution's reads as the PostgreSQL store does:
every case here runs against both (the `world` fixture), so a unit test of the resolver
on MemoryNumbers tells what it does on PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import pytest

from router.domain import (
    Channel,
    IncomingNumber,
    InventoryNumber,
    NumberRequest,
    NumberType,
    new_sid,
)
from router.resolver import NumberSource, Query, ResolutionOutcome, Resolver
from router.store.inventory import InventoryStore
from router.store.memory import MemoryNumbers
from router.store.numbers import NumberStore
from router.store.postgres import Database
from tests.conftest import MakeAccount, Tenant


class World(Protocol):
    """Numbers written through one store, read through its NumberSource."""

    source: NumberSource

    async def organization(self) -> str: ...

    async def sip(self, organization: str, phone_number: str) -> IncomingNumber: ...

    async def did(self, organization: str, phone_number: str) -> IncomingNumber: ...

    async def delete(self, number: IncomingNumber) -> None: ...


@dataclass
class MemoryWorld:
    source: MemoryNumbers = field(default_factory=MemoryNumbers)

    async def organization(self) -> str:
        return new_sid("OR")

    async def sip(self, organization: str, phone_number: str) -> IncomingNumber:
        return self._add(organization, phone_number, NumberType.SIP)

    async def did(self, organization: str, phone_number: str) -> IncomingNumber:
        return self._add(organization, phone_number, NumberType.LOCAL)

    async def delete(self, number: IncomingNumber) -> None:
        self.source.remove(number.sid)

    def _add(self, organization: str, phone_number: str, kind: NumberType) -> IncomingNumber:
        return self.source.add(
            IncomingNumber(
                sid=new_sid("PN"),
                account_sid=new_sid("AC"),
                organization_sid=organization,
                phone_number=phone_number,
                friendly_name=phone_number,
                api_version="2012-04-24",
                number_type=kind,
                pure_sip=kind is NumberType.SIP,
                voice_url=f"http://127.0.0.1:9/{phone_number}",
            )
        )


@dataclass
class PostgresWorld:
    db: Database
    make_account: MakeAccount
    owners: dict[str, Tenant] = field(default_factory=dict)

    @property
    def source(self) -> NumberStore:
        return NumberStore(self.db)

    async def organization(self) -> str:
        owner = await self.make_account()
        self.owners[owner.account.organization_sid] = owner
        return owner.account.organization_sid

    async def sip(self, organization: str, phone_number: str) -> IncomingNumber:
        return await self._provision(organization, phone_number, pure_sip=True)

    async def did(self, organization: str, phone_number: str) -> IncomingNumber:
        free = InventoryNumber(phone_number, NumberType.LOCAL, "650", "US", None)
        await InventoryStore(self.db).insert([free])
        return await self._provision(organization, phone_number, pure_sip=False)

    async def delete(self, number: IncomingNumber) -> None:
        await self.source.delete(number.account_sid, number.sid)

    async def _provision(
        self, organization: str, phone_number: str, *, pure_sip: bool
    ) -> IncomingNumber:
        owner = self.owners[organization]
        settings: dict[str, object] = {"voice_url": f"http://127.0.0.1:9/{phone_number}"}
        request = NumberRequest(phone_number, None, pure_sip, None, settings)
        return await self.source.provision(owner.sid, organization, {owner.sid}, request)


@pytest.fixture(params=["memory", "postgres"])
def world(request: pytest.FixtureRequest) -> World:
    if request.param == "memory":
        return MemoryWorld()
    return PostgresWorld(request.getfixturevalue("db"), request.getfixturevalue("make_account"))


def phones(found: list[IncomingNumber]) -> list[str]:
    return [n.phone_number for n in found]


# --- the reads ---------------------------------------------------------------------------


async def test_spellings_find_every_organizations_numbers_grouped_in_the_order_asked(
    world: World,
) -> None:
    """numbers_by_spellings reads across organizations; numbers come grouped by spelling
    in the order the spellings were asked; unknown spellings add nothing."""
    first, second = await world.organization(), await world.organization()
    a = await world.sip(first, "1234")
    b = await world.sip(second, "1234")
    did = await world.did(first, "+16505550100")
    found = await world.source.numbers_by_spellings(["+16505550100", "999", "1234"])
    assert phones(found) == ["+16505550100", "1234", "1234"]
    assert found[0].sid == did.sid
    assert {n.sid for n in found[1:]} == {a.sid, b.sid}
    assert {n.organization_sid for n in found[1:]} == {first, second}
    assert await world.source.numbers_by_spellings([]) == []


async def test_a_deleted_number_is_read_by_no_spelling_and_listed_nowhere(world: World) -> None:
    """After its deletion a number is gone from every read; the others stay."""
    org = await world.organization()
    kept = await world.sip(org, "1000")
    gone = await world.sip(org, "2000")
    pattern = await world.sip(org, "3.*")
    await world.delete(gone)
    await world.delete(pattern)
    assert phones(await world.source.numbers_by_spellings(["1000", "2000", "3.*"])) == ["1000"]
    assert await world.source.pattern_numbers(org) == []
    assert await world.source.all_phone_numbers() == [kept.phone_number]


async def test_pattern_numbers_are_the_organizations_sip_patterns_only(world: World) -> None:
    """Only pure-SIP pattern candidates of the asked organization: not plain SIP numbers,
    not inventory numbers, not another organization's patterns, not texts the store's
    filter leaves out ("+" alone, "+12a")."""
    org, other = await world.organization(), await world.organization()
    wanted = {await world.sip(org, text) for text in ("16.*", "*123#", "^7688[456]#$", "+1.")}
    for text in ("1650", "+16505550101", "+", "+12a"):
        await world.sip(org, text)
    await world.did(org, "+16505550102")
    await world.sip(other, "17.*")
    found = await world.source.pattern_numbers(org)
    assert sorted(phones(found)) == sorted(n.phone_number for n in wanted)
    assert {n.sid for n in found} == {n.sid for n in wanted}
    assert await world.source.pattern_numbers(new_sid("OR")) == []


async def test_all_phone_numbers_lists_each_row_except_backslash_texts(world: World) -> None:
    """Every stored number, once per row (one text in two organizations twice), without
    texts holding a backslash, which no dialed string can equal."""
    first, second = await world.organization(), await world.organization()
    await world.sip(first, "1234")
    await world.sip(second, "1234")
    await world.sip(first, r"^1\d+$")
    await world.did(second, "+16505550103")
    found = await world.source.all_phone_numbers()
    assert sorted(found) == ["+16505550103", "1234", "1234"]


async def test_pattern_version_moves_with_the_organizations_pattern_writes_only(
    world: World,
) -> None:
    """The fingerprint holds without writes, moves when a pattern of the organization is
    added or deleted, and holds for plain numbers and other organizations' patterns."""
    org, other = await world.organization(), await world.organization()
    start = await world.source.pattern_version(org)
    assert await world.source.pattern_version(org) == start
    await world.sip(org, "1234")
    await world.did(org, "+16505550104")
    await world.sip(other, "9.*")
    assert await world.source.pattern_version(org) == start
    pattern = await world.sip(org, "5.*")
    added = await world.source.pattern_version(org)
    assert added != start
    await world.delete(pattern)
    assert await world.source.pattern_version(org) != added


# --- the resolver on each store ----------------------------------------------------------


async def test_sip_numbers_stay_inside_their_organization_dids_reach_everywhere(
    world: World,
) -> None:
    """SPEC 3.2 on both stores: a SIP number answers only its organization; an inventory
    number answers with no destination, and with one only the destination's."""
    org, other = await world.organization(), await world.organization()
    sip = await world.sip(org, "4321")
    did = await world.did(org, "+16505550105")
    resolver = Resolver(world.source)
    inside = await resolver.resolve(Query("4321", Channel.VOICE, org, None))
    assert (inside.outcome, inside.number) == (ResolutionOutcome.MATCHED, sip)
    for destination in (other, None):
        refused = await resolver.resolve(Query("4321", Channel.VOICE, destination, None))
        assert refused.outcome is ResolutionOutcome.FORBIDDEN
    anywhere = await resolver.resolve(Query("+16505550105", Channel.VOICE, None, None))
    assert (anywhere.outcome, anywhere.number) == (ResolutionOutcome.MATCHED, did)
    elsewhere = await resolver.resolve(Query("+16505550105", Channel.VOICE, other, None))
    assert elsewhere.outcome is ResolutionOutcome.FORBIDDEN
    from_outside = await resolver.resolve(Query("4321", Channel.VOICE, org, other))
    assert from_outside.outcome is ResolutionOutcome.FORBIDDEN


async def test_patterns_longest_first_then_oldest_and_exact_before_any(world: World) -> None:
    """SPEC 3.3 order on both stores: the longest pattern wins, of equal lengths the one
    created first; a number stored exactly wins over every pattern."""
    org = await world.organization()
    await world.sip(org, "16.*")
    older = await world.sip(org, "1650.*")
    await world.sip(org, "16.0.*")
    resolver = Resolver(world.source)
    found = await resolver.resolve(Query("16505550106", Channel.VOICE, org, None))
    assert (found.how, found.number) == ("pattern", older)
    exact = await world.sip(org, "16505550106")
    resolver = Resolver(world.source)
    found = await resolver.resolve(Query("16505550106", Channel.VOICE, org, None))
    assert (found.how, found.number) == ("exact", exact)


async def test_messages_never_match_patterns_and_deleted_numbers_are_not_found(
    world: World,
) -> None:
    """An SMS to a string only a pattern catches is not found, where a call is matched;
    a deleted number is not found by a resolver that starts after the deletion."""
    org = await world.organization()
    pattern = await world.sip(org, "7.*")
    plain = await world.sip(org, "8000")
    resolver = Resolver(world.source)
    assert (await resolver.resolve(Query("7001", Channel.VOICE, org, None))).number == pattern
    sms = await resolver.resolve(Query("7001", Channel.SMS, org, None))
    assert (sms.outcome, sms.number) == (ResolutionOutcome.NOT_FOUND, None)
    assert (await resolver.resolve(Query("8000", Channel.SMS, org, None))).number == plain
    await world.delete(plain)
    after = await Resolver(world.source).resolve(Query("8000", Channel.VOICE, org, None))
    assert after.outcome is ResolutionOutcome.NOT_FOUND


async def test_a_memory_number_keeps_a_creation_time_it_was_given() -> None:
    """Only numbers without one are stamped: a given date_created orders patterns."""
    given = datetime(2020, 1, 1, tzinfo=UTC)
    store = MemoryNumbers()
    number = store.add(
        IncomingNumber(
            sid="PN1",
            account_sid="AC1",
            organization_sid="OR1",
            phone_number="1.*",
            friendly_name="",
            api_version="2012-04-24",
            number_type=NumberType.SIP,
            pure_sip=True,
            date_created=given,
        )
    )
    assert number.date_created == given
    with pytest.raises(KeyError):
        store.remove("PN2")
