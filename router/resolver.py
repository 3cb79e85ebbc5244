"""Number resolution (SPEC 3): which provisioned number a dialed string reaches.

The exact stage is served from a cache of spelling -> numbers (hits and misses); a
miss costs one query for all missing spellings. The pattern stage uses one
in-memory matcher per destination organization: the automaton (OrgMatcher), or,
while an organization's first automaton compiles in the background, the prefix
index, which builds in a fraction of the time. A pattern write updates the matcher
in place (a small delta database) and a background rebuild folds the delta in
later. Both stages are kept correct by `invalidate` (driven by NOTIFY) and bounded
in staleness by a TTL.
"""

from __future__ import annotations

import asyncio
import enum
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final, NamedTuple, Protocol

import structlog
from cachetools import TTLCache

from router import patterns
from router.domain import Channel, IncomingNumber
from router.errors import Unavailable
from router.known_numbers import KnownNumbers
from router.patterns import budget
from router.patterns.prefix_index import PrefixIndexMatcher
from router.spellings import load_metadata
from router.spellings import spellings as spellings_of

log = structlog.get_logger(__name__)

_PATTERN_INPUT = frozenset(patterns.DIALED)
# A full dry run lists at most this many naive (pattern, spelling) attempts.
FULL_TRACE_LIMIT = 10_000
_EXACT_FOUND = "the exact stage found the number"
# A delta of recent pattern writes is folded into a new big database this long after
# a write, or at once when it holds this many patterns.
FOLD_DELAY_S = 10.0
FOLD_DELTA = 64

Matcher = patterns.OrgMatcher | PrefixIndexMatcher


class NumberSource(Protocol):
    """What resolution reads from the store."""

    async def numbers_by_spellings(self, spellings: Sequence[str]) -> list[IncomingNumber]: ...

    async def pattern_numbers(self, organization_sid: str) -> list[IncomingNumber]: ...

    async def all_phone_numbers(self) -> list[str]: ...

    async def pattern_version(self, organization_sid: str) -> str: ...


class ResolutionOutcome(enum.StrEnum):
    MATCHED = "matched"
    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"


@dataclass(frozen=True, slots=True)
class ExactStep:
    """One spelling of the exact stage in a dry run, and what it gave."""

    spelling: str
    result: str  # hit | miss | other_organization
    number_sid: str | None = None


@dataclass(frozen=True, slots=True)
class PatternTrace:
    """The pattern stage in a dry run: why it did not run, or what it considered."""

    skipped: str | None = None  # why the stage did not run
    matcher: str | None = None  # automaton | prefix_index
    explanation: patterns.Explanation | None = None
    naive: tuple[patterns.TraceStep, ...] | None = None  # only for a full trace
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class Trace:
    """What a dry run shows of a resolution."""

    spellings: tuple[str, ...]
    exact: tuple[ExactStep, ...]
    pattern: PatternTrace


@dataclass(frozen=True, slots=True)
class Resolution:
    """The outcome of resolving one dialed string."""

    outcome: ResolutionOutcome
    number: IncomingNumber | None = None
    how: str | None = None  # exact | pattern
    spelling: str | None = None
    pattern: str | None = None
    trace: Trace | None = field(default=None)


class Query(NamedTuple):
    """One resolution request (a tuple: it is the key of the answer memo)."""

    to: str
    channel: Channel
    destination: str | None  # organization sid
    source: str | None  # organization sid


def reachable(number: IncomingNumber, destination: str | None, source: str | None) -> bool:
    """The organization rules of SPEC 3.2: SIP numbers only inside their organization,
    inventory DIDs from anywhere but, with a destination, only the destination's."""
    if destination is None:
        return not number.pure_sip
    if number.organization_sid != destination:
        return False
    return source is None or source == destination or not number.pure_sip


def pattern_stage_applies(query: Query) -> bool:
    """SPEC 3.3: never for SMS, within one organization, telephony characters only."""
    return _why_no_pattern_stage(query) is None


@dataclass(slots=True)
class ResolverStats:
    """Plain counters (read by the metrics endpoint); no locking needed in one loop."""

    answer_hits: int = 0
    answer_misses: int = 0
    spelling_hits: int = 0
    spelling_misses: int = 0
    regex_over_budget: int = 0  # timed pattern matches not run (patterns/budget.py)


@dataclass(slots=True)
class _OrgPatterns:
    matcher: Matcher
    by_sid: dict[str, IncomingNumber]
    built_at: float
    signature: frozenset[patterns.PatternEntry]  # what the matcher was built from
    version: str  # the store's fingerprint of those numbers when they were read
    stale: bool = False


class Resolver:
    """Resolves dialed strings against provisioned numbers and patterns (SPEC 3)."""

    def __init__(
        self,
        source: NumberSource,
        *,
        default_region: str = "US",
        cache_ttl: float = 30.0,
        cache_size: int = 1_000_000,
        match_timeout: float = patterns.DEFAULT_MATCH_TIMEOUT_S,
        fold_delay_s: float = FOLD_DELAY_S,
        clock: Callable[[], float] = time.monotonic,
        regex_budget_s: float = budget.DEFAULT_BUDGET_S,
        regex_budget_window_s: float = budget.DEFAULT_WINDOW_S,
    ) -> None:
        load_metadata()  # before the first number is spelled, not during routing
        self._source = source
        self._region = default_region
        self._ttl = cache_ttl
        self._match_timeout = match_timeout
        self._fold_delay = fold_delay_s
        self._clock = clock
        self._exact: TTLCache[str, tuple[IncomingNumber, ...]] = TTLCache(
            maxsize=cache_size, ttl=cache_ttl, timer=clock
        )
        self._orgs: dict[str, _OrgPatterns] = {}
        self._org_locks: dict[str, asyncio.Lock] = {}
        self._compiling: dict[str, asyncio.Task[None]] = {}
        self._cache_size = cache_size
        self.known = KnownNumbers()
        self.stats = ResolverStats()
        self.regex_budgets = budget.RegexBudgets(
            seconds=regex_budget_s,
            window=regex_budget_window_s,
            clock=clock,
            on_refused=self._count_over_budget,
        )
        # Whole answers by query, valid until their deadline or the next invalidation:
        # the hot path of a repeated query is one dict lookup.
        self._answers: dict[Query, tuple[float, Resolution]] = {}
        # Bumped by every invalidation: a query that started before one must not fill
        # the cache with what it read (it may predate the write).
        self._generation = 0

    async def resolve(
        self, query: Query, *, trace: bool = False, full_trace: bool = False
    ) -> Resolution:
        """The number `query.to` reaches, or why none does. `trace` adds what a dry run
        shows; `full_trace` also the naive scan's attempts (capped)."""
        trace = trace or full_trace
        remembered = None if trace else self._answers.get(query)
        if remembered is not None and remembered[0] > self._clock():
            self.stats.answer_hits += 1
            return remembered[1]
        self.stats.answer_misses += 1
        generation = self._generation
        try:
            spellings = spellings_of(query.to, self._region)
            stored = any(map(self.known.may_exist, spellings))
            resolution = None if trace or stored else self._at_once(query, spellings)
            if resolution is None:
                resolution = await self._resolve(query, spellings, stored, trace, full_trace)
        except Unavailable:
            if remembered is None:
                raise
            # The database is down: an expired answer beats none (SPEC 8).
            return remembered[1]
        if not trace and generation == self._generation:
            if len(self._answers) >= self._cache_size:
                self._answers.clear()
            self._answers[query] = (self._clock() + self._ttl, resolution)
        return resolution

    async def _resolve(
        self,
        query: Query,
        spellings: tuple[str, ...],
        stored: bool,
        trace: bool,
        full_trace: bool,
    ) -> Resolution:
        """`stored`: the known-numbers set says some spelling may be a stored number."""
        if stored:
            candidates = await self._exact_candidates(spellings)
        else:  # most first-time pattern calls: no stored number has any spelling
            self.stats.spelling_hits += len(spellings)
            candidates = [()] * len(spellings)
        steps: list[ExactStep] | None = [] if trace else None
        removed = False
        for spelling, found in zip(spellings, candidates, strict=True):
            for number in found:
                if reachable(number, query.destination, query.source):
                    _record(steps, ExactStep(spelling, "hit", number.sid))
                    skipped = PatternTrace(skipped="the exact stage found the number")
                    return _matched(
                        number, "exact", spelling, None, _trace(spellings, steps, skipped)
                    )
                removed = True
                _record(steps, ExactStep(spelling, "other_organization", number.sid))
            if not found:
                _record(steps, ExactStep(spelling, "miss"))
        why_not = _why_no_pattern_stage(query)
        pattern_trace = PatternTrace(skipped=why_not) if trace else _UNTRACED
        if why_not is None:
            assert query.destination is not None
            org = self._orgs.get(query.destination)
            if org is None or self._expired(org):
                org = await self._org_patterns(query.destination)
            matcher = org.matcher
            if trace:
                with self.regex_budgets.spending(query.destination):
                    result = matcher.match(spellings)
                    pattern_trace = _pattern_trace(matcher, spellings, full_trace)
            else:
                result = self._match(matcher, query.destination, spellings)
            if result is not None:
                number = org.by_sid[result.entry.sid]
                return _matched(
                    number,
                    "pattern",
                    result.spelling,
                    number.phone_number,
                    _trace(spellings, steps, pattern_trace),
                )
        outcome = ResolutionOutcome.FORBIDDEN if removed else ResolutionOutcome.NOT_FOUND
        return Resolution(outcome, trace=_trace(spellings, steps, pattern_trace))

    def _at_once(self, query: Query, spellings: tuple[str, ...]) -> Resolution | None:
        """The untraced answer, for spellings no stored number has, when nothing needs
        awaiting: the organization's matcher is fresh (most first-time calls to
        patterns). None otherwise: `_resolve` then takes the whole way."""
        destination = query.destination
        if destination is None or _why_no_pattern_stage(query) is not None:
            self.stats.spelling_hits += len(spellings)
            return _NOT_FOUND
        org = self._orgs.get(destination)
        if org is None or self._expired(org):
            return None
        self.stats.spelling_hits += len(spellings)
        result = self._match(org.matcher, destination, spellings)
        if result is None:
            return _NOT_FOUND
        number = org.by_sid[result.entry.sid]
        return _matched(number, "pattern", result.spelling, number.phone_number, None)

    def _match(
        self, matcher: Matcher, organization: str, spellings: Sequence[str]
    ) -> patterns.MatchResult | None:
        if not matcher.runs_regex:  # the tables and the automaton decide: no regex time
            return matcher.match(spellings)
        with self.regex_budgets.spending(organization):
            return matcher.match(spellings)

    def _count_over_budget(self) -> None:
        self.stats.regex_over_budget += 1

    async def _exact_candidates(self, spellings: Sequence[str]) -> list[tuple[IncomingNumber, ...]]:
        # A spelling no stored number has is answered by the known-numbers set alone:
        # no cache entry, no query (most first-time pattern calls are such).
        may_exist = self.known.may_exist
        cached = [self._exact.get(s) if may_exist(s) else () for s in spellings]
        missing = [s for s, c in zip(spellings, cached, strict=True) if c is None]
        self.stats.spelling_hits += len(spellings) - len(missing)
        self.stats.spelling_misses += len(missing)
        if not missing:
            return cached  # type: ignore[return-value]  # no None left
        generation = self._generation
        found = await self._source.numbers_by_spellings(missing)
        fresh = {s: tuple(n for n in found if n.phone_number == s) for s in missing}
        if generation == self._generation:
            for spelling, numbers_found in fresh.items():
                self._exact[spelling] = numbers_found
        return [c if c is not None else fresh[s] for s, c in zip(spellings, cached, strict=True)]

    async def _org_patterns(self, organization: str) -> _OrgPatterns:
        current = self._orgs.get(organization)
        if current is not None and not self._expired(current):
            return current
        lock = self._org_locks.setdefault(organization, asyncio.Lock())
        async with lock:
            current = self._orgs.get(organization)
            if current is not None and not self._expired(current):
                return current
            if current is not None and not current.stale:
                # Only the TTL ran out (no notification): a fingerprint query tells
                # whether anything changed, instead of re-reading every pattern.
                generation = self._generation
                version = await self._source.pattern_version(organization)
                if version == current.version and generation == self._generation:
                    current.built_at = self._clock()
                    return current
            return await self._build(organization, current)

    def _expired(self, org: _OrgPatterns) -> bool:
        return org.stale or self._clock() - org.built_at > self._ttl

    async def _build(self, organization: str, previous: _OrgPatterns | None) -> _OrgPatterns:
        generation = self._generation
        version = await self._source.pattern_version(organization)
        found = await self._source.pattern_numbers(organization)
        entries = [patterns.PatternEntry(n.sid, n.phone_number, n.date_created) for n in found]
        signature = frozenset(entries)
        matcher: Matcher
        if previous is not None and previous.signature == signature:
            # Same patterns (a TTL refresh, or a change of settings only): keep the
            # matcher, take the numbers' fresh settings.
            matcher = previous.matcher
        elif previous is not None:
            # A write: the matcher changes in place (masks and a small delta database),
            # in milliseconds; a full rebuild folds the delta in later.
            matcher = await asyncio.to_thread(previous.matcher.updated, entries)
        else:
            # The automaton of thousands of patterns compiles for seconds: the prefix
            # index (a fraction of that) answers until it is ready.
            matcher = await asyncio.to_thread(
                PrefixIndexMatcher, entries, timeout_s=self._match_timeout
            )
        built = _OrgPatterns(matcher, {n.sid: n for n in found}, self._clock(), signature, version)
        # An invalidation during the read leaves the result usable once, never cached fresh.
        built.stale = generation != self._generation
        self._orgs[organization] = built
        if not isinstance(matcher, patterns.OrgMatcher):
            self._compile_later(organization, delay_s=0.0)
        elif matcher.delta_size:
            # Fold the delta into a new big database soon, at once if it grew large: a
            # burst of writes costs one rebuild, not one per write.
            large = matcher.delta_size >= FOLD_DELTA
            self._compile_later(organization, delay_s=0.0 if large else self._fold_delay)
        return built

    async def automata_ready(self) -> None:
        """Wait until no organization's automaton is compiling (tests, benchmarks)."""
        while self._compiling:
            await asyncio.gather(*self._compiling.values(), return_exceptions=True)

    def _compile_later(self, organization: str, *, delay_s: float) -> None:
        """Compile the organization's full automaton in the background (one at a time per
        organization), then swap it in for whatever matcher answers meanwhile."""
        if organization in self._compiling:
            return
        task = asyncio.create_task(self._compile(organization, delay_s))
        self._compiling[organization] = task
        task.add_done_callback(lambda _: self._compiling.pop(organization, None))

    async def _compile(self, organization: str, delay_s: float) -> None:
        if delay_s:
            await asyncio.sleep(delay_s)
        current = self._orgs.get(organization)
        if current is None:
            return
        built_from = current.signature
        try:
            fresh = await asyncio.to_thread(
                patterns.OrgMatcher,
                built_from,
                timeout_s=self._match_timeout,
                previous=current.matcher,
            )
        except Exception:  # never lose the matcher that answers; the next write retries
            log.exception("pattern_automaton_failed", organization=organization)
            return
        while (current := self._orgs.get(organization)) is not None:
            if current.signature == built_from:
                current.matcher = fresh
                log.info("pattern_automaton_ready", organization=organization, patterns=len(fresh))
                return
            # Written meanwhile: apply those writes to the fresh automaton as a delta.
            built_from = current.signature
            fresh = await asyncio.to_thread(fresh.updated, built_from)

    def invalidate(
        self,
        organizations: Iterable[str],
        phone_numbers: Iterable[str],
        *,
        everything: bool = False,
    ) -> None:
        """Drop what a committed write made stale (called for every NOTIFY)."""
        self._generation += 1
        self._answers.clear()
        if everything:
            # Only writes that add no phone number ask for this (migrate, account changes).
            self._exact.clear()
            self._mark_stale(list(organizations) or list(self._orgs))
            return
        changed = list(phone_numbers)
        self.known.note(changed)
        for spelling in changed:
            self._exact.pop(spelling, None)
        # Matchers hold pattern numbers only; a plain number's write leaves them be.
        if any(patterns.is_pattern(n) for n in changed):
            self._mark_stale(organizations)

    def _mark_stale(self, organizations: Iterable[str]) -> None:
        for organization in organizations:
            org = self._orgs.get(organization)
            if org is not None:
                org.stale = True

    def clear(self) -> None:
        """Forget everything (the notification connection was lost and re-established)."""
        self._generation += 1
        self._answers.clear()
        self.known.forget()
        self._exact.clear()
        for org in self._orgs.values():
            org.stale = True


_NOT_FOUND: Final = Resolution(ResolutionOutcome.NOT_FOUND)
# What `_trace` is handed when nothing is traced (it returns None then).
_UNTRACED: Final = PatternTrace(skipped="not traced")


def _record(steps: list[ExactStep] | None, step: ExactStep) -> None:
    if steps is not None:
        steps.append(step)


def _why_no_pattern_stage(query: Query) -> str | None:
    """Why the pattern stage does not run for this query (SPEC 3.3), or None if it does."""
    if query.channel is Channel.SMS:
        return "messages never match patterns"
    if query.destination is None:
        return "no destination organization"
    if query.source is not None and query.source != query.destination:
        return "the caller is in another organization"
    if not query.to or not _PATTERN_INPUT.issuperset(query.to):
        return "the dialed string holds characters other than digits, *, # and +"
    return None


def _pattern_trace(matcher: Matcher, spellings: Sequence[str], full: bool) -> PatternTrace:
    naive, truncated = matcher.trace(spellings, limit=FULL_TRACE_LIMIT) if full else (None, False)
    kind = "automaton" if isinstance(matcher, patterns.OrgMatcher) else "prefix_index"
    return PatternTrace(None, kind, matcher.explain(spellings), naive, truncated)


def _trace(
    spellings: Sequence[str], steps: list[ExactStep] | None, pattern: PatternTrace
) -> Trace | None:
    return None if steps is None else Trace(tuple(spellings), tuple(steps), pattern)


def _matched(
    number: IncomingNumber,
    how: str,
    spelling: str,
    pattern: str | None,
    trace: Trace | None,
) -> Resolution:
    return Resolution(ResolutionOutcome.MATCHED, number, how, spelling, pattern, trace)


def apply_change_notice(resolver: Resolver, payload: str) -> None:
    """Feed one `numbers_changed` notification to the resolver; a payload that cannot
    be read drops everything (safe, and logged)."""
    try:
        notice = json.loads(payload)
        organizations = [str(o) for o in notice.get("organizations", [])]
        phone_numbers = [str(n) for n in notice.get("phone_numbers", [])]
        everything = bool(notice.get("all", False))
    except (ValueError, AttributeError, TypeError):
        log.warning("change_notice_unreadable", payload=payload[:200])
        resolver.clear()
        return
    resolver.invalidate(organizations, phone_numbers, everything=everything)
