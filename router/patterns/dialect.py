"""The telephony regex dialect of pattern numbers: its definition (SPEC 3.3).

A pure-SIP number whose text holds a regular expression (`regex` module syntax,
version 0) catches every dialed spelling it matches as a whole. One dialect rule: a
`*` or `+` with nothing to repeat is the literal character, and the text exactly `*`
is the organization's catch-all. Priority: longest text first, then oldest, then sid.
`naive_match` is the definition every faster matcher is proven equal to.
Pure: no I/O beyond logging.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, Final, NamedTuple

import regex
import structlog

from router.errors import Field, Invalid
from router.patterns import budget
from router.patterns.syntax import (
    COUNTED_REPEAT,
    LITERAL_ESCAPES,
    META,
    NON_ATOM_GROUP,
    SINGLE_CHAR_ESCAPES,
    branches,
    token_end,
)

__all__ = [
    "CATCH_ALL",
    "DEFAULT_MATCH_TIMEOUT_S",
    "DIALED",
    "PATTERN_MAX_LENGTH",
    "UNTIMED_MAX_SPELLING",
    "CompiledPattern",
    "MatchOutcome",
    "MatchResult",
    "PatternEntry",
    "compile_entry",
    "compile_pattern",
    "is_pattern",
    "naive_match",
    "naive_steps",
    "priority_key",
    "translate",
]

log = structlog.get_logger(__name__)

CATCH_ALL: Final = "*"
# The characters of a dialed string the pattern stage runs for (SPEC 3.3).
DIALED: Final = "0123456789*#+"
PATTERN_MAX_LENGTH: Final = 256
DEFAULT_MATCH_TIMEOUT_S: Final = 0.05

_FIELD: Final = Field("phone_number")
_PATTERN_CHARS: Final = frozenset("*#^|.$\\[]()?{}+")
_PLAIN_NUMBER: Final = re.compile(r"\+[0-9]+")
# The catch-all matches any spelling; a class rather than `.` so a newline is no exception.
_CATCH_ALL_REGEX: Final = r"[\s\S]*"
# Passing `timeout=` costs the `regex` module over a microsecond per call, more than
# the match itself; patterns that provably cannot backtrack for long skip it when the
# spelling is short (see _is_bounded).
UNTIMED_MAX_SPELLING: Final = 64


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
        end = token_end(pattern, i)
        token = pattern[i:end]
        if nothing_to_repeat and token in ("*", "+"):
            inserted.append(i)
            out.append("\\")
        out.append(token)
        if not NON_ATOM_GROUP.fullmatch(token):
            nothing_to_repeat = token[0] == "(" or token in ("^", "|")
        i = end
    return "".join(out), inserted


class MatchOutcome(Enum):
    """What one (pattern, spelling) attempt gave."""

    MATCH = "match"
    NO_MATCH = "no_match"
    TIMEOUT = "timeout"  # counts as no match
    OVER_BUDGET = "over_budget"  # not run: the organization spent its regex budget


@dataclass(frozen=True, slots=True)
class CompiledPattern:
    """A pattern that compiles, with what the matcher index needs to know of it.

    `bounded`: the pattern cannot backtrack for long, so on a short spelling it runs
    without the (costly) timer; every other match is timed.
    """

    text: str
    translated: str
    compiled: Any = field(repr=False)  # regex.Pattern; the module ships no type stubs
    bounded: bool

    def matches(self, spelling: str, timeout_s: float = DEFAULT_MATCH_TIMEOUT_S) -> bool:
        """Tell whether the whole spelling matches; a timeout counts as no match, logged."""
        return self.attempt(spelling, timeout_s) is MatchOutcome.MATCH

    def attempt(self, spelling: str, timeout_s: float = DEFAULT_MATCH_TIMEOUT_S) -> MatchOutcome:
        """Match the whole spelling under the time limit; a timeout is logged."""
        if self.bounded and len(spelling) <= UNTIMED_MAX_SPELLING:
            found = self.compiled.fullmatch(spelling)
            return MatchOutcome.NO_MATCH if found is None else MatchOutcome.MATCH
        spending = budget.current()
        if spending is None:
            return self._timed(spelling, timeout_s)
        allowed = spending.remaining()
        if allowed <= 0.0:
            spending.refuse(self.text)
            return MatchOutcome.OVER_BUDGET
        started = time.perf_counter()
        try:
            return self._timed(spelling, min(timeout_s, allowed))
        finally:
            spending.charge(time.perf_counter() - started)

    def _timed(self, spelling: str, timeout_s: float) -> MatchOutcome:
        try:
            found = self.compiled.fullmatch(spelling, timeout=timeout_s)
        except TimeoutError:
            log.warning("pattern_timeout", pattern=self.text, timeout_s=timeout_s)
            return MatchOutcome.TIMEOUT
        return MatchOutcome.NO_MATCH if found is None else MatchOutcome.MATCH


def compile_pattern(pattern: str) -> CompiledPattern:
    """Compile dialect text, raising `Invalid` (field phone_number) when it cannot be."""
    if not pattern:
        raise Invalid(("Invalid ", _FIELD, ": a pattern cannot be empty."), param=_FIELD)
    if len(pattern) > PATTERN_MAX_LENGTH:
        raise Invalid(
            ("Invalid ", _FIELD, f": a pattern holds at most {PATTERN_MAX_LENGTH} characters."),
            param=_FIELD,
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
        bounded=_is_bounded(translated),
    )


def _does_not_compile(pattern: str, reason: str) -> Invalid:
    return Invalid(
        ("Invalid ", _FIELD, f": the pattern {pattern!r} does not compile ({reason})."),
        param=_FIELD,
    )


def _is_bounded(translated: str) -> bool:
    """True when no branch can backtrack more than once per spelling character.

    Without groups and with at most one quantifier per top-level branch, the engine
    tries each repeat count of that one quantifier once, each followed by a linear
    check: matching a short spelling stays in microseconds, so no time limit is needed.
    """
    for branch in branches(translated):
        quantifiers = 0
        previous = ""
        i = 0
        while i < len(branch):
            end = token_end(branch, i)
            token = branch[i:end]
            if token in ("*", "+", "?") or COUNTED_REPEAT.fullmatch(token):
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
        return len(token) == 2 and (token[1] in LITERAL_ESCAPES or token[1] in SINGLE_CHAR_ESCAPES)
    if token[0] == "[":
        return True
    return token in (".", "^", "$") or (len(token) == 1 and token not in META)


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


class MatchResult(NamedTuple):
    """The winning pattern number and the spelling it matched (a named tuple: the
    matcher makes one per hit, and a tuple is the cheapest immutable record)."""

    entry: PatternEntry
    spelling: str


@dataclass(frozen=True, slots=True)
class TraceStep:
    """One (pattern, spelling) attempt of the naive scan, in the order it makes them."""

    entry: PatternEntry
    spelling: str
    outcome: MatchOutcome


def compile_entry(entry: PatternEntry) -> CompiledPattern | None:
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
        compiled = compile_entry(entry)
        if compiled is None:
            continue
        for spelling in spellings:
            if compiled.matches(spelling, timeout_s):
                return MatchResult(entry, spelling)
    return None


def naive_steps(
    ordered: Iterable[tuple[PatternEntry, CompiledPattern]],
    spellings: Sequence[str],
    *,
    limit: int,
    timeout_s: float = DEFAULT_MATCH_TIMEOUT_S,
) -> tuple[tuple[TraceStep, ...], bool]:
    """The naive scan's attempts over patterns already in priority order, up to and
    including the winner, at most `limit` of them; True when the limit cut it short."""
    steps: list[TraceStep] = []
    for entry, compiled in ordered:
        for spelling in spellings:
            if len(steps) >= limit:
                return tuple(steps), True
            outcome = compiled.attempt(spelling, timeout_s)
            steps.append(TraceStep(entry, spelling, outcome))
            if outcome is MatchOutcome.MATCH:
                return tuple(steps), False
    return tuple(steps), False
