"""Dialect patterns as hyperscan expressions over the dialed alphabet.

The pattern stage only ever matches spellings made of `0-9 * # +` (SPEC 3.3), so a
pattern needs the same meaning as `regex` gives it on those strings alone. Every
one-character atom (a literal, `.`, an escape such as `\\d`, a class) is rewritten as
the explicit set of dialed characters that `regex` itself says it matches, so the two
engines cannot read a class, a dot or an escape differently; what remains is
structure both read alike (groups, alternation, greedy or lazy repeats, leading and
trailing anchors).

A rewrite is `exact` when the expression matches exactly the spellings the pattern
matches; otherwise it is a superset (assertions dropped, atomic groups and
possessive repeats made plain) and `regex` must confirm what it proposes. Constructs
whose meaning the rewrite does not know (backreferences, recursion, conditionals,
inline flags, fuzzy matching, unknown escapes) give no expression: such a pattern is
tried with `regex` alone.

No atom of a rewritten pattern matches a control character, so several spellings
can be scanned at once, each framed as STX spelling ETX, and each expression is
framed the same way: a match is the whole of one spelling. (An anchored expression,
`^...$`, would say the same, but hyperscan compiles thousands of anchored patterns
far more slowly than unanchored ones.)
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import hyperscan
import regex

from router.patterns.dialect import DIALED
from router.patterns.syntax import COUNTED_REPEAT, LITERAL_ESCAPES, NON_ATOM_GROUP, token_end

__all__ = ["FRAMING", "Rewrite", "compile_database", "frame", "rewrite"]

FRAME_START: Final = "\x02"
FRAME_END: Final = "\x03"
FRAMING: Final = len(FRAME_START) + len(FRAME_END)  # characters a frame adds to a spelling
_BETWEEN: Final = FRAME_END + FRAME_START
# Matches no character of a framed buffer: the rewrite of an atom that matches no
# dialed character (a letter, `\s`, an empty class).
_NOTHING: Final = "\\x01"
_CLASS_ESCAPES: Final = frozenset("dDwWsS")
_ZERO_WIDTH_ESCAPES: Final = frozenset("bB")
_START_ANCHORS: Final = frozenset({"^", "\\A"})
_END_ANCHORS: Final = frozenset({"$", "\\Z"})
# Group headers the rewrite knows: plain and named groups keep their meaning as a
# non-capturing group; atomic and branch-reset groups match a subset of it.
_PLAIN_GROUPS: Final = frozenset({"(", "(?:"})
_WIDENED_GROUPS: Final = frozenset({"(?>", "(?|"})
_LOOKAROUNDS: Final = frozenset({"(?=", "(?!", "(?<=", "(?<!"})
_QUANTIFIERS: Final = frozenset({"*", "+", "?"})
# Past this many expressions, the compiler's working memory is worth handing back.
_LARGE_COMPILE: Final = 256


@dataclass(frozen=True, slots=True)
class Rewrite:
    """A pattern's hyperscan expression (framed) and whether it is exact."""

    expression: str
    exact: bool


class _Unknown(Exception):
    """The text holds a construct the rewrite does not know."""


@dataclass(slots=True)
class _Node:
    """A parsed piece: an atom's rewritten text, or a group of alternatives."""

    text: str  # the atom's rewrite; "" for groups and dropped zero-width pieces
    alternatives: list[list[_Node]] | None = None  # a group's branches
    quantifier: str = ""
    anchor: str = ""  # "start" or "end" for `^`/`\A` and `$`/`\Z`
    widened: bool = False  # the rewrite matches more than the piece


def rewrite(translated: str) -> Rewrite | None:
    """The framed expression of a translated pattern, or None when it has none."""
    try:
        branches, _ = _parse(translated, 0, top=True)
        body, exact = _emit_alternatives(branches, at_start=True, at_end=True)
    except _Unknown:
        return None
    return Rewrite(f"{FRAME_START}(?:{body}){FRAME_END}", exact)


def frame(spellings: Sequence[str]) -> bytes:
    """The buffer one scan reads: each spelling framed as STX spelling ETX, in order."""
    return (FRAME_START + _BETWEEN.join(spellings) + FRAME_END).encode()


def _parse(text: str, i: int, *, top: bool) -> tuple[list[list[_Node]], int]:
    """Parse alternatives from `i` up to the `)` closing them (or the end at top level);
    return them and the index after the `)`."""
    branches: list[list[_Node]] = [[]]
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


def _parse_group(text: str, i: int, end: int, token: str, into: list[_Node]) -> int:
    if NON_ATOM_GROUP.fullmatch(token):
        if token.startswith("(?#"):
            return end  # a comment
        raise _Unknown  # inline flags change how the whole text reads
    if end < len(text) and text[end] == "?" and token == "(":
        raise _Unknown  # a group header the lexer does not know: recursion, conditionals...
    inner, after = _parse(text, end, top=False)
    if token in _LOOKAROUNDS:
        into.append(_Node("", widened=True))  # zero-width: dropping it can only widen
    elif token in _PLAIN_GROUPS or _is_named_group(token):
        into.append(_Node("", alternatives=inner))
    elif token in _WIDENED_GROUPS:
        into.append(_Node("", alternatives=inner, widened=True))
    else:
        raise _Unknown
    return after


def _is_named_group(token: str) -> bool:
    return token.startswith(("(?P<", "(?<", "(?'")) and token not in _LOOKAROUNDS


def _quantify(text: str, end: int, token: str, into: list[_Node]) -> int:
    """Attach a repeat (and its lazy or possessive modifier) to the previous piece."""
    piece = into[-1] if into else None
    if piece is None or piece.quantifier or not (piece.text or piece.alternatives is not None):
        raise _Unknown  # nothing to repeat, a repeated repeat, or a repeated assertion
    piece.quantifier = _repeat(token)
    modifier = text[end : end + 1]
    if modifier == "?":  # lazy: the same strings match
        return end + 1
    if modifier == "+":  # possessive: may refuse what the plain repeat accepts
        piece.widened = True
        return end + 1
    return end


def _repeat(token: str) -> str:
    if token in _QUANTIFIERS:
        return token
    low, _, high = token[1:-1].partition(",")
    if "," not in token:
        if not low:
            raise _Unknown  # `{}` is a literal to `regex`
        return "{" + str(int(low)) + "}"
    return "{" + str(int(low or 0)) + "," + (str(int(high)) if high else "") + "}"


def _atom(token: str) -> _Node:
    if token in _START_ANCHORS:
        return _Node("", anchor="start")
    if token in _END_ANCHORS:
        return _Node("", anchor="end")
    if token[0] == "\\":
        if len(token) < 2:
            raise _Unknown
        if token[1] in _ZERO_WIDTH_ESCAPES:
            return _Node("", widened=True)
        if token[1] not in LITERAL_ESCAPES and token[1] not in _CLASS_ESCAPES:
            raise _Unknown  # backreferences, \x.., \p{..}, \N, \g<..>...
    elif token in ("{", "}"):
        raise _Unknown  # `regex` may read it as a fuzzy constraint
    return _Node(_dialed_set(token))


@functools.lru_cache(maxsize=4096)
def _dialed_set(token: str) -> str:
    """The dialed characters that `regex` matches with this one-character atom, as a class."""
    try:
        compiled = regex.compile(token, regex.V0)
    except regex.error as error:
        raise _Unknown from error
    members = [char for char in DIALED if compiled.fullmatch(char)]
    if not members:
        return _NOTHING
    escaped = "".join(char if char.isdigit() else "\\" + char for char in members)
    return escaped if len(members) == 1 else f"[{escaped}]"


def _emit_alternatives(
    branches: list[list[_Node]], *, at_start: bool, at_end: bool
) -> tuple[str, bool]:
    texts: list[str] = []
    exact = True
    for branch in branches:
        text, branch_exact = _emit_sequence(branch, at_start=at_start, at_end=at_end)
        texts.append(text)
        exact = exact and branch_exact
    return "|".join(texts), exact


def _emit_sequence(nodes: list[_Node], *, at_start: bool, at_end: bool) -> tuple[str, bool]:
    """Rewrite one branch. An anchor is dropped; that is exact only where it always
    holds under a whole match: a `^` before anything is consumed, a `$` after
    everything (not inside a repeat)."""
    out: list[str] = []
    exact = True
    consumed = not at_start
    for index, node in enumerate(nodes):
        exact = exact and not node.widened
        if node.anchor == "start":
            exact = exact and not consumed
            continue
        if node.anchor == "end":
            rest = nodes[index + 1 :]
            exact = exact and at_end and all(n.anchor == "end" for n in rest)
            continue
        if node.alternatives is not None:
            repeated = node.quantifier != ""
            later = any(n.anchor != "end" for n in nodes[index + 1 :])
            inner, inner_exact = _emit_alternatives(
                node.alternatives,
                at_start=not consumed and not repeated,
                at_end=at_end and not repeated and not later,
            )
            out.append(f"(?:{inner}){node.quantifier}")
            exact = exact and inner_exact
        else:
            out.append(node.text + node.quantifier)
        if node.text or node.alternatives is not None:
            consumed = True
    return "".join(out), exact


def compile_database(
    expressions: Sequence[str], first_id: int = 0
) -> tuple[hyperscan.Database | None, set[int]]:
    """One block-mode database of the expressions, expression i reported as id
    `first_id + i`, and the indexes i hyperscan refused (found by halving, so one bad
    expression costs little)."""
    indexes = list(range(len(expressions)))
    refused: set[int] = set()
    try:
        database = _database(indexes, expressions, first_id) if indexes else None
    except hyperscan.error:
        kept = _compilable(indexes, expressions, refused)
        database = _database(kept, expressions, first_id) if kept else None
    if len(expressions) >= _LARGE_COMPILE:
        _return_freed_memory()
    return database, refused


def _return_freed_memory() -> None:
    """Hand the compiler's freed working memory back to the system: glibc keeps it in
    the process otherwise (about 220 MiB after 10,000 patterns, for a 6 MiB database)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to hand back this way
        return


def _database(indexes: list[int], expressions: Sequence[str], first_id: int) -> hyperscan.Database:
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    database.compile(
        expressions=[expressions[i].encode() for i in indexes],
        ids=[first_id + i for i in indexes],
        flags=hyperscan.HS_FLAG_SINGLEMATCH,
    )
    return database


def _compilable(indexes: list[int], expressions: Sequence[str], refused: set[int]) -> list[int]:
    """The indexes that compile together, adding the others to `refused`."""
    try:
        _database(indexes, expressions, 0)
    except hyperscan.error:
        if len(indexes) == 1:
            refused.update(indexes)
            return []
        half = len(indexes) // 2
        return _compilable(indexes[:half], expressions, refused) + _compilable(
            indexes[half:], expressions, refused
        )
    return indexes
