"""A literal-prefix index over an organization's patterns: the matcher that answers
while the automaton of a new organization compiles (it builds in a fraction of the
time), and the baseline the automaton is measured against.

An index of the literal prefixes each pattern's matches must start with picks a few
candidates, confirmed with `regex` in priority order. Equal to `naive_match` (property
tests), but a pattern that starts with a class, a dot or a group narrows little, so on
such sets a lookup tries many patterns. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, Final

import regex

from router.patterns.dialect import (
    DEFAULT_MATCH_TIMEOUT_S,
    MatchResult,
    PatternEntry,
)
from router.patterns.matcher import OUTRANKING_LISTED, Explanation, explain_keys
from router.patterns.ordered import CompiledLender, OrderedPatterns
from router.patterns.syntax import LITERAL_ESCAPES, META, NON_ATOM_GROUP, branches, token_end

__all__ = ["PrefixIndexMatcher", "prefixes"]

# Global inline flags change how literals match or how the text parses.
_UNANALYSABLE_FLAGS: Final = regex.IGNORECASE | regex.VERBOSE | regex.V1
# Bounds the class expansion: past it a pattern is indexed by a shorter prefix.
_PREFIX_CAP: Final = 64


def prefixes(translated: str, flags: int) -> frozenset[str]:
    """Literal prefixes, one of which starts every match; `{""}` when unknown."""
    if flags & _UNANALYSABLE_FLAGS:
        return frozenset({""})
    found: set[str] = set()
    for branch in branches(translated):
        found.update(_branch_prefixes(branch))
    if len(found) > _PREFIX_CAP:
        return frozenset({""})
    # Keeping only the shortest of nested prefixes means at most one of a pattern's
    # prefixes starts any given spelling, so no pattern is tried twice on it.
    kept: list[str] = []
    for prefix in sorted(found, key=len):
        if not any(prefix.startswith(shorter) for shorter in kept):
            kept.append(prefix)
    return frozenset(kept)


def _branch_prefixes(branch: str) -> list[str]:
    """Expand the leading atoms (single characters, or plain groups) that every match
    must take once."""
    return _leading_prefixes(branch)[0]


def _leading_prefixes(branch: str) -> tuple[list[str], bool]:
    """The prefixes and whether they span the whole branch (a group whose inner
    branches all do lets the analysis go on after it)."""
    i = len(branch) - len(branch.lstrip("^"))  # anchors are redundant under fullmatch
    prefixes = [""]
    while i < len(branch):
        if branch[i] == "$" and i == len(branch) - 1:
            return prefixes, True
        end = token_end(branch, i)
        # A repeat that may take the atom zero times ends the prefix before it; any
        # other repeat ends it right after (the repeat token itself is no atom).
        if branch[i] == "(":
            close = _group_close(branch, i)
            if close is None or branch[close + 1 : close + 2] in ("*", "?", "{"):
                return prefixes, False
            inner, spans = _group_prefixes(branch[end:close]) if end < close else (None, False)
            if inner is None or len(prefixes) * len(inner) > _PREFIX_CAP:
                return prefixes, False
            prefixes = [prefix + more for prefix in prefixes for more in inner]
            if not spans:
                return prefixes, False
            i = close + 1
            continue
        chars = _atom_chars(branch[i:end])
        optional = branch[end : end + 1] in ("*", "?", "{")
        if chars is None or optional or len(prefixes) * len(chars) > _PREFIX_CAP:
            return prefixes, False
        prefixes = [prefix + char for prefix in prefixes for char in chars]
        i = end
    return prefixes, True


def _group_close(text: str, i: int) -> int | None:
    """Index of the `)` closing the plain or non-capturing group opening at `i`; None for
    other groups (lookarounds, atomic, flags), whose text matches no plain prefix."""
    header = text[i : token_end(text, i)]
    if header not in ("(", "(?:") and not re.fullmatch(r"\(\?P?<\w+>", header):
        return None
    depth, j = 0, i
    while j < len(text):
        end = token_end(text, j)
        token = text[j:end]
        if token[0] == "(" and not NON_ATOM_GROUP.fullmatch(token):
            depth += 1
        elif token == ")":
            depth -= 1
            if depth == 0:
                return j
        j = end
    return None


def _group_prefixes(inner: str) -> tuple[list[str] | None, bool]:
    """The union of a group's branch prefixes, and whether every branch was spanned;
    None when one branch starts with nothing literal (the group then gives no prefix)."""
    found: list[str] = []
    spans = True
    for branch in branches(inner):
        prefixes, whole = _leading_prefixes(branch)
        if prefixes == [""] and not whole:
            return None, False
        found.extend(prefixes)
        spans = spans and whole
    return sorted(set(found)), spans


def _atom_chars(token: str) -> str | None:
    """The characters a one-character atom can match, or None if not that simple."""
    if len(token) == 1:
        return None if token in META else token
    if token[0] == "\\":
        return token[1] if token[1] in LITERAL_ESCAPES else None
    if token[0] == "[" and token.endswith("]"):
        return _class_chars(token[1:-1])
    return None


def _class_chars(body: str) -> str | None:
    """Members of a small, plain, non-negated class body; None otherwise."""
    if not body or body[0] == "^":
        return None
    members: set[str] = set()
    j = 0
    while j < len(body):
        first, j = _class_member(body, j)
        if first is None:
            return None
        if body.startswith("-", j) and j + 1 < len(body):
            last, j = _class_member(body, j + 1)
            if last is None or not 0 <= ord(last) - ord(first) < _PREFIX_CAP:
                return None
            members.update(chr(code) for code in range(ord(first), ord(last) + 1))
        else:
            members.add(first)
    return "".join(sorted(members))


def _class_member(body: str, j: int) -> tuple[str | None, int]:
    if body[j] == "\\":
        escaped = body[j + 1 : j + 2]
        return (escaped, j + 2) if escaped and escaped in LITERAL_ESCAPES else (None, j)
    if body[j] == "[":  # a POSIX class such as [:digit:]
        return None, j
    return body[j], j + 1


# A frozen trie node: children by character, and the priority indexes (ascending)
# of the patterns one of whose prefixes ends here. Tuples unpack faster than
# attribute reads on the hot path.
_Trie = tuple[dict[str, "_Trie"], tuple[int, ...]]


def _build_trie(prefixed: Iterable[tuple[str, int]]) -> _Trie:
    """Freeze (prefix, priority index) pairs, given by ascending index, into a trie."""
    root: dict[str, Any] = {}
    for prefix, index in prefixed:
        node = root
        for char in prefix:
            node = node.setdefault(char, {})
        node.setdefault("", []).append(index)  # "" never clashes with a 1-char key
    return _freeze(root)


def _freeze(node: dict[str, Any]) -> _Trie:
    children = {char: _freeze(child) for char, child in node.items() if char}
    return children, tuple(node.get("", ()))


class PrefixIndexMatcher(OrderedPatterns):
    """One organization's patterns behind the prefix index, answering which pattern wins
    (SPEC 3.3); see OrderedPatterns for what it keeps of the entries."""

    def __init__(
        self,
        entries: Iterable[PatternEntry],
        *,
        timeout_s: float = DEFAULT_MATCH_TIMEOUT_S,
        previous: CompiledLender | None = None,
    ) -> None:
        super().__init__(entries, timeout_s=timeout_s, previous=previous)
        self._trie = _build_trie(
            (prefix, index)
            for index, compiled in enumerate(self._compiled)
            for prefix in prefixes(compiled.translated, compiled.compiled.flags)
        )

    def updated(self, entries: Iterable[PatternEntry]) -> PrefixIndexMatcher:
        """A matcher of `entries`, compiling only the pattern texts this one lacks."""
        return PrefixIndexMatcher(entries, timeout_s=self.timeout_s, previous=self)

    def explain(self, spellings: Sequence[str], *, listed: int = OUTRANKING_LISTED) -> Explanation:
        """What the index proposed for these spellings (decided by `regex`), the winner,
        and the first `listed` patterns that outrank it."""
        keys = self._candidate_keys(spellings)
        return explain_keys(
            self.ordered, spellings, keys, None, timeout_s=self.timeout_s, listed=listed
        )

    def match(self, spellings: Sequence[str]) -> MatchResult | None:
        """Return the first pattern in priority order that matches any spelling, or None.

        For the winning pattern, the first spelling (in the given order) it matches.
        """
        count = len(spellings)
        for key in self._candidate_keys(spellings):
            index, position = divmod(key, count)
            if self._confirm(index, spellings[position]):
                return MatchResult(self._entries[index], spellings[position])
        return None

    def _candidate_keys(self, spellings: Sequence[str]) -> list[int]:
        """One int per (pattern, spelling) candidate, index * len(spellings) + position:
        sorted, they follow the naive order."""
        count = len(spellings)
        candidates: list[int] = []
        for position, spelling in enumerate(spellings):
            children, hits = self._trie
            if hits:
                candidates.extend(index * count + position for index in hits)
            for char in spelling:
                child = children.get(char)
                if child is None:
                    break
                children, hits = child
                if hits:  # rare: most nodes only lead deeper
                    candidates.extend(index * count + position for index in hits)
        candidates.sort()
        return candidates
