"""The telephony regex dialect of pattern numbers (router.patterns, SPEC 3.3)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from structlog.testing import capture_logs

from router.api.parameter_names import parameter_name
from router.errors import Invalid
from router.patterns import (
    CATCH_ALL,
    PATTERN_MAX_LENGTH,
    CompiledPattern,
    MatchOutcome,
    OrgMatcher,
    PatternEntry,
    compile_pattern,
    is_pattern,
    naive_match,
    priority_key,
    translate,
    validate_pattern,
)


def matches(pattern: str, spelling: str) -> bool:
    return compile_pattern(pattern).matches(spelling)


# --- is_pattern -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone_number", "expected"),
    [
        ("16505551234", False),
        ("+16505551234", False),
        ("alice", False),
        ("", False),
        ("+1650.*", True),
        ("16.*", True),
        ("*123#", True),  # the rule is literal: a USSD code is a candidate (matching itself)
        ("#31#", True),
        ("[45]234[23]", True),
        ("7777|8888", True),
        ("^123$", True),
        ("12?", True),
        ("1{2}", True),
        ("(12)", True),
        (r"1\d", True),
        ("+", True),  # no digits after the plus: not a plain number
        ("1+", True),
        ("+1+", True),
        ("+1 650", True),
    ],
)
def test_is_pattern_follows_the_spec_character_rule(phone_number: str, expected: bool) -> None:
    """A number is a candidate when it holds a pattern character, unless it is + and digits."""
    assert is_pattern(phone_number) is expected


# --- translate --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("*77", r"\*77"),
        ("+1650.*", r"\+1650.*"),
        ("^*77...33#$", r"^\*77...33#$"),
        ("^+1", r"^\+1"),
        ("1|*2|+3", r"1|\*2|\+3"),
        ("(*1)", r"(\*1)"),
        ("(?:*1)", r"(?:\*1)"),
        ("(?P<code>+1)", r"(?P<code>\+1)"),
        ("(?i)*1", r"(?i)\*1"),
        ("^*222*...*...*500#$", r"^\*222*...*...*500#$"),
        ("1*", "1*"),
        ("1+", "1+"),
        (".*", ".*"),
        (r"\*1", r"\*1"),
        (r"\\*", r"\\*"),
        ("[*+]1", "[*+]1"),
        ("[]*]*", "[]*]*"),
        ("[^*]+", "[^*]+"),
        ("1{2}*", "1{2}*"),
    ],
)
def test_translate_makes_a_star_or_plus_with_nothing_to_repeat_literal(
    pattern: str, expected: str
) -> None:
    """Only a * or + with nothing before it to repeat becomes literal; all else is copied."""
    assert translate(pattern) == expected


def test_the_catch_all_matches_every_spelling() -> None:
    """The pattern exactly * matches any spelling, not only a literal star."""
    assert translate(CATCH_ALL) != r"\*"
    for spelling in ("16505551234", "+16505551234", "*", "#", "*123#", "", "1\n2"):
        assert matches(CATCH_ALL, spelling)


def test_a_leading_star_followed_by_more_text_is_literal() -> None:
    """`*1` is a star then 1, not a catch-all."""
    assert matches("*1", "*1")
    assert not matches("*1", "11")


# --- the seed's regular expression examples ----------------------------------------


def test_class_pattern_matches_exactly_the_four_seed_numbers() -> None:
    """`[45]234[23]` matches 42342, 42343, 52342 and 52343 and no other five-digit number."""
    compiled = compile_pattern("[45]234[23]")
    found = {f"{n:05d}" for n in range(100_000) if compiled.matches(f"{n:05d}")}
    assert found == {"42342", "42343", "52342", "52343"}


@pytest.mark.parametrize("spelling", ["142342", "423421", "4234", "+42342"])
def test_class_pattern_needs_the_whole_spelling(spelling: str) -> None:
    """`[45]234[23]` does not match a spelling that merely contains a match."""
    assert not matches("[45]234[23]", spelling)


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        ("999222", True),
        ("999123", True),
        ("999555", True),
        ("999abc", True),
        ("9991234", False),
        ("99912", False),
        ("199912", False),
    ],
)
def test_dots_pattern_matches_six_characters_starting_999(spelling: str, expected: bool) -> None:
    """`999...` matches six-character spellings that start with 999."""
    assert matches("999...", spelling) is expected


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        ("*77abc33#", True),
        ("*7712333#", True),
        ("*77abc33", False),
        ("*771233#", False),
        ("77abc33#", False),
        ("1*77abc33#", False),
    ],
)
def test_star_77_pattern_needs_the_literal_star(spelling: str, expected: bool) -> None:
    """`^*77...33#$`: *77, any three characters, 33#; the leading * is literal."""
    assert matches("^*77...33#$", spelling) is expected


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [("12233#", True), ("22233#", True), ("32233#", False), ("12233", False), ("112233#", False)],
)
def test_leading_class_pattern(spelling: str, expected: bool) -> None:
    """`^[12]2233#$` matches a 1 or 2 followed by 2233#."""
    assert matches("^[12]2233#$", spelling) is expected


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [("76884#", True), ("76885#", True), ("76886#", True), ("76887#", False), ("7688#", False)],
)
def test_trailing_class_pattern(spelling: str, expected: bool) -> None:
    """`^7688[456]#$` matches 76884#, 76885# and 76886# only."""
    assert matches("^7688[456]#$", spelling) is expected


def test_star_222_pattern_reads_as_its_unmangled_form() -> None:
    """The seed's `^222…*…*500#$` lost `*222*` to markdown emphasis; restored, it works.

    The collapsed text cannot match `*222*888*999*500#` (it starts with 222), so
    the sample is read as `^*222*...*...*500#$`: a literal *, then 22 and `2*`, and
    the dots and `.*` runs absorb the starred groups before 500#.
    """
    restored = compile_pattern("^*222*...*...*500#$")
    for spelling in ("*222*888*999*500#", "*222*444*321*500#"):
        assert restored.matches(spelling)
        assert not matches("^222...*...*500#$", spelling)
    assert not restored.matches("*222*888*999*501#")
    assert not restored.matches("222*888*999*500#")


def test_plus_pattern_matches_e164_spellings() -> None:
    """`+1650.*` matches +16505550000 (the + is literal) but not the spelling without +."""
    assert matches("+1650.*", "+16505550000")
    assert not matches("+1650.*", "16505550000")


def test_backslash_eight_sample_does_not_compile() -> None:
    """`7777\\8888` (the seed's typo) is a reference to a missing group: refused, not guessed."""
    with pytest.raises(Invalid) as raised:
        compile_pattern(r"7777\8888")
    assert raised.value.field == "phone_number"
    assert raised.value.param_for(parameter_name) == "PhoneNumber"
    assert "invalid group reference" in raised.value.message


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [("7777", True), ("8888", True), ("77778888", False), ("7777|8888", False), ("777", False)],
)
def test_alternation_matches_either_whole_number(spelling: str, expected: bool) -> None:
    """`7777|8888`, what the seed's `7777\\8888` meant, matches 7777 or 8888 exactly."""
    assert matches("7777|8888", spelling) is expected


def test_star_hash_code_matches_only_itself() -> None:
    """A USSD-style pattern `*123#` is literal text: it matches *123# and nothing else."""
    assert matches("*123#", "*123#")
    assert not matches("*123#", "123#")
    assert not matches("*123#", "*1234#")


def test_anchors_are_redundant() -> None:
    """`^16.*$` and `16.*` accept the same spellings."""
    for spelling in ("16", "16505551234", "4416505551234", "+16"):
        assert matches("^16.*$", spelling) is matches("16.*", spelling)


def test_prefix_pattern_does_not_match_inside_a_spelling() -> None:
    """`16.*` does not catch 4416...: the reference's substring search is not reproduced."""
    assert matches("16.*", "16508251256")
    assert not matches("16.*", "4416508251256")


# --- ordering (the seed's first table) ----------------------------------------------


def entry(sid: str, pattern: str, created: float = 0.0) -> PatternEntry:
    return PatternEntry(sid=sid, pattern=pattern, created=created)


def test_a_single_prefix_pattern_applies_when_nothing_else_does() -> None:
    """Seed row 2: with only `16.*`, 16508251255 is caught by it."""
    result = OrgMatcher([entry("PN1", "16.*")]).match(["16508251255"])
    assert result is not None
    assert result.entry.sid == "PN1"


def test_the_longest_pattern_wins() -> None:
    """Seed row 3: `16508.*` beats `16.*`, whatever the creation order."""
    entries = [entry("PN1", "16.*", created=0), entry("PN2", "16508.*", created=1)]
    for given in (entries, entries[::-1]):
        result = OrgMatcher(given).match(["16508251255"])
        assert result is not None
        assert result.entry.pattern == "16508.*"
        assert naive_match(given, ["16508251255"]) == result


def test_priority_key_orders_by_length_then_age_then_sid() -> None:
    """Longer text first; equal lengths oldest first; equal times by sid."""
    old = datetime(2024, 1, 1, tzinfo=UTC)
    new = datetime(2024, 6, 1, tzinfo=UTC)
    entries = [
        PatternEntry("PNb", "1.*", old),
        PatternEntry("PNa", "1.*", old),
        PatternEntry("PNc", "2.*", new),
        PatternEntry("PNd", "123.*", new),
    ]
    ordered = [e.sid for e in sorted(entries, key=priority_key)]
    assert ordered == ["PNd", "PNa", "PNb", "PNc"]


def test_priority_key_reads_naive_datetimes_as_utc() -> None:
    """A naive creation time sorts as the same instant in UTC."""
    aware = PatternEntry("PN1", "1.*", datetime(2024, 1, 1, 12, tzinfo=UTC))
    naive = PatternEntry("PN1", "1.*", datetime(2024, 1, 1, 12))
    assert priority_key(aware) == priority_key(naive)


# --- compile errors ------------------------------------------------------------------


@pytest.mark.parametrize("pattern", ["(12", "1**", "[12", "12)", "+1{2}{3}", "(?P<x>1"])
def test_a_pattern_that_does_not_compile_is_invalid(pattern: str) -> None:
    """Compiling refuses the text with Invalid naming the phone_number field (PhoneNumber
    over HTTP) and the regex error."""
    with pytest.raises(Invalid) as raised:
        validate_pattern(pattern)
    assert raised.value.param == "phone_number"
    assert raised.value.message.startswith("Invalid phone_number: the pattern ")
    assert raised.value.param_for(parameter_name) == "PhoneNumber"
    assert raised.value.message_for(parameter_name).startswith("Invalid PhoneNumber: the pattern ")
    assert "does not compile" in raised.value.message


def test_error_positions_refer_to_the_text_as_written() -> None:
    """A position in the error message counts characters of the pattern, not its translation."""
    with pytest.raises(Invalid) as raised:
        compile_pattern("+1**")  # translated to \+1**, which fails at its position 4
    assert "multiple repeat at position 3" in raised.value.message


def test_an_overlong_pattern_is_invalid() -> None:
    """Patterns longer than the limit are refused before the regex compiler sees them."""
    validate_pattern("1" * (PATTERN_MAX_LENGTH - 2) + ".*")
    with pytest.raises(Invalid) as raised:
        validate_pattern("1" * PATTERN_MAX_LENGTH + ".*")
    assert raised.value.field == "phone_number"
    assert raised.value.param_for(parameter_name) == "PhoneNumber"


def test_an_empty_pattern_is_invalid() -> None:
    """The empty text is not a pattern that can be provisioned."""
    with pytest.raises(Invalid):
        validate_pattern("")


def test_valid_patterns_validate() -> None:
    """Every seed sample except the `\\8` typo validates."""
    for pattern in ("[45]234[23]", "999...", "^*77...33#$", "^[12]2233#$", "^7688[456]#$"):
        validate_pattern(pattern)  # raises when invalid
    assert isinstance(compile_pattern("^*222*...*...*500#$"), CompiledPattern)


# --- the time limit ----------------------------------------------------------------

CATASTROPHIC = "(1|11|111)+#"  # exponential backtracking on a run of 1s with no #


def test_a_catastrophic_pattern_times_out_as_no_match() -> None:
    """A pattern that backtracks forever counts as no match within its time limit, logged."""
    compiled = compile_pattern(CATASTROPHIC)
    started = time.monotonic()
    with capture_logs() as logs:
        assert compiled.matches("1" * 40, timeout_s=0.05) is False
    assert time.monotonic() - started < 1.0
    assert [log["event"] for log in logs] == ["pattern_timeout"]
    assert logs[0]["pattern"] == CATASTROPHIC
    assert compiled.attempt("1" * 40, timeout_s=0.01) is MatchOutcome.TIMEOUT


def test_a_catastrophic_pattern_still_matches_what_it_can() -> None:
    """The time limit only cuts off runaway matches; ordinary ones still succeed."""
    assert compile_pattern(CATASTROPHIC).matches("111#", timeout_s=0.05)


def test_simple_patterns_are_bounded_and_nested_repeats_are_not() -> None:
    """Only patterns without groups and with one repeat per branch skip the time limit."""
    for pattern in ("16.*", "^44207[0-9]{6}$", "[45]234[23]", "999...", "1.*|2.*", "*"):
        assert compile_pattern(pattern).bounded, pattern
    for pattern in (CATASTROPHIC, "1.*2.*", "^*222*...*...*500#$", "(12)", "1?2?"):
        assert not compile_pattern(pattern).bounded, pattern
