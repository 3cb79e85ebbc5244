"""Dialect patterns parsed into pieces over the dialed alphabet.

The pattern stage only ever matches spellings made of `0-9 * # +` (SPEC 3.3), so a
pattern needs the same meaning as `regex` gives it on those strings alone. Every
one-character atom (a literal, `.`, an escape such as `\\d`, a class) becomes the
explicit set of dialed characters that `regex` itself says it matches, so no engine
that runs the parsed form can read a class, a dot or an escape differently from the
definition; what remains is structure every engine reads alike (groups, alternation,
greedy or lazy repeats, leading and trailing anchors).

A piece is `widened` when running it plainly matches more than the pattern does
(assertions dropped, atomic groups and possessive repeats made plain). Constructs
whose meaning the parser does not know (backreferences, recursion, conditionals,
inline flags, fuzzy matching, unknown escapes) give no tree: such a pattern is tried
with `regex` alone. Pure.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Final

import regex

from router.patterns.dialect import DIALED
from router.patterns.syntax import COUNTED_REPEAT, LITERAL_ESCAPES, NON_ATOM_GROUP, token_end

__all__ = ["Branches", "Node", "parse"]

_CLASS_ESCAPES: Final = frozenset("dDwWsS")
_ZERO_WIDTH_ESCAPES: Final = frozenset("bB")
_START_ANCHORS: Final = frozenset({"^", "\\A"})
_END_ANCHORS: Final = frozenset({"$", "\\Z"})
# Group headers the parser knows: plain and named groups keep their meaning as a
# non-capturing group; atomic and branch-reset groups match a subset of it.
_PLAIN_GROUPS: Final = frozenset({"(", "(?:"})
_WIDENED_GROUPS: Final = frozenset({"(?>", "(?|"})
_LOOKAROUNDS: Final = frozenset({"(?=", "(?!", "(?<=", "(?<!"})
_QUANTIFIERS: Final = frozenset({"*", "+", "?"})


@dataclass(slots=True)
class Node:
    """A parsed piece: an atom (the dialed characters it matches), a group of
    alternatives, or a zero-width piece (an anchor, or an assertion dropped)."""

    members: str | None = None  # an atom's dialed characters, in DIALED order ("" for none)
    alternatives: list[list[Node]] | None = None  # a group's branches
    low: int = 1  # the repeat: from `low` to `high` times (high None: unbounded)
    high: int | None = 1
    quantifier: str = ""  # the repeat as written for hyperscan ("" for once)
    anchor: str = ""  # "start" or "end" for `^`/`\A` and `$`/`\Z`
    widened: bool = False  # running the piece plainly matches more than it does

    @property
    def consumes(self) -> bool:
        """Whether the piece reads characters (an atom or a group), not only a position."""
        return self.members is not None or self.alternatives is not None


Branches = list[list[Node]]


class _Unknown(Exception):
    """The text holds a construct the parser does not know."""


def parse(translated: str) -> Branches | None:
    """The top-level alternatives of a translated pattern, or None when it holds a
    construct the parser does not know."""
    try:
        branches, _ = _parse(translated, 0, top=True)
    except _Unknown:
        return None
    return branches


def _parse(text: str, i: int, *, top: bool) -> tuple[Branches, int]:
    """Parse alternatives from `i` up to the `)` closing them (or the end at top level);
    return them and the index after the `)`."""
    branches: Branches = [[]]
    while i < len(text):
        end = token_end(text, i)
        token = text[i:end]
        if token == ")":
            if top:
                raise _Unknown
            return branches, end
        if token == "|":
            branches.append([])
        elif token[0] == "(":
            i = _parse_group(text, i, end, token, branches[-1])
            continue
        elif token in _QUANTIFIERS or COUNTED_REPEAT.fullmatch(token):
            end = _quantify(text, end, token, branches[-1])
        else:
            branches[-1].append(_atom(token))
        i = end
    if not top:
        raise _Unknown  # an unclosed group
    return branches, i


def _parse_group(text: str, i: int, end: int, token: str, into: list[Node]) -> int:
    if NON_ATOM_GROUP.fullmatch(token):
        if token.startswith("(?#"):
            return end  # a comment
        raise _Unknown  # inline flags change how the whole text reads
    if end < len(text) and text[end] == "?" and token == "(":
        raise _Unknown  # a group header the lexer does not know: recursion, conditionals...
    inner, after = _parse(text, end, top=False)
    if token in _LOOKAROUNDS:
        into.append(Node(widened=True))  # zero-width: dropping it can only widen
    elif token in _PLAIN_GROUPS or _is_named_group(token):
        into.append(Node(alternatives=inner))
    elif token in _WIDENED_GROUPS:
        into.append(Node(alternatives=inner, widened=True))
    else:
        raise _Unknown
    return after


def _is_named_group(token: str) -> bool:
    return token.startswith(("(?P<", "(?<", "(?'")) and token not in _LOOKAROUNDS


def _quantify(text: str, end: int, token: str, into: list[Node]) -> int:
    """Attach a repeat (and its lazy or possessive modifier) to the previous piece."""
    piece = into[-1] if into else None
    if piece is None or piece.quantifier or not piece.consumes:
        raise _Unknown  # nothing to repeat, a repeated repeat, or a repeated assertion
    piece.quantifier, piece.low, piece.high = _repeat(token)
    modifier = text[end : end + 1]
    if modifier == "?":  # lazy: the same strings match
        return end + 1
    if modifier == "+":  # possessive: may refuse what the plain repeat accepts
        piece.widened = True
        return end + 1
    return end


def _repeat(token: str) -> tuple[str, int, int | None]:
    """The repeat as hyperscan reads it, and its bounds."""
    if token == "*":
        return token, 0, None
    if token == "+":
        return token, 1, None
    if token == "?":
        return token, 0, 1
    low_text, _, high_text = token[1:-1].partition(",")
    if "," not in token:
        if not low_text:
            raise _Unknown  # `{}` is a literal to `regex`
        low = int(low_text)
        return "{" + str(low) + "}", low, low
    low = int(low_text or 0)
    high = int(high_text) if high_text else None
    return "{" + str(low) + "," + ("" if high is None else str(high)) + "}", low, high


def _atom(token: str) -> Node:
    if token in _START_ANCHORS:
        return Node(anchor="start")
    if token in _END_ANCHORS:
        return Node(anchor="end")
    if token[0] == "\\":
        if len(token) < 2:
            raise _Unknown
        if token[1] in _ZERO_WIDTH_ESCAPES:
            return Node(widened=True)
        if token[1] not in LITERAL_ESCAPES and token[1] not in _CLASS_ESCAPES:
            raise _Unknown  # backreferences, \x.., \p{..}, \N, \g<..>...
    elif token in ("{", "}"):
        raise _Unknown  # `regex` may read it as a fuzzy constraint
    return Node(members=_dialed_members(token))


@functools.lru_cache(maxsize=4096)
def _dialed_members(token: str) -> str:
    """The dialed characters that `regex` matches with this one-character atom."""
    try:
        compiled = regex.compile(token, regex.V0)
    except regex.error as error:
        raise _Unknown from error
    return "".join(char for char in DIALED if compiled.fullmatch(char))
