"""The lexical units of the pattern dialect, shared by the modules that analyse it.

The dialect is the `regex` module's V0 syntax; these helpers split its text the way
that parser does for the constructs the analyses look at (escapes, classes, group
headers, counted repeats, top-level alternation). Pure.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "COUNTED_REPEAT",
    "GROUP_HEADER",
    "LITERAL_ESCAPES",
    "META",
    "NON_ATOM_GROUP",
    "SINGLE_CHAR_ESCAPES",
    "branches",
    "token_end",
]

META: Final = frozenset(".^$*+?{}[]|()\\")
LITERAL_ESCAPES: Final = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ ")
SINGLE_CHAR_ESCAPES: Final = frozenset("dDwWsSbBAZ")
COUNTED_REPEAT: Final = re.compile(r"\{\d*(?:,\d*)?\}")
_POSIX_CLASS: Final = re.compile(r"\[:\^?\w+:\]")
# After "(" or one of these group headers, a "*" or "+" has nothing to repeat.
GROUP_HEADER: Final = re.compile(r"\?(?:P?<\w+>|'\w+'|<[=!]|[:=!>|]|[a-zA-Z-]*:)")
# Global flags "(?i)" and comments "(?#...)" are no atom: the state before them holds.
NON_ATOM_GROUP: Final = re.compile(r"\(\?(?:[a-zA-Z-]*\)|#[^)]*\))")


def token_end(text: str, i: int) -> int:
    """End of the lexical unit at `i`: an escape, class, group header, `{m,n}` or one char."""
    char = text[i]
    if char == "\\":
        return min(i + 2, len(text))
    if char == "[":
        return _class_end(text, i)
    if char == "(":
        if whole := NON_ATOM_GROUP.match(text, i):
            return whole.end()
        header = GROUP_HEADER.match(text, i + 1)
        return header.end() if header else i + 1
    if char == "{" and (repeat := COUNTED_REPEAT.match(text, i)):
        return repeat.end()
    return i + 1


def _class_end(text: str, i: int) -> int:
    """End of the character class opening at `i` (a leading `]` is a member)."""
    j = i + 1
    if text.startswith("^", j):
        j += 1
    if text.startswith("]", j):
        j += 1
    while j < len(text):
        if text[j] == "\\":
            j += 2
        elif posix := _POSIX_CLASS.match(text, j):
            j = posix.end()
        elif text[j] == "]":
            return j + 1
        else:
            j += 1
    return len(text)


def branches(translated: str) -> list[str]:
    """Split at the top-level `|` (outside groups, classes and escapes)."""
    branches: list[str] = []
    depth = start = i = 0
    while i < len(translated):
        end = token_end(translated, i)
        token = translated[i:end]
        if token == "|" and depth == 0:
            branches.append(translated[start:i])
            start = end
        elif token[0] == "(" and not NON_ATOM_GROUP.fullmatch(token):
            depth += 1
        elif token == ")":
            depth -= 1
        i = end
    branches.append(translated[start:])
    return branches
