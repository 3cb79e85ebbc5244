"""What every matcher of an organization holds: its usable patterns in priority order,
with their compiled `regex`, and what follows from that order alone."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from router.patterns.dialect import (
    DEFAULT_MATCH_TIMEOUT_S,
    UNTIMED_MAX_SPELLING,
    CompiledPattern,
    PatternEntry,
    TraceStep,
    compile_entry,
    is_pattern,
    naive_steps,
    priority_key,
)

__all__ = ["CompiledLender", "OrderedPatterns", "usable"]


class CompiledLender(Protocol):
    """A matcher whose compiled patterns a new matcher may reuse."""

    @property
    def compiled_by_text(self) -> Mapping[str, CompiledPattern]: ...


class OrderedPatterns:
    """An organization's usable patterns in priority order (SPEC 3.3).

    Entries that are not patterns (`is_pattern`) are ignored; ones that do not compile
    are logged ("pattern_invalid") and listed in `invalid`. `previous` lends its
    compiled `regex` patterns, so a rebuild compiles only what is new.
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

    def _set_order(self, ordered: list[tuple[PatternEntry, CompiledPattern]]) -> None:
        self._ordered = tuple(ordered)
        self._entries = tuple(entry for entry, _ in ordered)
        self._compiled = tuple(compiled for _, compiled in ordered)
        self._by_text: dict[str, CompiledPattern] = {c.text: c for c in self._compiled}
        # Bound fullmatch of the patterns that need no time limit, None for the others.
        self._untimed = tuple(c.compiled.fullmatch if c.bounded else None for c in self._compiled)

    @property
    def runs_regex(self) -> bool:
        """Whether `match` may run `regex` on dialed spellings (then its time is charged
        to the organization's budget); the subclasses say when it does not."""
        return True

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
        return self._ordered

    def trace(self, spellings: Sequence[str], *, limit: int) -> tuple[tuple[TraceStep, ...], bool]:
        """The naive scan's attempts in order, up to the winner, at most `limit`."""
        return naive_steps(self._ordered, spellings, limit=limit, timeout_s=self.timeout_s)

    def _confirm(self, rank: int, spelling: str) -> bool:
        """Whether the pattern of this rank matches the whole spelling (`regex`)."""
        untimed = self._untimed[rank]
        if untimed is not None and len(spelling) <= UNTIMED_MAX_SPELLING:
            return untimed(spelling) is not None
        return self._compiled[rank].matches(spelling, self.timeout_s)


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
