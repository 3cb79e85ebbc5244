"""Dialed-string spellings, E.164 checks and display forms (router.spellings, router.e164)."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router.e164 import (
    area_code_of,
    country_of,
    friendly_name,
    parse_e164,
    parse_number_type,
    uses_calling_code,
)
from router.errors import Invalid
from router.spellings import spellings


@pytest.mark.parametrize(
    ("to", "expected"),
    [
        ("16505551234", ("16505551234", "+16505551234")),
        ("6505551234", ("6505551234", "+16505551234", "+6505551234")),
        ("+16505551234", ("+16505551234", "16505551234")),
        ("650-555-1234", ("650-555-1234", "+16505551234")),
    ],
)
def test_spellings_follow_spec_order_without_repeats(to: str, expected: tuple[str, ...]) -> None:
    """Spellings are as received, E.164, then plus toggled, each kept once."""
    assert spellings(to, "US") == expected


@pytest.mark.parametrize("to", ["*123#", "#31#6505551234", "123*", "*"])
def test_spellings_skip_e164_and_plus_for_star_and_hash(to: str) -> None:
    """A string holding * or # is only looked up as received."""
    assert spellings(to, "US") == (to,)


def test_spellings_use_the_default_region() -> None:
    """A national number is read in the configured region."""
    assert spellings("02071838750", "GB") == ("02071838750", "+442071838750", "+02071838750")


def test_spellings_skip_e164_for_impossible_numbers() -> None:
    """A short code that parses but is not a possible number gets no E.164 spelling."""
    assert spellings("911", "US") == ("911", "+911")


def test_spellings_skip_e164_for_letters() -> None:
    """A SIP user name with digits is not read as a vanity phone number."""
    assert spellings("bob5551234", "US") == ("bob5551234",)


def test_spellings_skip_e164_for_an_unknown_region() -> None:
    """A region phonenumbers does not know leaves the other spellings intact."""
    assert spellings("6505551234", "ZZ") == ("6505551234", "+6505551234")


@pytest.mark.parametrize(
    "to", ["", "abc", "+", "x" * 10_000, "9" * 10_000, "١٢٣", "٦٥٠٥٥٥١٢٣٤", "\x00", "1\x002"]
)
def test_spellings_never_raise_on_garbage(to: str) -> None:
    """Garbage input yields at least itself and never a plus on non-ASCII digits."""
    result = spellings(to, "US")
    assert result[0] == to
    assert not any(s.startswith("+") and not s[1:].isascii() for s in result)


@given(st.text(max_size=80), st.sampled_from(["US", "GB", "FR", "ZZ", ""]))
def test_spellings_always_start_with_input_and_are_distinct(to: str, region: str) -> None:
    """Any string gives one to three distinct spellings, the input first."""
    result = spellings(to, region)
    assert 1 <= len(result) <= 3
    assert len(set(result)) == len(result)
    assert result[0] == to


@given(st.text(alphabet="0123456789+*#-() ", max_size=20))
def test_spellings_of_dial_strings_never_raise(to: str) -> None:
    """Strings made of dialing characters give valid spellings too."""
    result = spellings(to, "US")
    assert result[0] == to
    assert len(set(result)) == len(result) <= 3


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+15105555555", "+15105555555"),
        ("+442071838750", "+442071838750"),
        ("+4402071838750", "+442071838750"),
    ],
)
def test_parse_e164_returns_the_canonical_form(value: str, expected: str) -> None:
    """Possible numbers pass, including the seed's 555 example, in canonical form."""
    assert parse_e164(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "+",
        "15105555555",
        "+1510555555a",
        "+1 510 555 5555",
        "+1234567890123456",
        "+1510",
        "+1",
        "+015105555555",
        "+999123456789",
        "+١٥١٠٥٥٥٥٥٥٥",
        " +15105555555",
    ],
)
def test_parse_e164_rejects_what_is_not_e164(value: str) -> None:
    """Anything but a plus and a possible number's digits is Invalid 21421."""
    with pytest.raises(Invalid) as raised:
        parse_e164(value)
    assert raised.value.code == 21421
    assert raised.value.param == "PhoneNumber"
    assert "PhoneNumber" in raised.value.message
    assert "must be an E.164 number such as +15105555555" in raised.value.message


def test_parse_e164_names_the_given_parameter() -> None:
    """The caller chooses which parameter the error names."""
    with pytest.raises(Invalid) as raised:
        parse_e164("nope", param="number")
    assert raised.value.param == "number"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("local", "local"),
        ("LOCAL", "local"),
        ("tollfree", "tollfree"),
        ("TollFree", "tollfree"),
        ("toll-free", "tollfree"),
        ("Toll Free", "tollfree"),
        ("mobile", "mobile"),
    ],
)
def test_parse_number_type_accepts_usual_spellings(value: str, expected: str) -> None:
    """Type names are read regardless of case and separators."""
    assert parse_number_type(value) == expected


@pytest.mark.parametrize("value", ["", "landline", "sip"])
def test_parse_number_type_rejects_unknown_types(value: str) -> None:
    """An unknown type is Invalid and names the parameter."""
    with pytest.raises(Invalid) as raised:
        parse_number_type(value)
    assert raised.value.param == "Type"


@pytest.mark.parametrize(
    ("phone_number", "pure_sip", "expected"),
    [
        ("+15105555555", False, "(510) 555-5555"),
        ("+442071838750", False, "020 7183 8750"),
        ("+15105555555", True, "+15105555555"),
        ("1234*", True, "1234*"),
        ("nonsense", False, "nonsense"),
        ("9" * 100, True, "9" * 64),
    ],
)
def test_friendly_name_defaults(phone_number: str, pure_sip: bool, expected: str) -> None:
    """E.164 numbers read in national format, SIP numbers as stored, at most 64 chars."""
    assert friendly_name(phone_number, pure_sip=pure_sip) == expected


@pytest.mark.parametrize(
    ("e164", "expected"),
    [
        ("+15105555555", "510"),
        ("+18005551234", "800"),
        ("+442071838750", "20"),
        ("+447911123456", None),
        ("+80012345678", None),
        ("garbage", None),
    ],
)
def test_area_code_of(e164: str, expected: str | None) -> None:
    """NANP numbers give three digits, others their geographic code or nothing."""
    assert area_code_of(e164) == expected


@pytest.mark.parametrize(
    ("e164", "expected"),
    [
        ("+15105555555", "US"),
        ("+442071838750", "GB"),
        ("+10005551234", "US"),
        ("+80012345678", None),
        ("garbage", None),
    ],
)
def test_country_of(e164: str, expected: str | None) -> None:
    """The number's region, else its calling code's main country, else None."""
    assert country_of(e164) == expected


@pytest.mark.parametrize(
    ("e164", "country", "expected"),
    [
        ("+15105555555", "US", True),
        ("+15105555555", "ca", True),
        ("+442071838750", "US", False),
        ("+442071838750", "XX", False),
        ("garbage", "US", False),
    ],
)
def test_uses_calling_code(e164: str, country: str, expected: bool) -> None:
    """A country matches a number when it dials the number's calling code."""
    assert uses_calling_code(e164, country) is expected


_NANP_SHAPED = st.tuples(
    st.sampled_from(["", "", "1", "+1", "+", "01", "011", "2", "9"]),
    st.text(alphabet="0123456789", min_size=0, max_size=16),
).map("".join)


@settings(max_examples=1000)
@given(_NANP_SHAPED)
def test_the_plain_north_american_shortcut_gives_the_parsers_e164(to: str) -> None:
    """The shortcut for plain NANP numbers dialed in the US answers exactly what
    phonenumbers answers (it falls back to the parser for anything else)."""
    from router import spellings as numbers

    assert numbers._e164_spelling(to, "US") == numbers._parsed_e164(to, "US")


_CALLING_CODES = sorted(str(code) for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
_INTERNATIONAL = st.tuples(
    st.sampled_from(["+"]),
    st.one_of(st.sampled_from(_CALLING_CODES), st.text(alphabet="0123456789", max_size=3)),
    # national prefixes of many plans (0, 1, 8, 06...) and plain digits
    st.sampled_from(["", "", "", "0", "1", "8", "06", "00"]),
    st.text(alphabet="0123456789", min_size=0, max_size=18),
).map("".join)


@settings(max_examples=3000)
@given(_INTERNATIONAL, st.sampled_from(["US", "GB", "DE", "IT", "BR", "001"]))
def test_the_international_shortcut_gives_the_parsers_e164(to: str, region: str) -> None:
    """For + and digits, the calling-plan shortcut answers exactly what phonenumbers
    answers in any default region, or leaves the number to the parser."""
    from router import spellings as numbers

    known = numbers._international_e164(to)
    if known is not numbers._ASK_THE_PARSER:
        assert known == numbers._parsed_e164(to, region)
    assert numbers._e164_spelling(to, region) == numbers._parsed_e164(to, region)


@pytest.mark.parametrize(
    ("to", "expected"),
    [
        ("+442071838750", "+442071838750"),  # a London number: itself
        ("+44207", None),  # too short for the UK plan
        ("+44207183875012", None),  # too long for it
        ("+390612345678", "+390612345678"),  # Italy keeps its leading zero
        ("+8613800138000", "+8613800138000"),
    ],
)
def test_the_international_shortcut_answers_plain_numbers_itself(
    to: str, expected: str | None
) -> None:
    from router import spellings as numbers

    assert numbers._international_e164(to) == expected == numbers._parsed_e164(to, "US")


def test_a_number_that_may_hold_a_national_prefix_is_left_to_the_parser() -> None:
    """+44 0 20...: the UK's national prefix 0 may begin the rest; the parser strips it."""
    from router import spellings as numbers

    assert numbers._international_e164("+4402071838750") is numbers._ASK_THE_PARSER
    assert numbers._e164_spelling("+4402071838750", "US") == "+442071838750"
