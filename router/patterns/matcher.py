"""One organization's patterns behind a multi-pattern automaton (SPEC 3.3).

Every usable pattern has a rank: its place in the priority order. One hyperscan scan
of all spellings reports the ranks whose expression matches; a rank whose rewrite is
exact is decided by that, the others (proposed by a wider expression) are confirmed
with `regex`, and patterns with no expression at all are tried with `regex` on every
lookup. The best rank wins, so the answer is the naive scan's (property tests).

A write changes a matcher without recompiling everything: `updated` keeps the
compiled databases, masks the ranks of removed patterns and compiles the added ones
into a small delta database scanned with the big one. `OrgMatcher(entries)` from
scratch folds the delta back in (the resolver does that in the background).
Pure: no I/O beyond logging.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from router.patterns import automaton
from router.patterns.dialect import (
    DEFAULT_MATCH_TIMEOUT_S,
    UNTIMED_MAX_SPELLING,
    CompiledPattern,
    MatchOutcome,
    MatchResult,
    PatternEntry,
    TraceStep,
    compile_entry,
    is_pattern,
    naive_steps,
    priority_key,
)

__all__ = [
    "OUTRANKING_LISTED",
    "Candidate",
    "CompiledLender",
    "Explanation",
    "OrgMatcher",
    "explain_by_scan",
    "explain_keys",
    "usable",
]

_DIALED: Final = frozenset(automaton.DIALED)
# A dry run lists at most this many of the patterns that outrank the winner.
OUTRANKING_LISTED: Final = 50


class CompiledLender(Protocol):
    """A matcher whose compiled patterns a new matcher may reuse."""

    @property
    def compiled_by_text(self) -> Mapping[str, CompiledPattern]: ...


@dataclass(frozen=True, slots=True)
class Candidate:
    """A pattern the engine considered for a spelling, and what deciding it gave."""

    entry: PatternEntry
    spelling: str
    outcome: MatchOutcome
    decided_by: str  # automaton | regex


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why the pattern stage answered what it did, small whatever the set holds."""

    patterns: int  # usable patterns of the organization
    candidates: tuple[Candidate, ...]  # in the order they were decided
    winner: MatchResult | None
    outranking: int  # patterns ranked above the winner (all of them when none won)
    outranking_listed: tuple[PatternEntry, ...]  # the first of those, in priority order


@dataclass(frozen=True, slots=True)
class _Segment:
    """One compiled database and, for each of its expression ids, the rank it stands
    for in the matcher (None once the pattern is gone)."""

    database: Any  # hyperscan.Database; the bindings' type is not generic
    ranks: tuple[int | None, ...]
    entries: tuple[PatternEntry, ...]  # by expression id: what the ranks were mapped from


def _on_match(expression: int, _start: int, end: int, _flags: int, hits: list[Any]) -> None:
    hits.append((expression, end))


class OrgMatcher:
    """One organization's patterns, answering which pattern wins (SPEC 3.3).

    Entries that are not patterns (`is_pattern`) are ignored; ones that do not compile
    are logged ("pattern_invalid") and listed in `invalid`. `previous` lends its
    compiled `regex` patterns, so a rebuild compiles only the automaton.
    """

    def __init__(
        self,
        entries: Iterable[PatternEntry],
        *,
        timeout_s: float = DEFAULT_MATCH_TIMEOUT_S,
        previous: CompiledLender | None = None,
    ) -> None:
        self.timeout_s = timeout_s
        known = previous.compiled_by_text if previous else {}
        ordered, self.invalid = usable(entries, known)
        self._set_order(ordered)
        segment, decides = _compile_segment(self._entries, self._compiled, range(len(ordered)))
        self._segments: tuple[_Segment, ...] = (segment,) if segment.database else ()
        self._decide(decides)

    def _set_order(self, ordered: list[tuple[PatternEntry, CompiledPattern]]) -> None:
        self._entries = tuple(entry for entry, _ in ordered)
        self._compiled = tuple(compiled for _, compiled in ordered)
        self._by_text: dict[str, CompiledPattern] = {c.text: c for c in self._compiled}
        self._rank_by_entry = {entry: rank for rank, entry in enumerate(self._entries)}
        # Bound fullmatch of the patterns that need no time limit, None for the others.
        self._untimed = tuple(c.compiled.fullmatch if c.bounded else None for c in self._compiled)

    def _decide(self, decides: dict[int, bool]) -> None:
        """`decides`: rank -> whether the automaton's word is final; ranks absent from it
        have no expression and are tried with `regex` on every lookup."""
        self._final = tuple(decides.get(rank, False) for rank in range(len(self._entries)))
        self._regex_only = tuple(rank for rank in range(len(self._entries)) if rank not in decides)
        self._decides = decides

    def __len__(self) -> int:
        """The number of usable patterns."""
        return len(self._entries)

    @property
    def compiled_by_text(self) -> Mapping[str, CompiledPattern]:
        """Compiled `regex` patterns by text, for the matcher that replaces this one."""
        return self._by_text

    @property
    def ordered(self) -> tuple[tuple[PatternEntry, CompiledPattern], ...]:
        """The usable patterns in priority order, with their compiled `regex`."""
        return tuple(zip(self._entries, self._compiled, strict=True))

    @property
    def delta_size(self) -> int:
        """Patterns added since the big database was compiled (0 right after a build)."""
        return sum(len(s.ranks) for s in self._segments[1:])

    def updated(self, entries: Iterable[PatternEntry]) -> OrgMatcher:
        """A matcher of `entries` that keeps this one's databases: removed patterns are
        masked, added ones compiled into a delta database (milliseconds for a few)."""
        new = object.__new__(OrgMatcher)
        new.timeout_s = self.timeout_s
        ordered, new.invalid = usable(entries, self._by_text)
        new._set_order(ordered)
        segments: list[_Segment] = []
        decides: dict[int, bool] = {}
        for segment in self._segments:
            ranks = tuple(
                None if old is None else new._rank_by_entry.get(entry)
                for old, entry in zip(segment.ranks, segment.entries, strict=True)
            )
            segments.append(_Segment(segment.database, ranks, segment.entries))
            for old, rank in zip(segment.ranks, ranks, strict=True):
                if old is not None and rank is not None:
                    decides[rank] = self._decides[old]
        covered = {rank for segment in segments for rank in segment.ranks if rank is not None}
        # Patterns only `regex` can decide stay so, without another compile attempt.
        for old in self._regex_only:
            rank = new._rank_by_entry.get(self._entries[old])
            if rank is not None:
                covered.add(rank)
        added = [rank for rank in range(len(ordered)) if rank not in covered]
        if added:
            delta, delta_decides = _compile_segment(new._entries, new._compiled, added)
            if delta.database is not None:
                segments.append(delta)
            decides.update(delta_decides)
        new._segments = tuple(s for s in segments if any(r is not None for r in s.ranks))
        new._decide(decides)
        return new

    def match(self, spellings: Sequence[str]) -> MatchResult | None:
        """Return the first pattern in priority order that matches any spelling, or None.

        For the winning pattern, the first spelling (in the given order) it matches.
        """
        keys = self._candidate_keys(spellings)
        if keys is None:
            return self._naive(spellings)
        count = len(spellings)
        for key in keys:
            rank, position = divmod(key, count)
            spelling = spellings[position]
            if self._final[rank] or self._confirm(rank, spelling):
                return MatchResult(self._entries[rank], spelling)
        return None

    def _candidate_keys(self, spellings: Sequence[str]) -> list[int] | None:
        """Sorted rank * len(spellings) + position of every (pattern, spelling) the
        automaton proposes or that only `regex` can decide; None when a spelling holds
        characters no dialed string has (the automaton only knows dialed ones)."""
        where: dict[int, int] = {}  # end offset of a framed spelling -> its position
        end = 0
        for position, spelling in enumerate(spellings):
            if not _DIALED.issuperset(spelling):
                return None
            end += len(spelling) + 2
            where[end] = position
        buffer = "".join(f"\x02{s}\x03" for s in spellings).encode()
        count = len(spellings)
        keys: list[int] = []
        for segment in self._segments:
            hits: list[tuple[int, int]] = []
            segment.database.scan(buffer, match_event_handler=_on_match, context=hits)
            ranks = segment.ranks
            for expression, end in hits:
                rank = ranks[expression]
                if rank is not None:
                    keys.append(rank * count + where[end])
        for rank in self._regex_only:
            keys.extend(rank * count + position for position in range(count))
        keys.sort()
        return keys

    def _confirm(self, rank: int, spelling: str) -> bool:
        untimed = self._untimed[rank]
        if untimed is not None and len(spelling) <= UNTIMED_MAX_SPELLING:
            return untimed(spelling) is not None
        return self._compiled[rank].matches(spelling, self.timeout_s)

    def _naive(self, spellings: Sequence[str]) -> MatchResult | None:
        for entry, compiled in zip(self._entries, self._compiled, strict=True):
            for spelling in spellings:
                if compiled.matches(spelling, self.timeout_s):
                    return MatchResult(entry, spelling)
        return None

    def explain(self, spellings: Sequence[str], *, listed: int = OUTRANKING_LISTED) -> Explanation:
        """What the engine considered for these spellings, the winner, and the first
        `listed` patterns that outrank it (none of them matched)."""
        keys = self._candidate_keys(spellings)
        if keys is None:  # no automaton for such spellings: regex decides each, in order
            return explain_by_scan(self.ordered, spellings, timeout_s=self.timeout_s, listed=listed)
        return explain_keys(
            self.ordered, spellings, keys, self._final, timeout_s=self.timeout_s, listed=listed
        )

    def trace(self, spellings: Sequence[str], *, limit: int) -> tuple[tuple[TraceStep, ...], bool]:
        """The naive scan's attempts in order, up to the winner, at most `limit`."""
        return naive_steps(self.ordered, spellings, limit=limit, timeout_s=self.timeout_s)


def explain_by_scan(
    ordered: Sequence[tuple[PatternEntry, CompiledPattern]],
    spellings: Sequence[str],
    *,
    timeout_s: float,
    listed: int = OUTRANKING_LISTED,
) -> Explanation:
    """The explanation of the naive scan: every pattern is a candidate `regex` decides."""
    count = len(spellings)
    keys = range(len(ordered) * count)
    return explain_keys(ordered, spellings, keys, None, timeout_s=timeout_s, listed=listed)


def explain_keys(
    ordered: Sequence[tuple[PatternEntry, CompiledPattern]],
    spellings: Sequence[str],
    keys: Iterable[int],
    final: Sequence[bool] | None,
    *,
    timeout_s: float,
    listed: int,
) -> Explanation:
    """Decide the candidates (rank * len(spellings) + position, in order) until one
    matches: `final[rank]` says the engine's proposal is the answer, else `regex`
    decides. The first `listed` candidates and outranking patterns are kept."""
    count = len(spellings)
    candidates: list[Candidate] = []
    winner: MatchResult | None = None
    for key in keys:
        rank, position = divmod(key, count)
        spelling = spellings[position]
        entry, compiled = ordered[rank]
        if final is not None and final[rank]:
            outcome, by = MatchOutcome.MATCH, "automaton"
        else:
            outcome, by = compiled.attempt(spelling, timeout_s), "regex"
        if len(candidates) < listed:
            candidates.append(Candidate(entry, spelling, outcome, by))
        if outcome is MatchOutcome.MATCH:
            winner = MatchResult(entry, spelling)
            break
    above = rank if winner else len(ordered)
    return Explanation(
        patterns=len(ordered),
        candidates=tuple(candidates),
        winner=winner,
        outranking=above,
        outranking_listed=tuple(entry for entry, _ in ordered[: min(above, listed)]),
    )


def usable(
    entries: Iterable[PatternEntry], known: Mapping[str, CompiledPattern]
) -> tuple[list[tuple[PatternEntry, CompiledPattern]], tuple[PatternEntry, ...]]:
    """The entries that are patterns and compile, in priority order, and those that do not
    compile (logged)."""
    ordered: list[tuple[PatternEntry, CompiledPattern]] = []
    invalid: list[PatternEntry] = []
    for entry in sorted((e for e in entries if is_pattern(e.pattern)), key=priority_key):
        compiled = known.get(entry.pattern) or compile_entry(entry)
        if compiled is None:
            invalid.append(entry)
        else:
            ordered.append((entry, compiled))
    return ordered, tuple(invalid)


def _compile_segment(
    entries: Sequence[PatternEntry], compiled: Sequence[CompiledPattern], ranks: Iterable[int]
) -> tuple[_Segment, dict[int, bool]]:
    """Compile the patterns of these ranks into one database; return it with, for each
    rank it holds, whether its expression is exact."""
    chosen: list[int] = []
    rewrites: list[automaton.Rewrite] = []
    for rank in ranks:
        rewrite = automaton.rewrite(compiled[rank].translated)
        if rewrite is not None:
            chosen.append(rank)
            rewrites.append(rewrite)
    database, refused = automaton.compile_database([r.expression for r in rewrites])
    segment = _Segment(
        database,
        tuple(None if i in refused else rank for i, rank in enumerate(chosen)),
        tuple(entries[rank] for rank in chosen),
    )
    decides = {rank: rewrites[i].exact for i, rank in enumerate(chosen) if i not in refused}
    return segment, decides
