"""The per-organization matcher (automaton, delta updates, dry run) agrees with the
ordered scan, the definition of SPEC 3.3 (router.patterns)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from router.patterns import (
    CompiledPattern,
    MatchOutcome,
    MatchResult,
    OrgMatcher,
    PatternEntry,
    compile_pattern,
    naive_match,
)

# A small alphabet, so that random patterns and random numbers often meet.
DIGITS = "0123"
NUMBER_CHARS = DIGITS + "*#+"

# Patterns are generated together with a witness: a spelling the piece is meant to
# match. Witnesses make matches frequent (random numbers rarely fit a pattern); one
# that does not match after all (say "1" then "*" reads as a repeat) is just another
# random spelling, since the oracle is the naive scan, not the witness.
Piece = tuple[str, str]  # (pattern text, witness)


def _class_piece(members: list[str]) -> st.SearchStrategy[Piece]:
    text = "[" + "".join(members) + "]"
    chars = [c for m in members for c in (m if len(m) == 1 else _range(m))]
    return st.sampled_from(chars).map(lambda witness: (text, witness))


def _range(member: str) -> str:
    return "".join(chr(code) for code in range(ord(member[0]), ord(member[2]) + 1))


class_members = st.sampled_from([*NUMBER_CHARS, "0-2", "1-3", "0-3", "*-+"])
single: st.SearchStrategy[Piece] = st.one_of(
    st.sampled_from([*DIGITS, *DIGITS, "*", "#", "+"]).map(lambda c: (c, c)),
    st.sampled_from(NUMBER_CHARS).map(lambda witness: (".", witness)),
    st.sampled_from(DIGITS).map(lambda witness: (r"\d", witness)),
    st.lists(class_members, min_size=1, max_size=3).flatmap(_class_piece),
    st.sampled_from([(r"\*", "*"), ("(1|2)", "1"), ("(?:*3)", "*3"), ("(12)", "12")]),
    st.just(("[^1]", "2")),
)
# (text, fewest, most) repeats. Repeats right after literal atoms are what the
# prefix analysis must respect.
quantifier = st.sampled_from(
    [("", 1, 1)] * 3
    + [("?", 0, 1), ("*", 0, 3), ("+", 1, 3), ("{0,2}", 0, 2), ("{2}", 2, 2), ("*?", 0, 2)]
)
atom = st.tuples(single, quantifier, st.integers(0, 3)).map(
    lambda t: (t[0][0] + t[1][0], t[0][1] * min(max(t[2], t[1][1]), t[1][2]))
)
# Most real patterns open with literal digits; the index is built from them.
branch = st.tuples(st.text(alphabet=DIGITS, max_size=2), st.lists(atom, max_size=4)).map(
    lambda t: (t[0] + "".join(p for p, _ in t[1]), t[0] + "".join(w for _, w in t[1]))
)
alternation = st.tuples(
    st.sampled_from(["", "^"]), st.lists(branch, min_size=1, max_size=3), st.sampled_from(["", "$"])
).map(lambda t: (t[0] + "|".join(p for p, _ in t[1]) + t[2], [w for _, w in t[1]]))
catch_all = st.text(alphabet=NUMBER_CHARS, max_size=4).map(lambda w: ("*", [w]))
# One pattern in ten is the catch-all.
pattern_with_witnesses = st.integers(0, 9).flatmap(lambda n: catch_all if n == 0 else alternation)
created = st.sampled_from([0.0, 1.0, 2.0])  # few values: ties are common


@st.composite
def organizations(draw: st.DrawFn) -> tuple[list[PatternEntry], list[str]]:
    """Up to a dozen pattern entries and 1-3 spellings, most of them witnesses."""
    items = draw(st.lists(st.tuples(pattern_with_witnesses, created), max_size=12))
    entries = [
        PatternEntry(sid=f"PN{index:032x}", pattern=text, created=when)
        for index, ((text, _), when) in enumerate(items)
    ]
    witnesses = [w for (_, ws), _ in items for w in ws if w]
    spelling = st.text(alphabet=NUMBER_CHARS, min_size=1, max_size=8)
    if witnesses:
        spelling = st.one_of(spelling, st.sampled_from(witnesses), st.sampled_from(witnesses))
    return entries, draw(st.lists(spelling, min_size=1, max_size=3))


@pytest.mark.long
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(organization=organizations(), data=st.data())
def test_the_index_picks_the_same_winner_as_the_ordered_scan(
    organization: tuple[list[PatternEntry], list[str]], data: st.DataObject
) -> None:
    """Whatever the patterns, ties and input order, match and trace agree with the naive scan."""
    entries, spellings = organization
    shuffled = data.draw(st.permutations(entries), label="input order")
    with capture_logs():  # invalid random patterns are logged; keep the output quiet
        expected = naive_match(entries, spellings)
        matcher = OrgMatcher(shuffled)
        assert matcher.match(spellings) == expected
        steps, truncated = matcher.trace(spellings, limit=10_000)
        explanation = matcher.explain(spellings)
    assert not truncated
    winners = [MatchResult(s.entry, s.spelling) for s in steps if s.outcome is MatchOutcome.MATCH]
    assert winners == ([expected] if expected else [])
    assert explanation.winner == expected
    assert explanation.patterns == len(matcher)
    outranking = [e for e, _ in matcher.ordered][: explanation.outranking]
    assert expected is None or expected.entry not in outranking
    assert list(explanation.outranking_listed) == outranking[:50]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(before=organizations(), after=organizations(), data=st.data())
def test_a_matcher_updated_in_place_answers_like_one_built_anew(
    before: tuple[list[PatternEntry], list[str]],
    after: tuple[list[PatternEntry], list[str]],
    data: st.DataObject,
) -> None:
    """Masking removed patterns and adding a delta database, once or twice, gives the
    naive scan's answer for the new set (a deleted pattern never matches)."""
    old_entries, _ = before
    new_entries, spellings = after
    kept = data.draw(
        st.lists(st.sampled_from(old_entries), unique=True) if old_entries else st.just([])
    )
    # New sids: a pattern written after the first build, never a revived old one.
    added = [PatternEntry("PX" + e.sid[2:], e.pattern, e.created) for e in new_entries]
    current = [*kept, *added]
    with capture_logs():
        base = OrgMatcher(old_entries)
        once = base.updated([*kept, *added[: len(added) // 2]])
        twice = once.updated(current)
        expected = naive_match(current, spellings)
        assert base.updated(current).match(spellings) == expected
        assert twice.match(spellings) == expected
        assert twice.explain(spellings).winner == expected
    removed = {e.sid for e in old_entries} - {e.sid for e in kept}
    result = twice.match(spellings)
    assert result is None or result.entry.sid not in removed


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pattern=pattern_with_witnesses,
    others=st.lists(st.text(alphabet=NUMBER_CHARS, min_size=1, max_size=8), max_size=2),
)
def test_the_index_never_hides_a_matching_pattern(
    pattern: tuple[str, list[str]], others: list[str]
) -> None:
    """A pattern alone in a matcher finds exactly the spellings its regex fullmatches."""
    text, witnesses = pattern
    entry = PatternEntry(sid="PN1", pattern=text, created=0.0)
    with capture_logs():
        matcher = OrgMatcher([entry])
    if not len(matcher):
        return  # does not compile: nothing to find
    compiled = compile_pattern(text)
    for spelling in [*witnesses, *others]:
        found = matcher.match([spelling]) is not None
        assert found is compiled.matches(spelling), spelling


@pytest.mark.parametrize(
    ("pattern", "spelling"),
    [
        ("12?3", "13"),
        ("12??3", "13"),
        ("12*3", "13"),
        ("12{0,2}3", "13"),
        ("12{,2}3", "13"),
        ("1+2", "112"),
        ("1[0-2]+5", "1225"),
        ("[0-2]5", "15"),
        ("[]5]1", "]1"),
        ("[*+]1", "+1"),
        ("[)-+]1", "*1"),
        (r"\*1", "*1"),
        ("^*1|+2", "+2"),
        ("1|2", "2"),
        ("1|", ""),
        ("(1|2)3", "23"),
        ("1(?:2|3)", "13"),
        ("(?i)a", "A"),  # an inline flag changes what the literal matches
        (r"\d5", "٣5"),
        (r"1[\d]", "13"),  # \d is any Unicode digit, not only 0-9
        ("[1-3]{2}4", "234"),
        ("12|1234", "1234"),
    ],
)
def test_the_index_finds_every_pattern_that_matches(pattern: str, spelling: str) -> None:
    """Repeats, classes, alternations and flags never hide a matching pattern from the index."""
    entry = make_entry("PN1", pattern)
    assert naive_match([entry], [spelling]) is not None
    assert OrgMatcher([entry]).match([spelling]) == MatchResult(entry, spelling)


def make_entry(sid: str, pattern: str, created: float = 0.0) -> PatternEntry:
    return PatternEntry(sid=sid, pattern=pattern, created=created)


def winner(matcher: OrgMatcher, *spellings: str) -> str | None:
    result = matcher.match(spellings)
    return result.entry.sid if result else None


def test_equal_lengths_go_to_the_oldest_pattern_every_time() -> None:
    """Two equally long patterns matching the same number: the older wins, in any input order."""
    older = make_entry("PNolder", "165.*", created=100.0)
    newer = make_entry("PNnewer", "16.5*", created=200.0)
    for _ in range(20):
        assert winner(OrgMatcher([older, newer]), "16505551234") == "PNolder"
        assert winner(OrgMatcher([newer, older]), "16505551234") == "PNolder"


def test_equal_lengths_and_times_go_to_the_lower_sid() -> None:
    """With equal lengths and creation times the sid breaks the tie, so order is total."""
    a = make_entry("PNa", "165.*", created=1.0)
    b = make_entry("PNb", "16.*5", created=1.0)
    assert winner(OrgMatcher([b, a]), "1655") == "PNa"


def test_a_higher_priority_pattern_on_a_later_spelling_wins() -> None:
    """Patterns are tried in priority order, each against every spelling, before the next."""
    entries = [make_entry("PNshort", "165.*"), make_entry("PNlong", "+16505.*")]
    result = OrgMatcher(entries).match(["16505551234", "+16505551234"])
    assert result == MatchResult(entries[1], "+16505551234")


def test_the_winning_pattern_reports_its_first_matching_spelling() -> None:
    """When the winner matches several spellings, the first one in the given order is named."""
    entries = [make_entry("PN1", "+?16505.*")]
    result = OrgMatcher(entries).match(["+16505551234", "16505551234"])
    assert result is not None
    assert result.spelling == "+16505551234"


def test_an_invalid_pattern_is_skipped_and_logged() -> None:
    """A stored pattern that does not compile is logged at build and never aborts matching."""
    bad = make_entry("PNbad", "((16.*")
    good = make_entry("PNgood", "16.*")
    with capture_logs() as logs:
        matcher = OrgMatcher([bad, good])
    assert [(log["event"], log["sid"]) for log in logs] == [("pattern_invalid", "PNbad")]
    assert "does not compile" in logs[0]["error"]
    assert matcher.invalid == (bad,)
    assert len(matcher) == 1
    assert winner(matcher, "16505551234") == "PNgood"


def test_an_empty_matcher_matches_nothing() -> None:
    """With no patterns, match returns None and trace is empty."""
    matcher = OrgMatcher([])
    assert matcher.match(["16505551234"]) is None
    assert matcher.trace(["16505551234"], limit=10) == ((), False)
    assert matcher.explain(["16505551234"]).winner is None


def test_plain_numbers_are_not_patterns() -> None:
    """Entries that are plain numbers or names are ignored: the exact stage serves them."""
    matcher = OrgMatcher([make_entry("PN1", "+16505551234"), make_entry("PN2", "alice")])
    assert len(matcher) == 0
    assert matcher.match(["+16505551234", "alice"]) is None


def test_the_catch_all_catches_what_nothing_else_does() -> None:
    """The catch-all `*` ranks last and takes any spelling the other patterns miss."""
    entries = [make_entry("PNall", "*"), make_entry("PN44", "44.*")]
    matcher = OrgMatcher(entries)
    assert winner(matcher, "4420") == "PN44"
    assert winner(matcher, "1650") == "PNall"
    assert winner(matcher, "*123#") == "PNall"


def test_a_timed_out_pattern_counts_as_no_match() -> None:
    """A catastrophic pattern that only `regex` can run (a backreference) and that runs
    out of time is logged, and the next pattern wins."""
    entries = [make_entry("PNslow", r"(1)\1(1|11|111)+#"), make_entry("PNany", "1.*")]
    matcher = OrgMatcher(entries, timeout_s=0.02)
    with capture_logs() as logs:
        assert winner(matcher, "1" * 40) == "PNany"
    assert [log["event"] for log in logs] == ["pattern_timeout"]


def test_the_automaton_decides_catastrophic_patterns_without_running_them() -> None:
    """A pattern `regex` would backtrack on for ages is decided by the automaton: the
    true answer, at once, with no timeout."""
    slow = [make_entry(f"PN{n}", f"{n % 10}(1|11|111)+#") for n in range(50)]
    matcher = OrgMatcher(slow, timeout_s=0.5)
    with capture_logs() as logs:
        assert winner(matcher, "1" * 40) is None
        assert winner(matcher, "1" * 40 + "#") == "PN1"
    assert logs == []


def test_trace_lists_every_attempt_up_to_the_winner() -> None:
    """The dry run shows each (pattern, spelling) tried in order, ending at the winner."""
    entries = [make_entry("PN1", "1.*"), make_entry("PN2", "+165.*"), make_entry("PN3", "9.*")]
    matcher = OrgMatcher(entries)
    steps, truncated = matcher.trace(["165", "+165"], limit=10)
    assert [(s.entry.sid, s.spelling, s.outcome) for s in steps] == [
        ("PN2", "165", MatchOutcome.NO_MATCH),
        ("PN2", "+165", MatchOutcome.MATCH),
    ]
    assert not truncated
    steps, truncated = matcher.trace(["7"], limit=10)
    assert [s.entry.sid for s in steps] == ["PN2", "PN1", "PN3"]
    assert {s.outcome for s in steps} == {MatchOutcome.NO_MATCH}
    assert not truncated
    steps, truncated = matcher.trace(["7", "+7"], limit=3)
    assert [(s.entry.sid, s.spelling) for s in steps] == [("PN2", "7"), ("PN2", "+7"), ("PN1", "7")]
    assert truncated


def test_a_rebuild_compiles_only_new_pattern_texts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Building from the matcher being replaced reuses its compiled patterns."""
    first = OrgMatcher([make_entry("PN1", "16.*"), make_entry("PN2", "44.*")])
    compiled: list[str] = []

    def counting_compile(pattern: str) -> CompiledPattern:
        compiled.append(pattern)
        return compile_pattern(pattern)

    monkeypatch.setattr("router.patterns.dialect.compile_pattern", counting_compile)
    second = OrgMatcher([make_entry("PN1", "16.*"), make_entry("PN3", "165.*")], previous=first)
    assert compiled == ["165.*"]
    assert winner(second, "16505551234") == "PN3"
    assert winner(second, "1605") == "PN1"
    assert winner(second, "4405") is None


# Patterns the automaton cannot decide alone: a wider expression proposes and `regex`
# confirms (lookarounds, word boundaries, possessive and atomic repeats), `regex` alone
# runs them (backreferences, inline flags, fuzzy matching), or hyperscan refuses the
# expression (a repeat bound too large).
REGEX_DECIDED = st.sampled_from(
    [
        r"(?=1)\d+",
        r"(?!12)\d{2,4}",
        r"\b1.*",
        r"1*+1",
        r"(?>1+)1",
        r"(1|2)\1.*",
        r"(?i)1.*",
        r"(?:12){e<=1}",
        r"1\d{0,40000}",
        r"^(1)\1\d*$",
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    organization=organizations(),
    special=st.lists(st.tuples(REGEX_DECIDED, created), min_size=1, max_size=4),
)
def test_patterns_regex_must_decide_keep_their_place_in_the_order(
    organization: tuple[list[PatternEntry], list[str]],
    special: list[tuple[str, float]],
) -> None:
    """Mixed with ordinary patterns, those only `regex` can decide (or that hyperscan
    refuses) win exactly when the naive scan says so, in priority order."""
    entries, spellings = organization
    entries = [
        *entries,
        *(PatternEntry(f"PS{i:032x}", text, when) for i, (text, when) in enumerate(special)),
    ]
    with capture_logs():
        expected = naive_match(entries, spellings)
        matcher = OrgMatcher(entries)
        assert matcher.match(spellings) == expected
        assert matcher.explain(spellings).winner == expected
        assert matcher.updated(entries[1:]).match(spellings) == naive_match(entries[1:], spellings)
