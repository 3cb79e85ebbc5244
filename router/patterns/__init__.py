"""Pattern numbers: the dialect (its definition), the automaton that runs it, and the
per-organization matcher the resolver asks (SPEC 3.3)."""

from router.patterns.admission import validate_pattern
from router.patterns.dialect import (
    CATCH_ALL,
    DEFAULT_MATCH_TIMEOUT_S,
    DIALED,
    PATTERN_MAX_LENGTH,
    CompiledPattern,
    MatchOutcome,
    MatchResult,
    PatternEntry,
    TraceStep,
    compile_entry,
    compile_pattern,
    is_pattern,
    naive_match,
    naive_steps,
    priority_key,
    translate,
)
from router.patterns.matcher import OUTRANKING_LISTED, Candidate, Explanation, OrgMatcher

__all__ = [
    "CATCH_ALL",
    "DEFAULT_MATCH_TIMEOUT_S",
    "DIALED",
    "OUTRANKING_LISTED",
    "PATTERN_MAX_LENGTH",
    "Candidate",
    "CompiledPattern",
    "Explanation",
    "MatchOutcome",
    "MatchResult",
    "OrgMatcher",
    "PatternEntry",
    "TraceStep",
    "compile_entry",
    "compile_pattern",
    "is_pattern",
    "naive_match",
    "naive_steps",
    "priority_key",
    "translate",
    "validate_pattern",
]
