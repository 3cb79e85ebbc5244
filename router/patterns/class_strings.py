"""Patterns of bounded shape as bit-parallel tables of class strings (SPEC 3.3).

Most dial-plan patterns match spellings of a few lengths only, and at each length a
few fixed sequences of character classes: `1?(415|650)[2-9]\\d{6}` is four *class
strings*, two of length 10 and two of length 11. A pattern whose tree (router.patterns
.tree) is exact and expands into few class strings per length, up to MAX_LENGTH, goes
into a table per spelling length instead of the hyperscan database.

A length's table gives every class string one bit, in the priority order of their
patterns, and holds for each position and dialed character the int whose bits are the
strings whose class at that position holds the character. The strings a spelling
matches are the AND of one int per character of it: a dozen big-int operations in C,
whatever the patterns look like, and the highest bit left is the best pattern. Patterns
that expand into many strings (`\\d{1,20}555\\d{1,20}`) stay with hyperscan, and a budget
per length keeps the tables from growing faster than the pattern count.

Spellings longer than MAX_LENGTH have no table: the patterns that can match them
(`longer`) are kept in a hyperscan database for those spellings. Pure.
"""

from __future__ import annotations

import functools
import operator
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal, overload

from router.patterns.dialect import DIALED
from router.patterns.tree import Branches, Node

__all__ = ["MAX_LENGTH", "UNDECIDED", "Expansion", "LengthTables", "Undecided", "expand", "fit"]

# The longest spelling a table answers for: E.164 numbers, international prefixes and
# star codes are shorter.
MAX_LENGTH: Final = 24
# More class strings than this at one length and a pattern stays with hyperscan.
_PER_LENGTH: Final = 16
# An expansion gives up past this many strings of one length at any step.
_WORKING: Final = 128
# Strings a length's table may hold: this many per pattern of the organization.
_BUDGET_PER_PATTERN: Final = 4
_BUDGET_FLOOR: Final = 4096

# One character per position whose code is the class as a mask: bit i stands for
# DIALED[i]. (A str: compact, and hashing and slicing it are fast.)
ClassString = str
_Language = dict[int, set[ClassString]]  # by length


class _TooMany(Exception):
    """The expansion outgrows what a table should hold for one pattern."""


@dataclass(frozen=True, slots=True)
class Expansion:
    """A pattern's class strings by length (up to MAX_LENGTH), and whether it can also
    match longer spellings."""

    by_length: dict[int, tuple[ClassString, ...]]
    longer: bool


def expand(branches: Branches) -> Expansion | None:
    """The class strings of an exact tree (anchors in it always hold, so they are
    skipped), or None when it expands into too many."""
    try:
        language = {length: _merged(s) for length, s in _alternatives(branches).items()}
    except _TooMany:
        return None
    if any(len(strings) > _PER_LENGTH for strings in language.values()):
        return None
    by_length = {length: tuple(sorted(strings)) for length, strings in sorted(language.items())}
    longest = _longest_alternatives(branches)
    return Expansion(by_length, longer=longest is None or longest > MAX_LENGTH)


def fit(expansions: Sequence[Expansion | None], patterns: int) -> list[bool]:
    """Which expansions the tables take: at each length, at most the budget of strings
    for `patterns` patterns; past it, the patterns with the most strings there are
    left out (they stay with hyperscan)."""
    budget = max(_BUDGET_FLOOR, _BUDGET_PER_PATTERN * patterns)
    taken = [expansion is not None for expansion in expansions]
    totals: Counter[int] = Counter()
    for expansion in expansions:
        if expansion is not None:
            totals.update({length: len(s) for length, s in expansion.by_length.items()})
    for length in sorted(length for length, total in totals.items() if total > budget):
        holders = sorted(
            (
                (-len(expansion.by_length[length]), index)
                for index, expansion in enumerate(expansions)
                if expansion is not None and taken[index] and length in expansion.by_length
            ),
        )
        for _, index in holders:
            if totals[length] <= budget:
                break
            taken[index] = False
            removed = expansions[index]
            assert removed is not None
            totals.subtract({k: len(s) for k, s in removed.by_length.items()})
    return taken


class LengthTables:
    """The tables of some patterns' class strings, one per spelling length, answering
    which of those patterns matches a spelling first in priority order."""

    def __init__(self, expansions: Iterable[tuple[int, Expansion]]) -> None:
        """`expansions`: (id, expansion) in priority order of the ids."""
        strings: dict[int, list[tuple[int, ClassString]]] = {}
        for pattern_id, expansion in expansions:
            for length, class_strings in expansion.by_length.items():
                strings.setdefault(length, []).extend((pattern_id, s) for s in class_strings)
        # length -> (per position: character -> bits), all bits, bit -> pattern id. The
        # first string in priority order has the highest bit: the best match is then
        # found.bit_length() - 1, without another operation on a long int.
        self._tables: dict[int, tuple[list[dict[str, int]], int, tuple[int, ...]]] = {
            length: (_columns(held), (1 << len(held)) - 1, tuple(i for i, _ in reversed(held)))
            for length, held in strings.items()
        }

    @property
    def strings(self) -> int:
        """Class strings held, over every length."""
        return sum(len(ids) for _, _, ids in self._tables.values())

    def ids(self) -> set[int]:
        """The ids of the patterns with a string not masked out."""
        return {
            ids[bit]
            for _, alive, ids in self._tables.values()
            for bit in range(len(ids))
            if alive >> bit & 1
        }

    @overload
    def first(
        self, spellings: Sequence[str], *, strict: Literal[False] = False
    ) -> tuple[int, int] | None: ...
    @overload
    def first(
        self, spellings: Sequence[str], *, strict: Literal[True]
    ) -> tuple[int, int] | Undecided | None: ...
    def first(
        self, spellings: Sequence[str], *, strict: bool = False
    ) -> tuple[int, int] | Undecided | None:
        """(id, position) of the best pattern matching any spelling (lowest id; of its
        spellings the first), or None. Spellings of a length no table holds are skipped;
        `strict`: UNDECIDED instead when such a spelling is longer than MAX_LENGTH, or
        when any spelling holds a character no dialed string has (what a pattern does
        with those is not in the tables). The checks cost nothing on the common path: a
        table's columns raise KeyError for such a character."""
        tables = self._tables
        best: tuple[int, int] | None = None
        for position, spelling in enumerate(spellings):
            table = tables.get(len(spelling))
            if table is None:
                if strict and (len(spelling) > MAX_LENGTH or not _DIALED.issuperset(spelling)):
                    return UNDECIDED
                continue
            columns, alive, ids = table
            try:
                found: int = functools.reduce(operator.and_, map(_get, columns, spelling), alive)
            except KeyError:
                if strict:
                    return UNDECIDED
                raise
            if found:
                pattern_id = ids[found.bit_length() - 1]
                if best is None or pattern_id < best[0]:
                    best = (pattern_id, position)
        return best

    def without(self, removed: Iterable[int]) -> LengthTables:
        """These tables with the strings of the `removed` ids masked out (shared, not
        copied: a pattern write costs one int per length)."""
        gone = frozenset(removed)
        new = object.__new__(LengthTables)
        new._tables = {}
        for length, (columns, alive, ids) in self._tables.items():
            mask = alive
            for bit, pattern_id in enumerate(ids):
                if pattern_id in gone:
                    mask &= ~(1 << bit)
            new._tables[length] = (columns, mask, ids)
        return new


class Undecided:
    """What LengthTables.first answers when the tables cannot decide (see there)."""


UNDECIDED: Final = Undecided()
_DIALED: Final = frozenset(DIALED)
_get: Final = dict.__getitem__


def _columns(held: Sequence[tuple[int, ClassString]]) -> list[dict[str, int]]:
    """For each position, each dialed character's bits: the strings whose class there
    holds it. A position's classes read as one text, one character per string; for each
    dialed character it is translated to a binary numeral ('1' where the class holds
    the character; the first string is the highest digit), so the work per string is
    done in C."""
    columns: list[dict[str, int]] = []
    for column in zip(*(string for _, string in held), strict=True):
        text = "".join(column)
        classes = set(text)
        columns.append(
            {
                char: int(
                    text.translate({ord(c): "01"[ord(c) >> index & 1] for c in classes}),
                    2,
                )
                for index, char in enumerate(DIALED)
            }
        )
    return columns


def _mask(members: str) -> int:
    return functools.reduce(operator.or_, (1 << DIALED.index(char) for char in members), 0)


_EMPTY: Final[_Language] = {0: {""}}


def _alternatives(branches: Branches) -> _Language:
    language: _Language = {}
    for branch in branches:
        _union_into(language, _sequence(branch), merge=len(branches) > 1)
    return language


def _sequence(nodes: list[Node]) -> _Language:
    language = _EMPTY
    for node in nodes:
        if node.alternatives is not None:
            piece = _alternatives(node.alternatives)
        elif node.members is not None:
            mask = _mask(node.members)
            piece = {1: {chr(mask)}} if mask else {}
        else:
            continue  # an anchor (the tree is exact: it always holds)
        if (node.low, node.high) != (1, 1):
            piece = _power(piece, node.low, node.high)
        language = _concat(language, piece)
        if not language:
            return {}
    return language


def _power(piece: _Language, low: int, high: int | None) -> _Language:
    """`piece` repeated `low` to `high` times, up to MAX_LENGTH characters."""
    if len(piece) == 1 and len(piece.get(1, ())) == 1:  # one class: `\d{7}`, `.*`
        (atom,) = piece[1]
        most = MAX_LENGTH if high is None else min(high, MAX_LENGTH)
        return {count: {atom * count} for count in range(low, most + 1)}
    if 0 in piece:
        # With the empty string in it, a string of n <= MAX_LENGTH characters needs at
        # most n repeats: more adds nothing.
        low = min(low, MAX_LENGTH + 1)
        high = MAX_LENGTH + 1 if high is None else min(high, MAX_LENGTH + 1)
    result: _Language = {}
    current = _EMPTY
    count = 0
    while True:
        if count >= low:
            _union_into(result, current)
        if count == high:
            break
        current = _concat(current, piece)
        count += 1
        if not current:  # every repeat more is longer than MAX_LENGTH
            break
    return result


def _concat(left: _Language, right: _Language) -> _Language:
    """Every left string followed by every right one. Strings from one split of a
    length cannot be joined (neither side's could), so only lengths reached by several
    splits are merged."""
    out: _Language = {}
    splits: Counter[int] = Counter()
    for left_length, left_strings in left.items():
        for right_length, right_strings in right.items():
            length = left_length + right_length
            if length > MAX_LENGTH:
                continue
            if len(left_strings) * len(right_strings) > _WORKING:
                raise _TooMany
            strings = out.setdefault(length, set())
            strings.update(a + b for a in left_strings for b in right_strings)
            splits[length] += 1
    for length, count in splits.items():
        if count > 1:
            out[length] = _merged(out[length])
    return out


def _union_into(language: _Language, more: _Language, *, merge: bool = False) -> None:
    """Add `more`'s strings; `merge` joins what differs at one position (worth it for
    alternatives, where `(1|2)` is common; not for the repeat counts of `_power`)."""
    for length, strings in more.items():
        held = language.get(length)
        if held is None:
            language[length] = set(strings)
            continue
        held.update(strings)
        if merge:
            language[length] = held = _merged(held)
        if len(held) > _WORKING:
            raise _TooMany


def _merged(strings: set[ClassString]) -> set[ClassString]:
    """The same strings with those that differ at one position only made one (their
    classes joined there): `(1|2)3` is one class string, not two."""
    if len(strings) < 2:
        return strings
    length = len(next(iter(strings)))
    changed = True
    while changed:
        changed = False
        for position in range(length):
            joined: dict[ClassString, int] = {}
            for string in strings:
                rest = string[:position] + string[position + 1 :]
                joined[rest] = joined.get(rest, 0) | ord(string[position])
            if len(joined) < len(strings):
                strings = {
                    rest[:position] + chr(mask) + rest[position:] for rest, mask in joined.items()
                }
                changed = True
    return strings


def _longest_alternatives(branches: Branches) -> int | None:
    """The most characters the tree can match; None when unbounded."""
    longest = 0
    for branch in branches:
        total = 0
        for node in branch:
            if node.alternatives is not None:
                inner = _longest_alternatives(node.alternatives)
            elif node.members is not None:
                inner = 1
            else:
                continue
            if inner is None or (node.high is None and inner > 0):
                return None
            total += inner * (node.high if node.high is not None else 0)
        longest = max(longest, total)
    return longest
