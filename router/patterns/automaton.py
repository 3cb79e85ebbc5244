"""Dialect patterns as hyperscan expressions over the dialed alphabet.

A pattern's tree (router.patterns.tree: every atom already the explicit set of dialed
characters `regex` says it matches) is written out as a hyperscan expression. A
rewrite is `exact` when the expression matches exactly the spellings the pattern
matches; otherwise (a widened piece, or an anchor that does not always hold under a
whole match) it is a superset and `regex` must confirm what it proposes. A pattern
with no tree has no expression: it is tried with `regex` alone.

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

from router.patterns.tree import Branches, Node, parse

__all__ = [
    "FRAMING",
    "Rewrite",
    "compile_database",
    "frame",
    "return_freed_memory",
    "rewrite",
    "rewrite_tree",
]

FRAME_START: Final = "\x02"
FRAME_END: Final = "\x03"
FRAMING: Final = len(FRAME_START) + len(FRAME_END)  # characters a frame adds to a spelling
_BETWEEN: Final = FRAME_END + FRAME_START
# Matches no character of a framed buffer: the rewrite of an atom that matches no
# dialed character (a letter, `\s`, an empty class).
_NOTHING: Final = "\\x01"
# Past this many expressions, the compiler's working memory is worth handing back.
_LARGE_COMPILE: Final = 256


@dataclass(frozen=True, slots=True)
class Rewrite:
    """A pattern's hyperscan expression (framed) and whether it is exact."""

    expression: str
    exact: bool


def rewrite(translated: str) -> Rewrite | None:
    """The framed expression of a translated pattern, or None when it has none."""
    branches = parse(translated)
    return None if branches is None else rewrite_tree(branches)


def rewrite_tree(branches: Branches) -> Rewrite:
    """The framed expression of a parsed pattern."""
    body, exact = _emit_alternatives(branches, at_start=True, at_end=True)
    return Rewrite(f"{FRAME_START}(?:{body}){FRAME_END}", exact)


def frame(spellings: Sequence[str]) -> bytes:
    """The buffer one scan reads: each spelling framed as STX spelling ETX, in order."""
    return (FRAME_START + _BETWEEN.join(spellings) + FRAME_END).encode()


@functools.lru_cache(maxsize=4096)
def _class_text(members: str) -> str:
    """A hyperscan class of these dialed characters."""
    if not members:
        return _NOTHING
    escaped = "".join(char if char.isdigit() else "\\" + char for char in members)
    return escaped if len(members) == 1 else f"[{escaped}]"


def _emit_alternatives(branches: Branches, *, at_start: bool, at_end: bool) -> tuple[str, bool]:
    texts: list[str] = []
    exact = True
    for branch in branches:
        text, branch_exact = _emit_sequence(branch, at_start=at_start, at_end=at_end)
        texts.append(text)
        exact = exact and branch_exact
    return "|".join(texts), exact


def _emit_sequence(nodes: list[Node], *, at_start: bool, at_end: bool) -> tuple[str, bool]:
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
        elif node.members is not None:
            out.append(_class_text(node.members) + node.quantifier)
        if node.consumes:
            consumed = True
    return "".join(out), exact


def compile_database(
    rewrites: Sequence[Rewrite], ids: Sequence[int]
) -> tuple[hyperscan.Database | None, set[int]]:
    """One block-mode database of the rewrites, rewrite i reported as `ids[i]`, and the
    indexes i hyperscan refused (found by halving, so one bad expression costs little).

    An exact expression reports its first match only: the first spelling it matches is
    its answer. A wider one reports every spelling it matches, since `regex` may refuse
    the first."""
    indexes = list(range(len(rewrites)))
    refused: set[int] = set()
    try:
        database = _database(indexes, rewrites, ids) if indexes else None
    except hyperscan.error:
        kept = _compilable(indexes, rewrites, ids, refused)
        database = _database(kept, rewrites, ids) if kept else None
    if len(rewrites) >= _LARGE_COMPILE:
        return_freed_memory()
    return database, refused


def return_freed_memory() -> None:
    """Hand the compiler's freed working memory back to the system: glibc keeps it in
    the process otherwise (about 220 MiB after 10,000 patterns, for a 6 MiB database)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to hand back this way
        return


def _database(
    indexes: list[int], rewrites: Sequence[Rewrite], ids: Sequence[int]
) -> hyperscan.Database:
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    database.compile(
        expressions=[rewrites[i].expression.encode() for i in indexes],
        ids=[ids[i] for i in indexes],
        flags=[hyperscan.HS_FLAG_SINGLEMATCH if rewrites[i].exact else 0 for i in indexes],
    )
    return database


def _compilable(
    indexes: list[int], rewrites: Sequence[Rewrite], ids: Sequence[int], refused: set[int]
) -> list[int]:
    """The indexes that compile together, adding the others to `refused`."""
    try:
        _database(indexes, rewrites, ids)
    except hyperscan.error:
        if len(indexes) == 1:
            refused.update(indexes)
            return []
        half = len(indexes) // 2
        return _compilable(indexes[:half], rewrites, ids, refused) + _compilable(
            indexes[half:], rewrites, ids, refused
        )
    return indexes
