"""Per-organization regex time budgets (SPEC 3.3, issue 12): one organization's slow
patterns must not delay another organization's calls.

Most lookups never run `regex` (the automaton decides, or the pattern is bounded and
runs untimed in microseconds). What does run it under a time limit (patterns stored
before provisioning refused unbounded ones, confirmations, dry-run traces) is charged
to the organization of the lookup, on the event loop that runs it. Once an
organization has spent `seconds` in the current `window`, its timed matches are not
run (they count as no match) until the window ends: logged once per window and
counted. Each match's time limit is also cut to what the budget has left, so one
organization holds a worker's loop for at most `seconds` per `window`, whatever its
patterns; other organizations' budgets are untouched.

Why a budget on the loop rather than a per-organization executor: `regex` holds the
GIL while it matches (the patterns are compiled without `concurrent=True`), so a
thread would free nobody, and a hand-off to one would cost every lookup that needs a
confirmation (and make the matchers asynchronous). The budget bounds the cost exactly
and leaves the hot path (the automaton decides, no `regex` at all) untouched.

The budget in force is a context variable, set by the resolver around its lookup of
one organization (`RegexBudgets.spending`): the matchers stay unaware of it.
Pure: no I/O beyond logging.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Final

import structlog

__all__ = ["DEFAULT_BUDGET_S", "DEFAULT_WINDOW_S", "RegexBudget", "RegexBudgets", "current"]

log = structlog.get_logger(__name__)

DEFAULT_BUDGET_S: Final = 0.1
DEFAULT_WINDOW_S: Final = 1.0
_current: contextvars.ContextVar[RegexBudget | None] = contextvars.ContextVar(
    "regex_budget", default=None
)


def current() -> RegexBudget | None:
    """The budget timed matches are charged to here, if any."""
    return _current.get()


class RegexBudget:
    """One organization's regex time: `seconds` per `window`, measured with `clock`."""

    def __init__(
        self,
        organization: str,
        *,
        seconds: float,
        window: float,
        clock: Callable[[], float],
        on_refused: Callable[[], None],
    ) -> None:
        self.organization = organization
        self._seconds = seconds
        self._window = window
        self._clock = clock
        self._on_refused = on_refused
        self._window_start = clock()
        self._spent = 0.0
        self._logged = False

    def remaining(self) -> float:
        """Seconds of regex time left in the current window (0 when spent)."""
        now = self._clock()
        if now - self._window_start >= self._window:
            self._window_start, self._spent, self._logged = now, 0.0, False
        return max(0.0, self._seconds - self._spent)

    def charge(self, seconds: float) -> None:
        """Count regex time spent by a match."""
        self._spent += seconds

    def refuse(self, pattern: str) -> None:
        """A timed match was not run: counted each time, logged once per window."""
        self._on_refused()
        if not self._logged:
            self._logged = True
            log.warning(
                "pattern_regex_budget_spent",
                organization=self.organization,
                pattern=pattern,
                budget_s=self._seconds,
                window_s=self._window,
                hint="timed pattern matches of this organization count as no match"
                " until the window ends",
            )


class RegexBudgets:
    """A budget per organization, made on first use."""

    def __init__(
        self,
        *,
        seconds: float = DEFAULT_BUDGET_S,
        window: float = DEFAULT_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
        on_refused: Callable[[], None] = lambda: None,
    ) -> None:
        self._seconds = seconds
        self._window = window
        self._clock = clock
        self._on_refused = on_refused
        self._budgets: dict[str, RegexBudget] = {}

    def of(self, organization: str) -> RegexBudget:
        budget = self._budgets.get(organization)
        if budget is None:
            budget = RegexBudget(
                organization,
                seconds=self._seconds,
                window=self._window,
                clock=self._clock,
                on_refused=self._on_refused,
            )
            self._budgets[organization] = budget
        return budget

    @contextmanager
    def spending(self, organization: str) -> Iterator[RegexBudget]:
        """Within this block, timed matches are charged to the organization."""
        budget = self.of(organization)
        token = _current.set(budget)
        try:
            yield budget
        finally:
            _current.reset(token)
