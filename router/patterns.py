"""The telephony regex dialect of pattern numbers and the per-organization matcher.

SPEC 3.3: a pure-SIP number whose text holds a regular expression (`regex` module
syntax, version 0) catches every dialed spelling it matches as a whole. One dialect
rule: a `*` or `+` with nothing to repeat is the literal character, and the text
exactly `*` is the organization's catch-all. `OrgMatcher` answers "which pattern
wins" without trying every pattern: an index of the literal prefixes each pattern's
matches must start with picks a few candidates, confirmed in priority order.
Pure: no I/O beyond logging.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, Final

import regex
import structlog

from router.errors import Invalid

__all__ = [
    "CATCH_ALL",
    "DEFAULT_MATCH_TIMEOUT_S",
    "PATTERN_MAX_LENGTH",
    "CompiledPattern",
    "MatchOutcome",
    "MatchResult",
    "OrgMatcher",
    "PatternEntry",
    "TraceStep",
    "compile_pattern",
    "is_pattern",
    "naive_match",
    "priority_key",
    "translate",
    "validate_pattern",
]

log = structlog.get_logger(__name__)

CATCH_ALL: Final = "*"
PATTERN_MAX_LENGTH: Final = 256
DEFAULT_MATCH_TIMEOUT_S: Final = 0.05

_PARAM: Final = "PhoneNumber"
_PATTERN_CHARS: Final = frozenset("*#^|.$\\[]()?{}+")
_PLAIN_NUMBER: Final = re.compile(r"\+[0-9]+")
# The catch-all matches any spelling; a class rather than `.` so a newline is no exception.
_CATCH_ALL_REGEX: Final = r"[\s\S]*"
# Bounds the class expansion: past it a pattern is indexed by a shorter prefix.
_PREFIX_CAP: Final = 64
# Passing `timeout=` costs the `regex` module over a microsecond per call, more than
# the match itself; patterns that provably cannot backtrack for long skip it when the
# spelling is short (see _is_bounded).
_UNTIMED_MAX_SPELLING: Final = 64
# Global inline flags change how literals match or how the text parses.
_UNANALYSABLE_FLAGS: Final = regex.IGNORECASE | regex.VERBOSE | regex.V1
_META: Final = frozenset(".^$*+?{}[]|()\\")
_LITERAL_ESCAPES: Final = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ ")
_SINGLE_CHAR_ESCAPES: Final = frozenset("dDwWsSbBAZ")
_COUNTED_REPEAT: Final = re.compile(r"\{\d*(?:,\d*)?\}")
_POSIX_CLASS: Final = re.compile(r"\[:\^?\w+:\]")
# After "(" or one of these group headers, a "*" or "+" has nothing to repeat.
_GROUP_HEADER: Final = re.compile(r"\?(?:P?<\w+>|'\w+'|<[=!]|[:=!>|]|[a-zA-Z-]*:)")
# Global flags "(?i)" and comments "(?#...)" are no atom: the state before them holds.
_NON_ATOM_GROUP: Final = re.compile(r"\(\?(?:[a-zA-Z-]*\)|#[^)]*\))")


def is_pattern(phone_number: str) -> bool:
    """Tell whether a stored phone number is a pattern candidate (SPEC 3.3).

    True when the text holds any of `* # ^ | . $ \\ [ ] ( ) ? { } +`, except a plain
    number written `+` and ASCII digits. The rule is literal, so a USSD-style code
    such as `*123#` is a pattern (matching only itself).
    """
    if _PLAIN_NUMBER.fullmatch(phone_number):
        return False
    return not _PATTERN_CHARS.isdisjoint(phone_number)


def translate(pattern: str) -> str:
    """Rewrite dialect text as a `regex` (V0) expression.

    A `*` or `+` with nothing to repeat (first, or right after `^`, `|`, `(` or a
    group header such as `(?:`) becomes `\\*` or `\\+`; escapes and character
    classes are copied untouched. The catch-all `*` matches anything.
    """
    if pattern == CATCH_ALL:
        return _CATCH_ALL_REGEX
    return _translate(pattern)[0]


def _translate(pattern: str) -> tuple[str, list[int]]:
    """Translate, also returning where backslashes were inserted (for error positions)."""
    out: list[str] = []
    inserted: list[int] = []
    nothing_to_repeat = True
    i = 0
    while i < len(pattern):
        end = _token_end(pattern, i)
        token = pattern[i:end]
        if nothing_to_repeat and token in ("*", "+"):
            inserted.append(i)
            out.append("\\")
        out.append(token)
        if not _NON_ATOM_GROUP.fullmatch(token):
            nothing_to_repeat = token[0] == "(" or token in ("^", "|")
        i = end
    return "".join(out), inserted


def _token_end(text: str, i: int) -> int:
    """End of the lexical unit at `i`: an escape, class, group header, `{m,n}` or one char."""
    char = text[i]
    if char == "\\":
        return min(i + 2, len(text))
    if char == "[":
        return _class_end(text, i)
    if char == "(":
        if whole := _NON_ATOM_GROUP.match(text, i):
            return whole.end()
        header = _GROUP_HEADER.match(text, i + 1)
        return header.end() if header else i + 1
    if char == "{" and (repeat := _COUNTED_REPEAT.match(text, i)):
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


class MatchOutcome(Enum):
    """What one (pattern, spelling) attempt gave."""

    MATCH = "match"
    NO_MATCH = "no_match"
    TIMEOUT = "timeout"  # counts as no match


@dataclass(frozen=True, slots=True)
class CompiledPattern:
    """A pattern that compiles, with what the matcher index needs to know of it.

    `prefixes`: one of these starts every spelling the pattern matches (`""` when
    nothing is known). `bounded`: the pattern cannot backtrack for long, so on a
    short spelling it runs without the (costly) timer; every other match is timed.
    """

    text: str
    translated: str
    compiled: Any = field(repr=False)  # regex.Pattern; the module ships no type stubs
    prefixes: frozenset[str]
    bounded: bool

    def matches(self, spelling: str, timeout_s: float = DEFAULT_MATCH_TIMEOUT_S) -> bool:
        """Tell whether the whole spelling matches; a timeout counts as no match, logged."""
        return self.attempt(spelling, timeout_s) is MatchOutcome.MATCH

    def attempt(self, spelling: str, timeout_s: float = DEFAULT_MATCH_TIMEOUT_S) -> MatchOutcome:
        """Match the whole spelling under the time limit; a timeout is logged."""
        if self.bounded and len(spelling) <= _UNTIMED_MAX_SPELLING:
            found = self.compiled.fullmatch(spelling)
        else:
            try:
                found = self.compiled.fullmatch(spelling, timeout=timeout_s)
            except TimeoutError:
                log.warning("pattern_timeout", pattern=self.text, timeout_s=timeout_s)
                return MatchOutcome.TIMEOUT
        return MatchOutcome.NO_MATCH if found is None else MatchOutcome.MATCH


def compile_pattern(pattern: str) -> CompiledPattern:
    """Compile dialect text, raising `Invalid` (param PhoneNumber) when it cannot be."""
    if not pattern:
        raise Invalid(f"Invalid {_PARAM}: a pattern cannot be empty.", param=_PARAM)
    if len(pattern) > PATTERN_MAX_LENGTH:
        raise Invalid(
            f"Invalid {_PARAM}: a pattern holds at most {PATTERN_MAX_LENGTH} characters.",
            param=_PARAM,
        )
    translated, inserted = (_CATCH_ALL_REGEX, []) if pattern == CATCH_ALL else _translate(pattern)
    try:
        compiled = regex.compile(translated, regex.V0)
    except regex.error as error:
        reason = error.msg
        if error.pos is not None:  # the position in the text as written, not as translated
            reason += f" at position {error.pos - sum(1 for at in inserted if at < error.pos)}"
        raise _does_not_compile(pattern, reason) from error
    except (OverflowError, RecursionError, ValueError) as error:
        raise _does_not_compile(pattern, str(error)) from error
    return CompiledPattern(
        text=pattern,
        translated=translated,
        compiled=compiled,
        prefixes=_prefixes(translated, compiled.flags),
        bounded=_is_bounded(translated),
    )


def _does_not_compile(pattern: str, reason: str) -> Invalid:
    return Invalid(
        f"Invalid {_PARAM}: the pattern {pattern!r} does not compile ({reason}).", param=_PARAM
    )


def validate_pattern(pattern: str) -> None:
    """Raise `Invalid` unless the pattern can be provisioned (the API's check)."""
    compile_pattern(pattern)


def _branches(translated: str) -> list[str]:
    """Split at the top-level `|` (outside groups, classes and escapes)."""
    branches: list[str] = []
    depth = start = i = 0
    while i < len(translated):
        end = _token_end(translated, i)
        token = translated[i:end]
        if token == "|" and depth == 0:
            branches.append(translated[start:i])
            start = end
        elif token[0] == "(" and not _NON_ATOM_GROUP.fullmatch(token):
            depth += 1
        elif token == ")":
            depth -= 1
        i = end
    branches.append(translated[start:])
    return branches


def _prefixes(translated: str, flags: int) -> frozenset[str]:
    """Literal prefixes, one of which starts every match; `{""}` when unknown."""
    if flags & _UNANALYSABLE_FLAGS:
        return frozenset({""})
    found: set[str] = set()
    for branch in _branches(translated):
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
        end = _token_end(branch, i)
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
    header = text[i : _token_end(text, i)]
    if header not in ("(", "(?:") and not re.fullmatch(r"\(\?P?<\w+>", header):
        return None
    depth, j = 0, i
    while j < len(text):
        end = _token_end(text, j)
        token = text[j:end]
        if token[0] == "(" and not _NON_ATOM_GROUP.fullmatch(token):
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
    for branch in _branches(inner):
        prefixes, whole = _leading_prefixes(branch)
        if prefixes == [""] and not whole:
            return None, False
        found.extend(prefixes)
        spans = spans and whole
    return sorted(set(found)), spans


def _atom_chars(token: str) -> str | None:
    """The characters a one-character atom can match, or None if not that simple."""
    if len(token) == 1:
        return None if token in _META else token
    if token[0] == "\\":
        return token[1] if token[1] in _LITERAL_ESCAPES else None
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
        return (escaped, j + 2) if escaped and escaped in _LITERAL_ESCAPES else (None, j)
    if body[j] == "[":  # a POSIX class such as [:digit:]
        return None, j
    return body[j], j + 1


def _is_bounded(translated: str) -> bool:
    """True when no branch can backtrack more than once per spelling character.

    Without groups and with at most one quantifier per top-level branch, the engine
    tries each repeat count of that one quantifier once, each followed by a linear
    check: matching a short spelling stays in microseconds, so no time limit is needed.
    """
    for branch in _branches(translated):
        quantifiers = 0
        previous = ""
        i = 0
        while i < len(branch):
            end = _token_end(branch, i)
            token = branch[i:end]
            if token in ("*", "+", "?") or _COUNTED_REPEAT.fullmatch(token):
                # "?" or "+" right after a quantifier makes it lazy or possessive.
                modifier = previous == "quantifier" and token in ("?", "+")
                quantifiers += 0 if modifier else 1
                previous = "quantifier"
            elif _is_plain_atom(token):
                previous = "atom"
            else:
                return False
            i = end
        if quantifiers > 1:
            return False
    return True


def _is_plain_atom(token: str) -> bool:
    if token[0] == "\\":
        return len(token) == 2 and (
            token[1] in _LITERAL_ESCAPES or token[1] in _SINGLE_CHAR_ESCAPES
        )
    if token[0] == "[":
        return True
    return token in (".", "^", "$") or (len(token) == 1 and token not in _META)


@dataclass(frozen=True, slots=True)
class PatternEntry:
    """A pattern number as the matcher sees it: its sid, text and creation time.

    `created` is a datetime (naive ones are read as UTC) or POSIX seconds.
    """

    sid: str
    pattern: str
    created: datetime | float


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def priority_key(entry: PatternEntry) -> tuple[int, timedelta, str]:
    """Sort key of SPEC 3.3: longest text first, then oldest, then sid (a total order)."""
    created = entry.created
    if isinstance(created, datetime):
        since_epoch = (created if created.tzinfo else created.replace(tzinfo=UTC)) - _EPOCH
    else:
        since_epoch = timedelta(seconds=created)
    return -len(entry.pattern), since_epoch, entry.sid


@dataclass(frozen=True, slots=True)
class MatchResult:
    """The winning pattern number and the spelling it matched."""

    entry: PatternEntry
    spelling: str


@dataclass(frozen=True, slots=True)
class TraceStep:
    """One attempt of a dry run, in the order resolution makes them."""

    entry: PatternEntry
    spelling: str
    outcome: MatchOutcome


def _compile_entry(entry: PatternEntry) -> CompiledPattern | None:
    """Compile a stored pattern; one that fails is logged and skipped, never raised."""
    try:
        return compile_pattern(entry.pattern)
    except Invalid as error:
        log.warning("pattern_invalid", sid=entry.sid, pattern=entry.pattern, error=error.message)
        return None


def naive_match(
    entries: Iterable[PatternEntry],
    spellings: Sequence[str],
    *,
    timeout_s: float = DEFAULT_MATCH_TIMEOUT_S,
) -> MatchResult | None:
    """The reference scan: each pattern in priority order against each spelling in order."""
    for entry in sorted((e for e in entries if is_pattern(e.pattern)), key=priority_key):
        compiled = _compile_entry(entry)
        if compiled is None:
            continue
        for spelling in spellings:
            if compiled.matches(spelling, timeout_s):
                return MatchResult(entry, spelling)
    return None


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


class OrgMatcher:
    """One organization's patterns, built once, answering which pattern wins (SPEC 3.3).

    Entries that are not patterns (`is_pattern`) are ignored; ones that do not
    compile are logged ("pattern_invalid") and listed in `invalid`. `previous`, the
    matcher being replaced, lends its compiled patterns so a rebuild is cheap.
    """

    def __init__(
        self,
        entries: Iterable[PatternEntry],
        *,
        timeout_s: float = DEFAULT_MATCH_TIMEOUT_S,
        previous: OrgMatcher | None = None,
    ) -> None:
        self.timeout_s = timeout_s
        known = previous._by_text if previous else {}
        ordered: list[tuple[PatternEntry, CompiledPattern]] = []
        invalid: list[PatternEntry] = []
        for entry in sorted((e for e in entries if is_pattern(e.pattern)), key=priority_key):
            compiled = known.get(entry.pattern) or _compile_entry(entry)
            if compiled is None:
                invalid.append(entry)
            else:
                ordered.append((entry, compiled))
        self.invalid: tuple[PatternEntry, ...] = tuple(invalid)
        self._entries = tuple(entry for entry, _ in ordered)
        self._compiled = tuple(compiled for _, compiled in ordered)
        self._by_text: dict[str, CompiledPattern] = {c.text: c for c in self._compiled}
        # Bound fullmatch of the patterns that need no time limit, None for the others.
        self._untimed = tuple(c.compiled.fullmatch if c.bounded else None for c in self._compiled)
        self._trie = _build_trie(
            (prefix, index)
            for index, compiled in enumerate(self._compiled)
            for prefix in compiled.prefixes
        )

    def __len__(self) -> int:
        """The number of usable patterns."""
        return len(self._compiled)

    def match(self, spellings: Sequence[str]) -> MatchResult | None:
        """Return the first pattern in priority order that matches any spelling, or None.

        For the winning pattern, the first spelling (in the given order) it matches.
        """
        count = len(spellings)
        # One int per (pattern, spelling) candidate; sorted, they follow the naive order.
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
        if not candidates:
            return None
        candidates.sort()
        for key in candidates:
            index, position = divmod(key, count)
            if self._confirm(index, spellings[position]):
                return MatchResult(self._entries[index], spellings[position])
        return None

    def _confirm(self, index: int, spelling: str) -> bool:
        untimed = self._untimed[index]
        if untimed is not None and len(spelling) <= _UNTIMED_MAX_SPELLING:
            return untimed(spelling) is not None
        return self._compiled[index].matches(spelling, self.timeout_s)

    def trace(self, spellings: Sequence[str]) -> tuple[TraceStep, ...]:
        """Every attempt the naive scan makes, in order, up to and including the winner."""
        steps: list[TraceStep] = []
        for entry, compiled in zip(self._entries, self._compiled, strict=True):
            for spelling in spellings:
                outcome = compiled.attempt(spelling, self.timeout_s)
                steps.append(TraceStep(entry, spelling, outcome))
                if outcome is MatchOutcome.MATCH:
                    return tuple(steps)
        return tuple(steps)
