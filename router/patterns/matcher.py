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

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import hyperscan

from router.patterns import automaton, class_strings
from router.patterns.class_strings import MAX_LENGTH, LengthTables, Undecided
from router.patterns.dialect import (
    DEFAULT_MATCH_TIMEOUT_S,
    DIALED,
    CompiledPattern,
    MatchOutcome,
    MatchResult,
    PatternEntry,
)
from router.patterns.ordered import CompiledLender, OrderedPatterns, usable
from router.patterns.tree import parse

__all__ = [
    "OUTRANKING_LISTED",
    "Candidate",
    "Composition",
    "Explanation",
    "OrgMatcher",
    "explain_by_scan",
    "explain_keys",
]

_DIALED: Final = frozenset(DIALED)
# A dry run lists at most this many of the patterns that outrank the winner.
OUTRANKING_LISTED: Final = 50
# Past this many patterns in tables, the memory their expansion used is worth handing back.
_LARGE_BUILD: Final = 256


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
class Composition:
    """Which engine holds how many of a matcher's patterns (benchmarks, dry runs)."""

    tables: int  # patterns in the class-string tables
    class_strings: int  # the strings they hold, over every length
    automaton: int  # patterns in hyperscan databases only
    regex_only: int  # patterns `regex` alone decides
    database_bytes: int  # serialized size of the hyperscan databases


@dataclass(frozen=True, slots=True)
class _Segment:
    """Patterns compiled together, their ids running from `first_id`, and for each the
    rank it stands for in the matcher (None once the pattern is gone, or refused).

    The tables hold the patterns of bounded shape (class_strings); `database` the other
    expressions; `long_database` the table patterns that can match spellings longer
    than the tables answer for, scanned only for such spellings.
    """

    tables: LengthTables | None
    database: Any  # hyperscan.Database (None when nothing compiled); untyped bindings
    long_database: Any
    first_id: int
    ranks: tuple[int | None, ...]
    entries: tuple[PatternEntry, ...]  # by id - first_id: what the ranks were mapped from


def _on_match(expression: int, _start: int, end: int, _flags: int, hits: list[Any]) -> None:
    hits.append((expression, end))


class OrgMatcher(OrderedPatterns):
    """One organization's patterns behind the automaton, answering which pattern wins
    (SPEC 3.3); see OrderedPatterns for what it keeps of the entries."""

    def __init__(
        self,
        entries: Iterable[PatternEntry],
        *,
        timeout_s: float = DEFAULT_MATCH_TIMEOUT_S,
        previous: CompiledLender | None = None,
    ) -> None:
        super().__init__(entries, timeout_s=timeout_s, previous=previous)
        ranks = range(len(self._entries))
        segment, decides = _compile_segment(self._entries, self._compiled, ranks, 0, tables=True)
        self._set_segments((segment,))
        self._decide(decides)

    def _set_segments(self, segments: Sequence[_Segment]) -> None:
        """Segments in id order; ids are contiguous across them, so one tuple maps any
        reported id to its rank."""
        self._segments = tuple(segments)
        self._rank_of = tuple(rank for s in segments for rank in s.ranks)
        self._tables = tuple(
            s.tables for s in segments if s.tables is not None and s.tables.strings
        )
        self._scanned = tuple(s.database for s in segments if s.database is not None)
        self._scanned_long = self._scanned + tuple(
            s.long_database for s in segments if s.long_database is not None
        )

    def _set_order(self, ordered: list[tuple[PatternEntry, CompiledPattern]]) -> None:
        super()._set_order(ordered)
        self._rank_by_entry = {entry: rank for rank, entry in enumerate(self._entries)}

    def _decide(self, decides: dict[int, bool]) -> None:
        """`decides`: rank -> whether the automaton's word is final; ranks absent from it
        have no expression and are tried with `regex` on every lookup."""
        self._final = tuple(decides.get(rank, False) for rank in range(len(self._entries)))
        self._regex_only = tuple(rank for rank in range(len(self._entries)) if rank not in decides)
        self._decides = decides
        # The common case: the automaton's word is final for every pattern.
        self._all_final = all(self._final)
        # When moreover one table set holds every pattern there is to scan for spellings
        # of up to MAX_LENGTH (its ids in priority order, as in the base segment), its
        # best answer is the matcher's.
        alone = self._all_final and len(self._tables) == 1 and not self._scanned
        self._fast = self._tables[0] if alone else None
        # Each id's entry, for the hot path (None for an id masked out by a removal).
        self._fast_entries = tuple(
            None if rank is None else self._entries[rank] for rank in self._rank_of
        )

    def composition(self) -> Composition:
        """How the patterns are held now."""
        tabled = {
            self._rank_of[i]
            for s in self._segments
            if s.tables is not None
            for i in s.tables.ids()
            if self._rank_of[i] is not None
        }
        databases = [
            d for s in self._segments for d in (s.database, s.long_database) if d is not None
        ]
        return Composition(
            tables=len(tabled),
            class_strings=sum(t.strings for t in self._tables),
            automaton=len(self._decides) - len(tabled),
            regex_only=len(self._regex_only),
            database_bytes=sum(len(hyperscan.dumpb(d)) for d in databases),
        )

    @property
    def runs_regex(self) -> bool:
        """False when the tables and the automaton decide every pattern (the hot path)."""
        return not self._all_final

    @property
    def delta_size(self) -> int:
        """Patterns added since the big database was compiled (0 right after a build)."""
        return sum(1 for s in self._segments[1:] for r in s.ranks if r is not None)

    def updated(self, entries: Iterable[PatternEntry]) -> OrgMatcher:
        """A matcher of `entries` that keeps this one's big database: removed patterns
        are masked, and every pattern it lacks is compiled into one delta database
        (milliseconds for a few; the resolver folds them into a new big one later)."""
        new = object.__new__(OrgMatcher)
        new.timeout_s = self.timeout_s
        ordered, new.invalid = usable(entries, self._by_text)
        new._set_order(ordered)
        base = self._segments[0]
        ranks = tuple(
            None if old is None else new._rank_by_entry.get(entry)
            for old, entry in zip(base.ranks, base.entries, strict=True)
        )
        gone = [base.first_id + i for i, rank in enumerate(ranks) if rank is None]
        tables = base.tables.without(gone) if base.tables is not None and gone else base.tables
        decides = {
            rank: self._decides[old]
            for old, rank in zip(base.ranks, ranks, strict=True)
            if old is not None and rank is not None
        }
        covered = set(decides)
        # Patterns only `regex` can decide stay so, without another compile attempt.
        for old in self._regex_only:
            rank = new._rank_by_entry.get(self._entries[old])
            if rank is not None:
                covered.add(rank)
        segments = [
            _Segment(tables, base.database, base.long_database, base.first_id, ranks, base.entries)
        ]
        added = [rank for rank in range(len(ordered)) if rank not in covered]
        if added:
            delta, delta_decides = _compile_segment(
                new._entries, new._compiled, added, len(ranks), tables=False
            )
            segments.append(delta)
            decides.update(delta_decides)
        new._set_segments(segments)
        new._decide(decides)
        return new

    def match(self, spellings: Sequence[str]) -> MatchResult | None:
        """Return the first pattern in priority order that matches any spelling, or None.

        For the winning pattern, the first spelling (in the given order) it matches.
        """
        tables = self._fast
        if tables is not None:  # the hot path: the tables decide every pattern, no scan
            found = tables.first(spellings, strict=True)
            if found is None:
                return None
            if not isinstance(found, Undecided):
                pattern_id, position = found
                return MatchResult(self._fast_entries[pattern_id], spellings[position])  # type: ignore[arg-type]
        keys = self._proposed(spellings)
        if keys is None:
            return self._naive(spellings)
        if self._all_final:  # the hot path: no pattern needs `regex`
            if not keys:
                return None
            rank, position = divmod(min(keys), len(spellings))
            return MatchResult(self._entries[rank], spellings[position])
        count = len(spellings)
        for key in self._with_regex_only(keys, count):
            rank, position = divmod(key, count)
            spelling = spellings[position]
            if self._final[rank] or self._confirm(rank, spelling):
                return MatchResult(self._entries[rank], spelling)
        return None

    def _proposed(self, spellings: Sequence[str]) -> list[int] | None:
        """rank * len(spellings) + position of every (pattern, spelling) the tables and
        the automaton report (of the tables, only their best), unsorted; None
        when a spelling holds characters no dialed string has (the engines only know
        dialed ones)."""
        if not _DIALED.issuperset("".join(spellings)):
            return None
        keys: list[int] = []
        count = len(spellings)
        for tables in self._tables:
            # Table answers are final: only the best of them can ever be reached.
            found = tables.first(spellings)
            if found is not None:
                pattern_id, position = found
                keys.append(self._rank_of[pattern_id] * count + position)  # type: ignore[operator]
        long = max(map(len, spellings), default=0) > MAX_LENGTH
        databases = self._scanned_long if long else self._scanned
        if databases:
            self._scan(databases, spellings, keys)
        return keys

    def _scan(self, databases: Sequence[Any], spellings: Sequence[str], keys: list[int]) -> None:
        buffer = automaton.frame(spellings)
        hits: list[tuple[int, int]] = []
        for database in databases:
            database.scan(buffer, match_event_handler=_on_match, context=hits)
        if not hits:
            return
        rank_of = self._rank_of
        count = len(spellings)
        if count == 1:
            keys.extend(rank for rank in (rank_of[i] for i, _ in hits) if rank is not None)
            return
        # A match ends right after its spelling's frame: the end offset tells which.
        ends = list(itertools.accumulate(len(s) + automaton.FRAMING for s in spellings))
        for expression, end in hits:
            rank = rank_of[expression]
            if rank is not None:
                keys.append(rank * count + ends.index(end))

    def _candidate_keys(self, spellings: Sequence[str]) -> list[int] | None:
        """The proposals and the patterns only `regex` can decide, in the naive order."""
        keys = self._proposed(spellings)
        return None if keys is None else self._with_regex_only(keys, len(spellings))

    def _with_regex_only(self, keys: list[int], count: int) -> list[int]:
        for rank in self._regex_only:
            keys.extend(rank * count + position for position in range(count))
        keys.sort()
        return keys

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


def _compile_segment(
    entries: Sequence[PatternEntry],
    compiled: Sequence[CompiledPattern],
    ranks: Iterable[int],
    first_id: int,
    *,
    tables: bool,
) -> tuple[_Segment, dict[int, bool]]:
    """Compile the patterns of these ranks into one segment (into tables where they fit,
    when `tables`); return it with, for each rank it holds, whether its word is exact."""
    chosen: list[int] = []
    rewrites: list[automaton.Rewrite] = []
    expansions: list[class_strings.Expansion | None] = []
    for rank in ranks:
        tree = parse(compiled[rank].translated)
        if tree is None:
            continue
        rewrite = automaton.rewrite_tree(tree)
        chosen.append(rank)
        rewrites.append(rewrite)
        expansions.append(class_strings.expand(tree) if tables and rewrite.exact else None)
    ids = [first_id + i for i in range(len(chosen))]
    taken = class_strings.fit(expansions, len(chosen))
    longer = [
        i for i, expansion in enumerate(expansions) if taken[i] and expansion and expansion.longer
    ]
    long_database, refused = _compile(rewrites, ids, longer)
    for i in refused:  # hyperscan refuses it wherever it goes: `regex` decides it
        taken[i] = False
    rest = [i for i in range(len(chosen)) if not taken[i] and i not in refused]
    database, refused_rest = _compile(rewrites, ids, rest)
    refused |= refused_rest
    held = [(ids[i], e) for i, e in enumerate(expansions) if taken[i] and e is not None]
    length_tables = LengthTables(held) if held else None
    if len(held) >= _LARGE_BUILD:
        del held, expansions
        automaton.return_freed_memory()  # what expanding them left behind
    segment = _Segment(
        length_tables,
        database,
        long_database,
        first_id,
        tuple(None if i in refused else rank for i, rank in enumerate(chosen)),
        tuple(entries[rank] for rank in chosen),
    )
    decides = {rank: rewrites[i].exact for i, rank in enumerate(chosen) if i not in refused}
    return segment, decides


def _compile(
    rewrites: Sequence[automaton.Rewrite], ids: Sequence[int], indexes: Sequence[int]
) -> tuple[Any, set[int]]:
    """The database of the rewrites at these indexes, and the indexes refused."""
    database, refused = automaton.compile_database(
        [rewrites[i] for i in indexes], [ids[i] for i in indexes]
    )
    return database, {indexes[j] for j in refused}
