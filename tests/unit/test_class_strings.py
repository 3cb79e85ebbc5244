"""The class-string tables (router.patterns.class_strings) say exactly what `regex`
says, for the patterns they take; the matcher that uses them answers like the naive
scan on long spellings, past the budget, and after writes."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router.patterns import (
    DIALED,
    MatchResult,
    OrgMatcher,
    PatternEntry,
    compile_pattern,
    naive_match,
)
from router.patterns.class_strings import MAX_LENGTH, Expansion, LengthTables, expand, fit
from router.patterns.tree import parse
from tests.unit.test_org_matcher_groups import PATTERNS


def expansion_of(text: str) -> Expansion | None:
    tree = parse(compile_pattern(text).translated)
    assert tree is not None
    return expand(tree)


def lengths(text: str) -> dict[int, int]:
    expansion = expansion_of(text)
    assert expansion is not None
    return {length: len(strings) for length, strings in expansion.by_length.items()}


def entry(i: int, text: str) -> PatternEntry:
    return PatternEntry(f"PN{i:032x}", text, float(i))


def test_a_dial_plan_pattern_is_a_few_class_strings_per_length() -> None:
    assert lengths(r"1?(415|650)[2-9]\d{6}") == {10: 2, 11: 2}
    assert lengths(r"(1|2)3") == {2: 1}  # joined into [12]3
    assert lengths(r"^999...$") == {6: 1}


def test_unbounded_patterns_fill_every_length_and_say_they_go_longer() -> None:
    expansion = expansion_of("415.*")
    assert expansion is not None
    assert expansion.longer
    assert sorted(expansion.by_length) == list(range(3, MAX_LENGTH + 1))
    bounded = expansion_of(r"\d{3,5}")
    assert bounded is not None
    assert not bounded.longer
    even = expansion_of("(12)*")
    assert even is not None
    assert sorted(even.by_length) == list(range(0, MAX_LENGTH + 1, 2))


def test_patterns_with_many_strings_per_length_are_not_expanded() -> None:
    assert expansion_of(r"\d{1,20}555\d{1,20}") is None  # up to 20 at one length
    assert expansion_of(r"(1|22)*") is None  # Fibonacci many strings per length


def test_an_atom_no_dialed_character_matches_expands_to_nothing() -> None:
    expansion = expansion_of("12[a-z]")
    assert expansion is not None
    assert expansion.by_length == {}


DIALED_SPELLINGS = st.text(alphabet=DIALED, max_size=MAX_LENGTH)


@settings(max_examples=200, deadline=None)
@given(PATTERNS, st.lists(DIALED_SPELLINGS, min_size=1, max_size=8), st.data())
def test_a_table_matches_exactly_what_regex_matches(
    text: str, spellings: list[str], data: st.DataObject
) -> None:
    """For every pattern the tables take: a spelling of up to MAX_LENGTH characters
    matches in the table if and only if `regex` fullmatches it."""
    compiled = compile_pattern(text)
    tree = parse(compiled.translated)
    expansion = expand(tree) if tree is not None else None
    if expansion is None:
        return
    # Witnesses from the expansion itself, so matches are common.
    for strings in list(expansion.by_length.values())[:3]:
        string = data.draw(st.sampled_from(strings))
        spellings.append(
            "".join(
                data.draw(st.sampled_from([c for i, c in enumerate(DIALED) if ord(m) >> i & 1]))
                for m in string
            )
        )
    table = LengthTables([(7, expansion)])
    for spelling in spellings:
        expected = compiled.compiled.fullmatch(spelling) is not None
        assert (table.first([spelling]) == (7, 0)) is expected, spelling


LONG_PATTERNS = st.sampled_from(
    ["1.*", r"\d+", r"1\d{20,30}", "(12)*", r"\d*5", ".*", r"[12]{22,26}", r"1?2?\d{23}", "*"]
)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.one_of(LONG_PATTERNS, PATTERNS), min_size=1, max_size=6, unique=True),
    st.lists(
        st.text(alphabet="12", min_size=MAX_LENGTH - 2, max_size=MAX_LENGTH + 8),
        min_size=1,
        max_size=3,
        unique=True,
    ),
)
def test_spellings_around_the_longest_table_match_like_the_ordered_scan(
    texts: list[str], spellings: list[str]
) -> None:
    """Spellings longer than MAX_LENGTH are answered by the long database."""
    entries = [entry(i, text) for i, text in enumerate(texts)]
    assert OrgMatcher(entries).match(spellings) == naive_match(entries, spellings)


def test_a_wider_expression_is_tried_on_every_spelling_it_matches() -> None:
    """A lookahead pattern's proposal is confirmed by `regex`; when it fails on the
    first spelling, the second must still be proposed (once a defect: hyperscan
    reported such a pattern once per scan)."""
    entries = [entry(0, r"(?=1)\d+"), entry(1, "*")]
    assert OrgMatcher(entries).match(["0", "1"]) == naive_match(entries, ["0", "1"])
    possessive = [entry(0, "[^1]*+[^1]|0")]  # its first branch never matches
    assert OrgMatcher(possessive).match(["00", "0"]) == MatchResult(possessive[0], "0")
    assert OrgMatcher([]).updated(possessive).match(["00", "0"]) == MatchResult(possessive[0], "0")
    assert naive_match(entries, ["0", "1"]).entry.pattern == r"(?=1)\d+"  # type: ignore[union-attr]


@pytest.mark.long
def test_past_the_budget_the_widest_patterns_stay_with_hyperscan() -> None:
    """400 patterns of 16 class strings each are more than the tables' budget for them
    at that length: some stay with hyperscan, and the answers do not change."""
    prefixes = random.Random(3).sample(range(100, 1000), 400)
    texts = [f"{p}(11|22|33|44)(55|66|77|88)" for p in prefixes]
    expansions = [expansion_of(text) for text in texts]
    assert {len(e.by_length[7]) for e in expansions if e is not None} == {16}
    taken = fit(expansions, patterns=len(texts))
    assert 0 < taken.count(False) < len(texts)
    entries = [entry(i, text) for i, text in enumerate(texts)]
    matcher = OrgMatcher(entries)
    for p in prefixes:
        for number in (f"{p}1155", f"{p}4488", f"{p}1255"):
            assert matcher.match([number]) == naive_match(entries, [number])


def test_a_removed_table_pattern_never_matches_after_the_update() -> None:
    entries = [entry(0, r"415\d{7}"), entry(1, r"4\d{9}"), entry(2, "*")]
    matcher = OrgMatcher(entries)
    assert matcher.match(["4155550100"]).entry == entries[0]  # type: ignore[union-attr]
    updated = matcher.updated(entries[1:])
    assert updated.match(["4155550100"]).entry == entries[1]  # type: ignore[union-attr]
    emptied = updated.updated(entries[2:])
    assert emptied.match(["4155550100"]).entry == entries[2]  # type: ignore[union-attr]
    assert emptied.updated([]).match(["4155550100"]) is None


def test_spellings_with_characters_no_dialed_string_has_are_decided_by_regex() -> None:
    """The tables know dialed characters only: a spelling with another character, at a
    length a table holds or not, gets the ordered scan's answer (here `...` matches
    `a1b` in `regex`, which no table can say)."""
    entries = [entry(0, r"41\d"), entry(1, "..."), entry(2, r"\d{20,30}")]
    matcher = OrgMatcher(entries)
    assert matcher.composition().tables == 3
    assert not matcher.runs_regex
    for spellings in (["a1b"], ["415", "a1b"], ["a1b", "415"], ["x"], ["ab", "7" * 30]):
        assert matcher.match(spellings) == naive_match(entries, spellings), spellings
    assert matcher.match(["a1b"]) == MatchResult(entries[1], "a1b")
    assert matcher.match(["ab", "7" * 30]) == MatchResult(entries[2], "7" * 30)
