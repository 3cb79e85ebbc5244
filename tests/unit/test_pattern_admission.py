"""Provisioning refuses patterns that could make `regex` backtrack without bound where no
automaton decides them (issue 12.4), with an Invalid naming PhoneNumber and the
construct; every other pattern of the dialect is admitted, and patterns refused now
still compile, so those already stored keep loading."""

from __future__ import annotations

import pytest

from router.errors import Invalid
from router.patterns import compile_pattern, validate_pattern
from router.patterns.admission import unbounded_construct

ALWAYS_REFUSED = {
    "(?R)": "recursion",
    "1(?R)?2": "recursion",
    "(1)(?1)": "recursion",
    "(1)(?+1)(2)": "recursion",
    "(?P<n>1)(?&n)": "recursion",
    "(?P<n>1)(?P>n)": "recursion",
    "(1)\\1": "a backreference",
    "(1)(2)\\2+": "a backreference",
    "(?P<n>1)(?P=n)": "a backreference",
    "(?P<n>1)\\g<n>": "a backreference or subroutine call",
    "(1)?(?(1)2|3)": "a conditional",
    "(123){e<=1}": "fuzzy matching",
    "12{e<=1}": "fuzzy matching",
    "(?:555){i<=1,d<=1}": "fuzzy matching",
}
# Unbounded (groups, or several repeats in one branch) and the automaton cannot decide
# them alone: it cannot run them, or only narrows them down for `regex` to confirm.
UNDECIDED = {
    "(?i)(1|11|111)+#": "cannot run it",
    "(?x)(1 | 11)+ \\#": "cannot run it",
    "\\x31+2+": "cannot run it",
    "(1|11|111)+(?=2)#": "can only narrow it down",
    "(?>1|11)+#": "can only narrow it down",
    "1*+2*": "can only narrow it down",
    "(1+)\\b2": "can only narrow it down",
    "(?=1)1": "can only narrow it down",  # a group, so not provably bounded
}
ADMITTED = [
    "[45]234[23]",
    "999...",
    "^*77...33#$",
    "+1650.*",
    "*",
    "(1|11|111)+#",  # catastrophic for `regex`, but the automaton decides it exactly
    "(?:12|34)*5",
    "(\\d{1,50}){1,50}#",
    "(?P<area>650)555....",
    "1(?#a comment)2.*",
    "(?i)123",  # inline flags aside, bounded
    "(?x)1 2 3 .*",
    "\\d+",
]


@pytest.mark.parametrize(("pattern", "construct"), ALWAYS_REFUSED.items())
def test_recursion_backreferences_conditionals_and_fuzzy_matching_are_refused(
    pattern: str, construct: str
) -> None:
    """Each is refused naming PhoneNumber, the pattern and the construct."""
    with pytest.raises(Invalid) as raised:
        validate_pattern(pattern)
    assert raised.value.param == "PhoneNumber"
    assert raised.value.message == (
        f"Invalid PhoneNumber: the pattern {pattern!r} uses {construct}, which can take"
        " unbounded time to match; patterns may not use recursion, backreferences,"
        " conditionals or fuzzy matching."
    )


@pytest.mark.parametrize(("pattern", "why"), UNDECIDED.items())
def test_unbounded_patterns_the_automaton_cannot_decide_are_refused(pattern: str, why: str) -> None:
    """The message says the pattern can backtrack without bound and why the automaton
    does not settle it."""
    with pytest.raises(Invalid) as raised:
        validate_pattern(pattern)
    assert raised.value.param == "PhoneNumber"
    message = raised.value.message
    assert message.startswith(
        f"Invalid PhoneNumber: the pattern {pattern!r} can backtrack without bound and"
        f" the pattern automaton {why}"
    )
    assert message.endswith(
        "Such a pattern is accepted only without groups and with at most one repeat per"
        " alternative."
    )


@pytest.mark.parametrize("pattern", ADMITTED)
def test_patterns_the_automaton_decides_or_that_are_bounded_are_admitted(pattern: str) -> None:
    """validate_pattern returns the compiled pattern."""
    assert validate_pattern(pattern).text == pattern


@pytest.mark.parametrize("pattern", [*ALWAYS_REFUSED, *UNDECIDED])
def test_refused_patterns_still_compile_so_stored_ones_load(pattern: str) -> None:
    """The rule is provisioning's: a stored pattern that breaks it still compiles (and
    routes, under its organization's regex budget)."""
    assert compile_pattern(pattern).text == pattern


def test_constructs_inside_classes_or_escaped_are_plain_characters() -> None:
    """`[(?R)]`, `\\(\\?R\\)` and `[\\1]` name no construct; a counted repeat is no fuzzy one."""
    for translated in ("[(?R)]", "\\(\\?R\\)", "[\\1]", "1{2,3}", "\\{e<=1\\}"):
        assert unbounded_construct(translated) is None, translated


def test_a_pattern_that_does_not_compile_says_so_first() -> None:
    """`(?1)` alone refers to no group: the compile error is what the tenant needs."""
    with pytest.raises(Invalid) as raised:
        validate_pattern("(?1)")
    assert "does not compile" in raised.value.message
