"""The resolver's own logic (spellings, organization rules, the pattern stage, caching,
invalidation, the TTL, dry-run traces) on MemoryNumbers, which
tests/store/test_number_source_conformance.py proves answers as PostgreSQL does: no
database, so these run in milliseconds. tests/store/test_resolver.py keeps the cases
on the real store."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from router.domain import Channel, IncomingNumber, NumberType
from router.resolver import Query, ResolutionOutcome, Resolver
from router.store.memory import MemoryNumbers

ORG, OTHER = "OR-one", "OR-two"
_sids = itertools.count()
_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def number(
    phone_number: str, organization: str = ORG, *, did: bool = False, age: int = 0
) -> IncomingNumber:
    """A SIP number (an inventory DID with `did`), created `age` seconds after the epoch."""
    created = _EPOCH + timedelta(seconds=age)
    return IncomingNumber(
        sid=f"PN{next(_sids):032d}",
        account_sid="AC-" + organization,
        organization_sid=organization,
        phone_number=phone_number,
        friendly_name=phone_number,
        api_version="2012-04-24",
        number_type=NumberType.LOCAL if did else NumberType.SIP,
        pure_sip=not did,
        date_created=created,
        date_updated=created,
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def voice(to: str, destination: str | None = ORG, source: str | None = None) -> Query:
    return Query(to, Channel.VOICE, destination, source)


async def test_a_did_is_found_under_the_spelling_its_local_form_has() -> None:
    """A national number dialed without + and country code reaches the E.164 DID."""
    did = number("+16505550100", did=True)
    found = await Resolver(MemoryNumbers([did])).resolve(voice("6505550100", None))
    assert (found.outcome, found.number, found.how) == (ResolutionOutcome.MATCHED, did, "exact")
    assert found.spelling == "+16505550100"


async def test_the_organization_rules_forbid_what_another_organization_holds() -> None:
    """A SIP number is forbidden from outside its organization and to a caller of
    another organization; an unknown string is not found."""
    resolver = Resolver(MemoryNumbers([number("1234")]))
    assert (await resolver.resolve(voice("1234", OTHER))).outcome is ResolutionOutcome.FORBIDDEN
    assert (
        await resolver.resolve(voice("1234", ORG, OTHER))
    ).outcome is ResolutionOutcome.FORBIDDEN
    assert (await resolver.resolve(voice("1234", None))).outcome is ResolutionOutcome.FORBIDDEN
    assert (await resolver.resolve(voice("4321"))).outcome is ResolutionOutcome.NOT_FOUND


@pytest.mark.parametrize(
    ("stored", "winner"),
    [
        ([("16.*", 0), ("1650.*", 1)], "1650.*"),  # longer wins though younger
        ([("165.*", 1), ("1.5.*", 0)], "1.5.*"),  # equal length: the older
        ([("1.*", 0), ("16505550100", 5)], "16505550100"),  # an exact number first
    ],
    ids=["longest", "oldest-of-equal-length", "exact-first"],
)
async def test_pattern_priority(stored: list[tuple[str, int]], winner: str) -> None:
    """SPEC 3.3: exact before patterns, then the longest pattern, then the oldest."""
    store = MemoryNumbers(number(text, age=age) for text, age in stored)
    found = await Resolver(store).resolve(voice("16505550100"))
    assert found.number is not None
    assert found.number.phone_number == winner


async def test_equal_creation_times_fall_back_to_the_sid() -> None:
    """Two equal-length patterns created at the same instant: the smaller sid wins,
    whichever was stored first."""
    first, second = number("17.*"), number("1.7*")
    for order in ([first, second], [second, first]):
        found = await Resolver(MemoryNumbers(order)).resolve(voice("1777"))
        assert found.number == min(first, second, key=lambda n: n.sid)


async def test_pattern_stage_skips_sms_other_callers_and_non_telephony_strings() -> None:
    """The pattern stage runs for calls inside one organization and digits, * # + only;
    the dry run says why it did not."""
    resolver = Resolver(MemoryNumbers([number("*")]))
    assert (await resolver.resolve(voice("5551234"))).how == "pattern"
    cases = {
        Query("5551234", Channel.SMS, ORG, None): "messages never match patterns",
        voice("5551234", ORG, OTHER): "the caller is in another organization",
        voice("alice"): "the dialed string holds characters other than digits, *, # and +",
        voice("5551234", None): "no destination organization",
    }
    for query, why in cases.items():
        found = await resolver.resolve(query, trace=True)
        assert found.outcome is ResolutionOutcome.NOT_FOUND
        assert found.trace is not None
        assert found.trace.pattern.skipped == why


async def test_a_repeated_query_is_answered_without_reading_the_store() -> None:
    """The answer memo serves the same query again with no read; another query reads."""
    store = MemoryNumbers([number("1234")])
    resolver = Resolver(store)
    first = await resolver.resolve(voice("1234"))
    reads = store.reads
    assert await resolver.resolve(voice("1234")) == first
    assert store.reads == reads
    assert resolver.stats.answer_hits == 1
    await resolver.resolve(voice("1234", None))  # another query, spellings cached
    assert store.reads == reads
    await resolver.resolve(voice("9999"))
    assert store.reads > reads


async def test_a_write_is_seen_after_its_invalidation_or_the_ttl() -> None:
    """Cached answers hold until the write's notice arrives or the TTL runs out."""
    clock = Clock()
    store = MemoryNumbers()
    resolver = Resolver(store, cache_ttl=30.0, clock=clock)
    assert (await resolver.resolve(voice("1234"))).outcome is ResolutionOutcome.NOT_FOUND
    added = store.add(number("1234"))
    assert (await resolver.resolve(voice("1234"))).outcome is ResolutionOutcome.NOT_FOUND
    resolver.invalidate([ORG], ["1234"])
    assert (await resolver.resolve(voice("1234"))).number == added
    store.remove(added.sid)
    clock.now += 31
    assert (await resolver.resolve(voice("1234"))).outcome is ResolutionOutcome.NOT_FOUND


async def test_a_pattern_write_rebuilds_the_matcher_and_a_plain_write_keeps_it() -> None:
    """A notice naming a pattern marks the organization's matcher stale; one naming only
    plain numbers leaves it (no pattern read)."""
    store = MemoryNumbers([number("2.*", age=0)])
    resolver = Resolver(store, fold_delay_s=0.0)
    assert (await resolver.resolve(voice("2000"))).number is not None
    newer = store.add(number("20.*", age=1))
    store.add(number("3000"))
    resolver.invalidate([ORG], ["3000"])
    kept = await resolver.resolve(voice("2001"))
    assert kept.pattern == "2.*"
    resolver.invalidate([ORG], ["20.*"])
    rebuilt = await resolver.resolve(voice("2002"))
    assert rebuilt.number == newer
    await resolver.automata_ready()


async def test_a_dry_run_lists_each_spelling_and_what_the_pattern_stage_held() -> None:
    """The trace shows the exact stage spelling by spelling and the winning pattern."""
    store = MemoryNumbers([number("1234", OTHER), number("12.*")])
    found = await Resolver(store).resolve(voice("1234"), full_trace=True)
    assert found.trace is not None
    assert found.trace.spellings == ("1234", "+1234")
    assert [(s.spelling, s.result) for s in found.trace.exact] == [
        ("1234", "other_organization"),
        ("+1234", "miss"),
    ]
    assert found.trace.pattern.matcher == "prefix_index"
    assert found.trace.pattern.naive is not None
    assert (found.outcome, found.pattern) == (ResolutionOutcome.MATCHED, "12.*")


async def test_the_short_way_and_the_whole_way_give_the_same_answers() -> None:
    """An untraced resolve answers at once when nothing needs awaiting; a traced one
    takes the whole way. For every kind of query (exact hits, forbidden numbers,
    pattern hits and misses, SMS, another caller, no destination, letters) both give
    the same outcome, number, stage and spelling."""
    stored = [number("+16505550100", did=True), number("1234"), number("1650.*"), number("*7.")]
    store = MemoryNumbers(stored)
    warm = Resolver(store)
    await warm.known.load(store.all_phone_numbers)  # as serve does: the short way needs it
    await warm.resolve(voice("5550000"))  # builds the organization's matcher
    await warm.automata_ready()
    queries = [
        voice("6505550100"),
        voice("6505550100", None),
        voice("1234"),
        voice("1234", OTHER),
        voice("16501234567"),
        voice("*77"),
        voice("*7"),
        voice("16501234567", ORG, OTHER),
        voice("16501234567", None),
        voice("alice"),
        Query("16501234567", Channel.SMS, ORG, None),
    ]
    outcomes = set()
    for query in queries:
        short = await warm.resolve(query)
        whole = await warm.resolve(query, trace=True)
        assert (short.outcome, short.number, short.how, short.spelling) == (
            whole.outcome,
            whole.number,
            whole.how,
            whole.spelling,
        ), query
        outcomes.add((short.outcome, short.how))
    assert outcomes == {
        (ResolutionOutcome.MATCHED, "exact"),
        (ResolutionOutcome.MATCHED, "pattern"),
        (ResolutionOutcome.FORBIDDEN, None),
        (ResolutionOutcome.NOT_FOUND, None),
    }
