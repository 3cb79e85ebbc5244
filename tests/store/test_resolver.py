"""Number resolution (SPEC 3) against the real store: the seed's tables, spellings,
organization rules, the SMS rule, pattern order, and broken or slow patterns."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient
from structlog.testing import capture_logs

from router import patterns
from router.domain import Channel, IncomingNumber, NumberRequest, new_sid
from router.resolver import Query, Resolution, ResolutionOutcome, Resolver
from router.spellings import spellings as spellings_of
from router.store.numbers import NumberStore
from router.store.postgres import Database
from tests.conftest import MakeAccount, MakeOrg, Tenant

Provision = Callable[..., Awaitable[IncomingNumber]]


@pytest.fixture
def provision(db: Database) -> Provision:
    """Provision a number through the store (SIP unless `pure_sip=False`)."""

    async def make(owner: Tenant, phone_number: str, *, pure_sip: bool = True) -> IncomingNumber:
        request = NumberRequest(
            phone_number,
            None,
            pure_sip,
            None,
            {"voice_url": f"http://127.0.0.1:9/{phone_number}"},
        )
        return await NumberStore(db).provision(
            owner.sid, owner.account.organization_sid, {owner.sid}, request
        )

    return make


def resolver(db: Database) -> Resolver:
    return Resolver(NumberStore(db))


async def voice(
    db: Database, to: str, destination: str | None, source: str | None = None
) -> Resolution:
    return await resolver(db).resolve(Query(to, Channel.VOICE, destination, source))


async def set_created(db: Database, sid: str, when: datetime) -> None:
    async with db.connection() as conn:
        await conn.execute(
            "UPDATE incoming_numbers SET date_created = $2 WHERE sid = $1", sid, when
        )


async def insert_raw_sip(db: Database, owner: Tenant, phone_number: str) -> str:
    """Insert a pure-SIP row with SQL only, bypassing every check of the service."""
    sid = new_sid("PN")
    async with db.connection() as conn:
        await conn.execute(
            "INSERT INTO incoming_numbers (sid, account_sid, organization_sid, phone_number,"
            " friendly_name, api_version, number_type, pure_sip, voice_url)"
            " VALUES ($1, $2, $3, $4, $4, '2012-04-24', 'sip', true, 'http://127.0.0.1:9/raw')",
            sid,
            owner.sid,
            owner.account.organization_sid,
            phone_number,
        )
    return sid


# --- the seed's first table ------------------------------------------------------------


@pytest.mark.parametrize(
    ("stored", "how", "winner"),
    [
        (("16508251255", "16.*"), "exact", "16508251255"),
        (("16508251256", "16.*"), "pattern", "16.*"),
        (("16508251256", "16.*", "16508.*"), "pattern", "16508.*"),
    ],
    ids=["perfect-match", "regex-applies", "longest-regex-applies"],
)
async def test_seed_first_table_dialing_16508251255(
    db: Database,
    tenant: Tenant,
    provision: Provision,
    stored: tuple[str, ...],
    how: str,
    winner: str,
) -> None:
    """Each row of the seed's first table: a perfect match first, else the longest regex."""
    for phone_number in stored:
        await provision(tenant, phone_number)
    found = await voice(db, "16508251255", tenant.account.organization_sid)
    assert found.outcome is ResolutionOutcome.MATCHED
    assert found.number is not None
    assert found.number.phone_number == winner
    assert found.how == how
    assert found.spelling == "16508251255"
    assert found.pattern == (winner if how == "pattern" else None)


# --- the seed's second table -----------------------------------------------------------

# The seed's samples with numbers each must and must not catch (whole-spelling semantics).
# `7777\8888` is the seed's typo for `7777|8888` (as written it is refused, see
# tests/api/test_resolution_rules.py); `^222…*…*500#$` lost `*222*` to markdown and is
# used in its restored form `^*222*...*...*500#$`. Dialed strings are telephony
# characters only, as the pattern stage requires (the dots stand for digits here).
SEED_SAMPLES = [
    ("7777|8888", ["7777", "8888"], ["77778888", "777", "87777", "7777#"]),
    ("^*77...33#$", ["*7712333#", "*7700033#"], ["*771233#", "7712333#", "*7712333", "*7812333#"]),
    ("^[12]2233#$", ["12233#", "22233#"], ["32233#", "12233", "112233#"]),
    ("^7688[456]#$", ["76884#", "76885#", "76886#"], ["76887#", "76884", "176884#", "76884#1"]),
    (
        "[45]234[23]",
        ["42342", "42343", "52342", "52343"],
        ["42344", "32342", "423423", "142342", "4234"],
    ),
    (
        "^*222*...*...*500#$",
        ["*222*888*999*500#", "*222*444*321*500#"],
        ["*222*888*999*501#", "222*888*999*500#", "*222*888*999*500"],
    ),
    ("999...", ["999222", "999123", "999555"], ["9991234", "99912", "199912"]),
    ("16.*", ["16508251255", "16", "+16508251255"], ["4416508251255", "6165082512", "+4416"]),
]


@pytest.mark.parametrize(
    ("pattern", "hits", "misses"), SEED_SAMPLES, ids=[s[0] for s in SEED_SAMPLES]
)
async def test_seed_regex_sample_catches_exactly_its_numbers(
    db: Database,
    tenant: Tenant,
    provision: Provision,
    pattern: str,
    hits: list[str],
    misses: list[str],
) -> None:
    """A seed sample provisioned as a pattern number catches its numbers and no others."""
    number = await provision(tenant, pattern)
    org = tenant.account.organization_sid
    for dialed in hits:
        found = await voice(db, dialed, org)
        assert found.outcome is ResolutionOutcome.MATCHED, dialed
        assert found.number is not None
        assert (found.number.sid, found.how, found.pattern) == (number.sid, "pattern", pattern)
    for dialed in misses:
        assert (await voice(db, dialed, org)).outcome is ResolutionOutcome.NOT_FOUND, dialed


async def test_pattern_stage_ignores_dialed_strings_with_other_characters(
    db: Database, tenant: Tenant, provision: Provision
) -> None:
    """`^*77...33#$` matches `*77abc33#` as a regex, but letters never reach the pattern stage."""
    await provision(tenant, "^*77...33#$")
    org = tenant.account.organization_sid
    assert (await voice(db, "*77abc33#", org)).outcome is ResolutionOutcome.NOT_FOUND
    assert (await voice(db, "*7712333#", org)).outcome is ResolutionOutcome.MATCHED


# --- spellings ---------------------------------------------------------------------------


@pytest.mark.parametrize("dialed", ["+16505551234", "16505551234", "6505551234"])
@pytest.mark.parametrize("with_destination", [True, False])
async def test_inventory_did_is_found_under_every_spelling(
    db: Database,
    tenant: Tenant,
    provision: Provision,
    add_inventory: Callable[..., Awaitable[None]],
    dialed: str,
    with_destination: bool,
) -> None:
    """An E.164 DID is reached dialed with or without `+1`, its E.164 form is the spelling."""
    await add_inventory("+16505551234")
    number = await provision(tenant, "+16505551234", pure_sip=False)
    destination = tenant.account.organization_sid if with_destination else None
    found = await voice(db, dialed, destination)
    assert found.outcome is ResolutionOutcome.MATCHED
    assert found.number is not None
    assert (found.number.sid, found.how, found.spelling) == (number.sid, "exact", "+16505551234")


async def test_sip_number_without_plus_is_found_when_dialed_with_plus(
    db: Database, tenant: Tenant, provision: Provision
) -> None:
    """SIP `16505551234` answers `+16505551234` through spelling (c), the `+` removed."""
    number = await provision(tenant, "16505551234")
    assert spellings_of("+16505551234", "US") == ("+16505551234", "16505551234")
    found = await voice(db, "+16505551234", tenant.account.organization_sid)
    assert found.outcome is ResolutionOutcome.MATCHED
    assert found.number is not None
    assert (found.number.sid, found.how, found.spelling) == (number.sid, "exact", "16505551234")


async def test_star_and_hash_numbers_have_no_e164_spelling(
    db: Database,
    tenant: Tenant,
    provision: Provision,
    add_inventory: Callable[..., Awaitable[None]],
) -> None:
    """A dialed string with `*` or `#` is looked up as received only, never as E.164."""
    await add_inventory("+16505551234")
    await provision(tenant, "+16505551234", pure_sip=False)
    for dialed in ("*16505551234", "16505551234#", "#6505551234"):
        assert spellings_of(dialed, "US") == (dialed,)
        found = await voice(db, dialed, None)
        assert found.outcome is ResolutionOutcome.NOT_FOUND, dialed


async def test_star_hash_sip_number_is_an_exact_hit_and_a_pattern_of_itself(
    db: Database, tenant: Tenant, provision: Provision
) -> None:
    """`*123#` is a pattern candidate by SPEC 3.3's literal rule: found exactly, it catches
    nothing but itself as a pattern."""
    number = await provision(tenant, "*123#")
    assert patterns.is_pattern("*123#")
    org = tenant.account.organization_sid
    found = await voice(db, "*123#", org)
    assert found.outcome is ResolutionOutcome.MATCHED
    assert found.number is not None
    assert (found.number.sid, found.how, found.spelling) == (number.sid, "exact", "*123#")
    for other in ("*1234#", "123#", "*123", "+*123#", "**123#"):
        assert (await voice(db, other, org)).outcome is ResolutionOutcome.NOT_FOUND, other


# --- organizations -----------------------------------------------------------------------


async def test_same_sip_number_in_two_organizations_reaches_each_its_own(
    db: Database, admin: Tenant, make_account: MakeAccount, make_org: MakeOrg, provision: Provision
) -> None:
    """A SIP number provisioned in two organizations resolves per destination organization."""
    first = await make_account(admin, organization=await make_org())
    second = await make_account(admin, organization=await make_org())
    in_first = await provision(first, "1000")
    in_second = await provision(second, "1000")
    for owner, number in ((first, in_first), (second, in_second)):
        found = await voice(db, "1000", owner.account.organization_sid)
        assert found.outcome is ResolutionOutcome.MATCHED
        assert found.number is not None
        assert found.number.sid == number.sid


async def test_sip_number_of_another_organization_is_forbidden_and_unknown_is_not_found(
    db: Database, admin: Tenant, make_account: MakeAccount, make_org: MakeOrg, provision: Provision
) -> None:
    """Dialing another organization's SIP number is forbidden; a number nobody has, not found."""
    owner = await make_account(admin, organization=await make_org())
    other = await make_org()
    await provision(owner, "1000")
    assert (await voice(db, "1000", other.sid)).outcome is ResolutionOutcome.FORBIDDEN
    assert (await voice(db, "2000", other.sid)).outcome is ResolutionOutcome.NOT_FOUND


async def test_source_organization_reaches_inventory_dids_but_not_sip_numbers(
    db: Database,
    admin: Tenant,
    make_account: MakeAccount,
    make_org: MakeOrg,
    provision: Provision,
    add_inventory: Callable[..., Awaitable[None]],
) -> None:
    """From another source organization a SIP number is forbidden, an inventory DID routed."""
    owner = await make_account(admin, organization=await make_org())
    source = await make_org()
    org = owner.account.organization_sid
    await add_inventory("+15105550100")
    did = await provision(owner, "+15105550100", pure_sip=False)
    await provision(owner, "1000")
    await provision(owner, "51.*")
    found = await voice(db, "+15105550100", org, source.sid)
    assert found.outcome is ResolutionOutcome.MATCHED
    assert found.number is not None
    assert found.number.sid == did.sid
    assert (await voice(db, "1000", org, source.sid)).outcome is ResolutionOutcome.FORBIDDEN
    # Nor does the pattern stage run for a caller from another organization.
    assert (await voice(db, "5100", org, source.sid)).outcome is ResolutionOutcome.NOT_FOUND
    assert (await voice(db, "5100", org, org)).outcome is ResolutionOutcome.MATCHED


async def test_without_destination_only_inventory_dids_are_reachable(
    db: Database,
    tenant: Tenant,
    provision: Provision,
    add_inventory: Callable[..., Awaitable[None]],
) -> None:
    """No destination organization: an inventory DID is found, a SIP number is forbidden."""
    await add_inventory("+15105550100")
    await provision(tenant, "+15105550100", pure_sip=False)
    await provision(tenant, "1000")
    await provision(tenant, "*")
    assert (await voice(db, "+15105550100", None)).outcome is ResolutionOutcome.MATCHED
    assert (await voice(db, "1000", None)).outcome is ResolutionOutcome.FORBIDDEN
    assert (await voice(db, "2000", None)).outcome is ResolutionOutcome.NOT_FOUND


async def test_inventory_did_of_another_destination_organization_is_forbidden(
    db: Database,
    admin: Tenant,
    make_account: MakeAccount,
    make_org: MakeOrg,
    provision: Provision,
    add_inventory: Callable[..., Awaitable[None]],
) -> None:
    """With a destination known, only that organization's numbers count, DIDs included."""
    owner = await make_account(admin, organization=await make_org())
    other = await make_org()
    await add_inventory("+15105550100")
    await provision(owner, "+15105550100", pure_sip=False)
    assert (await voice(db, "+15105550100", other.sid)).outcome is ResolutionOutcome.FORBIDDEN


# --- channels ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "outcome"),
    [
        (Channel.VOICE, ResolutionOutcome.MATCHED),
        (Channel.REFER, ResolutionOutcome.MATCHED),
        (Channel.SMS, ResolutionOutcome.NOT_FOUND),
    ],
)
async def test_sms_never_matches_a_pattern_not_even_the_catch_all(
    db: Database, tenant: Tenant, provision: Provision, channel: Channel, outcome: ResolutionOutcome
) -> None:
    """The catch-all `*` and `16.*` catch voice and refer, never SMS."""
    await provision(tenant, "*")
    await provision(tenant, "16.*")
    org = tenant.account.organization_sid
    for dialed in ("16508251255", "5551234"):
        found = await resolver(db).resolve(Query(dialed, channel, org, None))
        assert found.outcome is outcome, dialed
        if outcome is ResolutionOutcome.MATCHED:
            assert found.how == "pattern"


async def test_sms_still_finds_an_exact_number(
    db: Database, tenant: Tenant, provision: Provision
) -> None:
    """SMS skips only the pattern stage: an exact SIP number is found."""
    number = await provision(tenant, "16508251255")
    await provision(tenant, "*")
    found = await resolver(db).resolve(
        Query("16508251255", Channel.SMS, tenant.account.organization_sid, None)
    )
    assert found.outcome is ResolutionOutcome.MATCHED
    assert found.number is not None
    assert (found.number.sid, found.how) == (number.sid, "exact")


# --- ordering ----------------------------------------------------------------------------


async def test_longer_pattern_wins_whatever_the_creation_order(
    db: Database, tenant: Tenant, provision: Provision
) -> None:
    """Of `16.*`, `1.*5` and the newer, longer `165.*`, the longest wins."""
    await provision(tenant, "16.*")
    await provision(tenant, "1.*5")
    longest = await provision(tenant, "165.*")
    found = await voice(db, "16508251255", tenant.account.organization_sid)
    assert found.number is not None
    assert (found.number.sid, found.pattern) == (longest.sid, "165.*")


async def test_equal_length_patterns_resolve_by_creation_time_every_time(
    db: Database, tenant: Tenant, provision: Provision
) -> None:
    """Equal lengths: the oldest pattern wins, on every resolution and in every resolver."""
    first = await provision(tenant, "1.*5")
    second = await provision(tenant, "16.*")
    org = tenant.account.organization_sid
    base = datetime(2020, 1, 1, tzinfo=UTC)

    async def winners(reader: Resolver) -> set[str]:
        found = set()
        for _ in range(20):
            resolution = await reader.resolve(Query("16508251255", Channel.VOICE, org, None))
            assert resolution.number is not None
            found.add(resolution.number.sid)
        return found

    # The later-provisioned pattern is made the older one: creation time decides.
    await set_created(db, second.sid, base)
    await set_created(db, first.sid, base + timedelta(seconds=1))
    shared = resolver(db)
    assert await winners(shared) == {second.sid}
    assert await winners(resolver(db)) == {second.sid}
    await set_created(db, first.sid, base - timedelta(seconds=1))
    assert await winners(resolver(db)) == {first.sid}


# --- broken and slow patterns ------------------------------------------------------------


async def test_invalid_stored_pattern_is_skipped_and_logged(
    db: Database, tenant: Tenant, provision: Provision
) -> None:
    """A pattern that does not compile, found in the database, is logged and skipped."""
    bad = await insert_raw_sip(db, tenant, "[12345")
    good = await provision(tenant, "1.*")
    with capture_logs() as logs:
        found = await voice(db, "12345", tenant.account.organization_sid)
    assert found.outcome is ResolutionOutcome.MATCHED
    assert found.number is not None
    assert (found.number.sid, found.pattern) == (good.sid, "1.*")
    invalid = [e for e in logs if e["event"] == "pattern_invalid"]
    assert len(invalid) == 1
    assert (invalid[0]["sid"], invalid[0]["pattern"]) == (bad, "[12345")
    assert invalid[0]["log_level"] == "warning"


# Exponential backtracking on a run of 1s without a #; the backreference means only
# `regex` can run it (the automaton would decide the rest of it at once).
CATASTROPHIC = r"(1)\1(1|11|111)+#"


async def test_catastrophic_pattern_times_out_as_no_match_and_is_logged(
    db: Database, tenant: Tenant, provision: Provision
) -> None:
    """A pattern that backtracks for ever is cut at the match time limit: no match, logged."""
    await provision(tenant, CATASTROPHIC)
    assert patterns.DEFAULT_MATCH_TIMEOUT_S <= 0.1
    with capture_logs() as logs:
        started = time.monotonic()
        found = await voice(db, "1" * 40, tenant.account.organization_sid)
        elapsed = time.monotonic() - started
    assert found.outcome is ResolutionOutcome.NOT_FOUND
    timeouts = [e for e in logs if e["event"] == "pattern_timeout"]
    assert timeouts
    assert timeouts[0]["pattern"] == CATASTROPHIC
    assert timeouts[0]["timeout_s"] == patterns.DEFAULT_MATCH_TIMEOUT_S
    assert elapsed < 1.0
    # It still works as a pattern on the numbers it can answer.
    assert (
        await voice(db, "111#", tenant.account.organization_sid)
    ).outcome is ResolutionOutcome.MATCHED


async def test_timed_out_pattern_lets_the_next_pattern_win(
    db: Database, tenant: Tenant, provision: Provision
) -> None:
    """A timeout counts as no match: the next pattern in order is tried and wins."""
    await provision(tenant, CATASTROPHIC)
    fallback = await provision(tenant, "1.*")
    with capture_logs():
        found = await voice(db, "1" * 40, tenant.account.organization_sid)
    assert found.outcome is ResolutionOutcome.MATCHED
    assert found.number is not None
    assert found.number.sid == fallback.sid


async def test_catastrophic_pattern_does_not_stall_other_resolutions(
    db: Database, tenant: Tenant, provision: Provision
) -> None:
    """Concurrent resolutions of other numbers finish promptly while slow patterns time out."""
    await provision(tenant, CATASTROPHIC)
    await provision(tenant, "9.*")
    org = tenant.account.organization_sid
    shared = resolver(db)

    async def resolve(to: str) -> tuple[Resolution, float]:
        started = time.monotonic()
        resolution = await shared.resolve(Query(to, Channel.VOICE, org, None))
        return resolution, time.monotonic() - started

    slow = ["1" * (40 + i) for i in range(5)]
    fast = [f"9{i:07d}" for i in range(100)]
    with capture_logs():
        started = time.monotonic()
        results = await asyncio.gather(*(resolve(to) for to in [*slow, *fast]))
        total = time.monotonic() - started
    assert total < 2.0
    for resolution, _ in results[: len(slow)]:
        assert resolution.outcome is ResolutionOutcome.NOT_FOUND
    for (resolution, took), to in zip(results[len(slow) :], fast, strict=True):
        assert resolution.outcome is ResolutionOutcome.MATCHED, to
        assert resolution.pattern == "9.*"
        assert took < 2.0


async def test_known_numbers_load_every_stored_number_and_rule_out_the_rest(
    db: Database, tenant: Tenant, client: TestClient
) -> None:
    """all_phone_numbers reads every stored number; a loaded resolver answers a
    spelling no number has without a query, and still finds the stored ones."""
    response = await client.post(
        f"/2012-04-24/Accounts/{tenant.sid}/IncomingPhoneNumbers.json",
        data={"PhoneNumber": "2468", "isSIP": "true", "VoiceUrl": "http://127.0.0.1:9/x"},
        headers=tenant.auth,
    )
    assert response.status == 200
    store = NumberStore(db)
    assert "2468" in await store.all_phone_numbers()
    resolver = Resolver(store)
    assert await resolver.known.load(store.all_phone_numbers)
    org = tenant.account.organization_sid
    found = await resolver.resolve(Query("2468", Channel.VOICE, org, None))
    assert found.outcome is ResolutionOutcome.MATCHED
    assert not resolver.known.may_exist("13579")
    missed = await resolver.resolve(Query("13579", Channel.VOICE, org, None))
    assert missed.outcome is ResolutionOutcome.NOT_FOUND


async def test_ttl_refresh_keeps_an_unchanged_matcher_and_rebuilds_a_changed_one(
    db: Database, tenant: Tenant, client: TestClient
) -> None:
    """When only the TTL ran out, the matcher is kept if the org's patterns did not
    change, and rebuilt (new answer) if they did, even with no notification."""
    response = await client.post(
        f"/2012-04-24/Accounts/{tenant.sid}/IncomingPhoneNumbers.json",
        data={"PhoneNumber": "55.*", "isSIP": "true", "VoiceUrl": "http://127.0.0.1:9/a"},
        headers=tenant.auth,
    )
    assert response.status == 200
    org = tenant.account.organization_sid
    resolver = Resolver(NumberStore(db), cache_ttl=0.05)
    query = Query("5512", Channel.VOICE, org, None)
    assert (await resolver.resolve(query)).number.voice_url == "http://127.0.0.1:9/a"  # type: ignore[union-attr]
    await resolver.automata_ready()
    matcher = resolver._orgs[org].matcher
    await asyncio.sleep(0.1)
    await resolver.resolve(Query("5513", Channel.VOICE, org, None))
    assert resolver._orgs[org].matcher is matcher

    async with db.connection() as conn:  # a change whose notification was lost
        await conn.execute(
            "UPDATE incoming_numbers SET voice_url = 'http://127.0.0.1:9/b',"
            " date_updated = clock_timestamp() WHERE phone_number = '55.*'"
        )
    await asyncio.sleep(0.1)
    answer = await resolver.resolve(Query("5514", Channel.VOICE, org, None))
    assert answer.number is not None
    assert answer.number.voice_url == "http://127.0.0.1:9/b"


async def test_a_pattern_write_updates_the_automaton_in_place_and_is_folded_in_later(
    db: Database, tenant: Tenant, provision: Provision
) -> None:
    """Once an organization's automaton is built, an added pattern is answered at once
    through a delta database, a background rebuild folds it in, and a deleted pattern
    never matches after its invalidation."""
    org = tenant.account.organization_sid
    shared = Resolver(NumberStore(db), fold_delay_s=0.2)
    await provision(tenant, "16.*")

    async def pattern_of(to: str) -> str | None:
        return (await shared.resolve(Query(to, Channel.VOICE, org, None))).pattern

    assert await pattern_of("1650") == "16.*"
    await shared.automata_ready()
    built = shared._orgs[org].matcher
    assert isinstance(built, patterns.OrgMatcher)
    assert built.delta_size == 0

    added = await provision(tenant, "165.*")
    shared.invalidate([org], ["165.*"])
    assert await pattern_of("1651") == "165.*"
    updated = shared._orgs[org].matcher
    assert isinstance(updated, patterns.OrgMatcher)
    assert updated.delta_size == 1
    await shared.automata_ready()
    folded = shared._orgs[org].matcher
    assert isinstance(folded, patterns.OrgMatcher)
    assert folded is not updated
    assert folded.delta_size == 0
    assert await pattern_of("1652") == "165.*"

    await NumberStore(db).delete(tenant.sid, added.sid)
    shared.invalidate([org], ["165.*"])
    assert await pattern_of("1653") == "16.*"
    assert await pattern_of("1652") == "16.*"  # the answer memo was dropped too
