"""Which patterns may be provisioned (SPEC 3.3, issue 12): one tenant's pattern must not
tax every call of its organization.

The automaton decides a pattern in time linear in the spelling, whatever it looks like;
`regex` alone backtracks, and a pattern only `regex` can run may do so without bound.
So provisioning refuses, each with an `Invalid` naming PhoneNumber:

- constructs that no automaton runs and whose cost `regex` cannot bound: recursion and
  subroutine calls (`(?R)`, `(?1)`, `(?&name)`, `(?P>name)`), backreferences (`\\1`,
  `\\g<1>`, `\\k<name>`, `(?P=name)`), conditionals (`(?(1)...)`) and fuzzy matching
  (`{e<=1}`), whatever surrounds them;
- any other pattern whose match the automaton cannot decide alone, because it cannot
  run it (inline flags, escapes the rewrite does not know, an expression hyperscan
  refuses) or only narrows it down for `regex` to confirm (lookarounds, atomic groups,
  possessive repeats, inner anchors): `(1|11|111)+(?=2)#` is proposed by the automaton
  for every run of 1s and a `#`, and `regex` then backtracks exponentially. Such a
  pattern is admitted only when bounded (no groups, at most one repeat per branch,
  inline flags aside): it backtracks at most once per character.

Patterns stored before this rule keep loading and routing (`compile_pattern` does not
apply it); the per-organization regex budget (budget.py) bounds what they cost.
Pure: no I/O.
"""

from __future__ import annotations

import re
from typing import Final

from router.errors import Invalid
from router.patterns import automaton
from router.patterns.dialect import CATCH_ALL, CompiledPattern, compile_pattern
from router.patterns.syntax import COUNTED_REPEAT, NON_ATOM_GROUP, token_end

__all__ = ["unbounded_construct", "validate_pattern"]

_PARAM: Final = "PhoneNumber"
_GROUP_CONSTRUCTS: Final = (
    (re.compile(r"\(\?(?:R|[+-]?\d+|&\w+|P>\w+)\)"), "recursion"),
    (re.compile(r"\(\?P=\w+\)"), "a backreference"),
    (re.compile(r"\(\?\("), "a conditional"),
)
_ESCAPE_CONSTRUCTS: Final = {
    **{digit: "a backreference" for digit in "123456789"},
    "g": "a backreference or subroutine call",
    "k": "a backreference",
}
_BRACES: Final = re.compile(r"\{[^{}]*\}")
_FUZZY: Final = re.compile(r"[eids]")


def validate_pattern(pattern: str) -> CompiledPattern:
    """The compiled pattern if it may be provisioned; else `Invalid` (param PhoneNumber)
    saying why: it does not compile, or it could make `regex` backtrack without bound."""
    compiled = compile_pattern(pattern)
    construct = unbounded_construct(compiled.translated)
    if construct is not None:
        raise Invalid(
            f"Invalid {_PARAM}: the pattern {pattern!r} uses {construct}, which can take"
            " unbounded time to match; patterns may not use recursion, backreferences,"
            " conditionals or fuzzy matching.",
            param=_PARAM,
        )
    if pattern == CATCH_ALL or _bounded(pattern, compiled):
        return compiled
    why = _why_automaton_cannot_decide(compiled.translated)
    if why is not None:
        raise Invalid(
            f"Invalid {_PARAM}: the pattern {pattern!r} can backtrack without bound and"
            f" the pattern automaton {why}. Such a pattern is accepted only without groups"
            " and with at most one repeat per alternative.",
            param=_PARAM,
        )
    return compiled


def unbounded_construct(translated: str) -> str | None:
    """The first construct of the text that makes `regex` unbounded, named for people."""
    i = 0
    while i < len(translated):
        end = token_end(translated, i)
        token = translated[i:end]
        if token[0] == "(":  # "(?R)" reads like a flags group to the lexer
            for construct, name in _GROUP_CONSTRUCTS:
                if construct.match(translated, i):
                    return name
        elif token[0] == "\\" and len(token) == 2 and token[1] in _ESCAPE_CONSTRUCTS:
            return _ESCAPE_CONSTRUCTS[token[1]]
        elif token == "{" and not COUNTED_REPEAT.match(translated, i):
            braces = _BRACES.match(translated, i)
            if braces and _FUZZY.search(braces.group()):
                return "fuzzy matching"
        i = end
    return None


def _bounded(pattern: str, compiled: CompiledPattern) -> bool:
    """Bounded as the dialect says, or once its inline flags and comments are set aside
    (they change how characters read, never how far `regex` backtracks)."""
    if compiled.bounded:
        return True
    plain = NON_ATOM_GROUP.sub("", pattern)
    if plain == pattern or not plain:
        return False
    try:
        return compile_pattern(plain).bounded
    except Invalid:
        return False


def _why_automaton_cannot_decide(translated: str) -> str | None:
    """None when the automaton's word on the pattern is final (no `regex` runs)."""
    rewrite = automaton.rewrite(translated)
    if rewrite is None:
        return "cannot run it (inline flags, or an escape or construct it does not know)"
    if not rewrite.exact:
        return (
            "can only narrow it down for `regex` to confirm (lookarounds, atomic groups,"
            " possessive repeats, \\b, \\B or anchors inside it)"
        )
    _, refused = automaton.compile_database([rewrite], [0])
    return "refuses it (too large once expanded)" if refused else None
