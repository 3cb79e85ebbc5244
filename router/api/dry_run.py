"""The trace of a dry run (`GET /v1/routes/resolve`, SPEC 4), small whatever the
organization holds: each stage, the spellings, the exact result per spelling, the
pattern candidates the engine considered, the winner and the patterns that outrank it
(at most 50, within a byte budget), and with `trace=full` the naive scan's attempts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

import orjson

from router import patterns
from router.resolver import PatternTrace, Trace

# The default trace stays under 16 KiB: patterns hold up to 256 characters, so the two
# lists share a budget and say how many they left out.
_LIST_BUDGET_BYTES: Final = 12_000


def render(trace: Trace) -> dict[str, Any]:
    """The `trace` member of a dry run's answer."""
    body: dict[str, Any] = {
        "spellings": list(trace.spellings),
        "exact": [
            {"spelling": s.spelling, "result": s.result, "number_sid": s.number_sid}
            for s in trace.exact
        ],
        "pattern": _pattern(trace.pattern),
    }
    if trace.pattern.naive is not None:
        body["full"] = {
            "steps": [_attempt(s) for s in trace.pattern.naive],
            "truncated": trace.pattern.truncated,
        }
    return body


def _pattern(stage: PatternTrace) -> dict[str, Any]:
    explanation = stage.explanation
    if stage.skipped is not None or explanation is None:
        return {"ran": False, "reason": stage.skipped}
    budget = [_LIST_BUDGET_BYTES]
    candidates = _within(budget, (_candidate(c) for c in explanation.candidates))
    outranking = _within(budget, (_entry(e) for e in explanation.outranking_listed))
    winner = explanation.winner
    return {
        "ran": True,
        "matcher": stage.matcher,
        "patterns": explanation.patterns,
        "candidates": candidates,
        "winner": None if winner is None else {**_entry(winner.entry), "spelling": winner.spelling},
        "outranking": {"count": explanation.outranking, "listed": outranking},
    }


def _within(budget: list[int], items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items, in order, while their JSON fits the shared budget."""
    kept: list[dict[str, Any]] = []
    for item in items:
        size = len(orjson.dumps(item)) + 1
        if size > budget[0]:
            break
        budget[0] -= size
        kept.append(item)
    return kept


def _entry(entry: patterns.PatternEntry) -> dict[str, Any]:
    return {"pattern": entry.pattern, "number_sid": entry.sid}


def _candidate(candidate: patterns.Candidate) -> dict[str, Any]:
    return {
        **_entry(candidate.entry),
        "spelling": candidate.spelling,
        "result": candidate.outcome.value,
        "decided_by": candidate.decided_by,
    }


def _attempt(step: patterns.TraceStep) -> dict[str, Any]:
    return {**_entry(step.entry), "spelling": step.spelling, "result": step.outcome.value}
