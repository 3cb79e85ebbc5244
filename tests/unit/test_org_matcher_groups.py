"""Nested groups, alternation and repeats: the automaton and the prefix index (which
looks inside plain groups) find exactly what the ordered scan finds."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router.errors import Invalid
from router.patterns import OrgMatcher, PatternEntry, compile_pattern, naive_match
from router.patterns.prefix_index import PrefixIndexMatcher, prefixes

ATOMS = st.sampled_from(["1", "2", "3", "12", ".", "[12]", "[23]", r"\d"])
QUANTIFIERS = st.sampled_from(["", "", "", "*", "+", "?", "{2}", "{0,2}"])


def _groups(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    header = st.sampled_from(["(", "(?:", "(?P<g>"])
    branches = st.lists(inner, min_size=1, max_size=3).map("|".join)
    return st.tuples(header, branches, QUANTIFIERS).map(lambda t: f"{t[0]}{t[1]}){t[2]}")


PIECES = st.recursive(
    st.tuples(ATOMS, QUANTIFIERS).map("".join),
    lambda inner: _groups(st.lists(inner, min_size=1, max_size=3).map("".join)),
    max_leaves=6,
)


def _usable(text: str) -> bool:
    try:
        compile_pattern(text)
    except Invalid:
        return False
    return text.count("(?P<g>") <= 1  # a group name may appear once


PATTERNS = st.lists(PIECES, min_size=1, max_size=4).map("".join).filter(_usable)


SPELLINGS = st.lists(
    st.text(alphabet="123", min_size=1, max_size=7), min_size=1, max_size=3, unique=True
)


@pytest.mark.long
@settings(max_examples=300, deadline=None)
@given(st.lists(PATTERNS, min_size=1, max_size=6, unique=True), SPELLINGS)
def test_index_with_groups_agrees_with_the_ordered_scan(
    texts: list[str], spellings: list[str]
) -> None:
    """OrgMatcher, PrefixIndexMatcher and naive_match pick the same pattern and spelling."""
    entries = [PatternEntry(f"PN{i:032x}", text, float(i)) for i, text in enumerate(texts)]
    expected = naive_match(entries, spellings)
    assert OrgMatcher(entries).match(spellings) == expected
    assert PrefixIndexMatcher(entries).match(spellings) == expected


def test_alternation_groups_get_literal_prefixes() -> None:
    """A leading group of literal branches indexes by its branches, not as 'anything'."""
    assert _prefixes(r"(1650|0561)\d*") == frozenset({"1650", "0561"})
    assert _prefixes(r"^(44|33)20.*") == frozenset({"4420", "3320"})
    assert _prefixes(r"(12)?5") == frozenset({""})
    assert _prefixes(r"(?=1)1.*") == frozenset({""})


def _prefixes(text: str) -> frozenset[str]:
    compiled = compile_pattern(text)
    return prefixes(compiled.translated, compiled.compiled.flags)
