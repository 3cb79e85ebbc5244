"""The spellings of a dialed string that resolution looks up (SPEC 3.1).

On the routing hot path: cached, and plain US numbers are spelled without the
`phonenumbers` parser (a property test holds the shortcut equal to it). Pure.
"""

from __future__ import annotations

import re
import string
from functools import cache, lru_cache
from typing import Final

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

__all__ = ["load_metadata", "spellings"]

# Dialed strings longer than this are never cached: a caller could otherwise fill
# the cache with large keys. Real numbers, even formatted, are far shorter.
_CACHED_MAX_LENGTH: Final = 64
_SPELLINGS_CACHE_SIZE: Final = 100_000
_NANP_AREA_FIRST: Final = frozenset("23456789")
_NO_E164_ASCII: Final = frozenset("*#" + string.ascii_letters)


def spellings(to: str, default_region: str) -> tuple[str, ...]:
    """Return the spellings of a dialed string to look up, in order (SPEC 3.1).

    Up to three, without repeats:

    a. `to` exactly as received;
    b. its E.164 form, parsed in `default_region` (an upper-case ISO 3166 code
       such as "US"). Skipped when `to` holds `*`, `#` or a letter, when it does
       not parse, or when the parse is not a possible number for its country.
       Letters are refused because `phonenumbers` reads them as vanity digits or
       drops them, which would turn a SIP user name such as `bob5551234` into
       somebody's phone number;
    c. `to` with its leading `+` removed, or with a `+` added when it has none;
       only when the rest is ASCII digits, since `+*123#` or `+alice` name nothing.

    Never raises: garbage input yields at least `(to,)`.
    """
    if len(to) > _CACHED_MAX_LENGTH:
        return _spellings(to, default_region)
    return _cached_spellings(to, default_region)


def load_metadata() -> None:
    """Load the numbering plans of every region now (about 40 ms and 1.5 MB, once per
    process). `phonenumbers` otherwise imports a region's plan when it first parses a
    number of it, which doubled the cost of first-time spellings of international
    numbers while a service warms up."""
    phonenumbers.PhoneMetadata.load_all()
    _calling_plans()


def _spellings(to: str, default_region: str) -> tuple[str, ...]:
    candidates = (to, _e164_spelling(to, default_region), _toggled_plus(to))
    # dict.fromkeys keeps first-seen order while dropping repeats.
    return tuple(dict.fromkeys(c for c in candidates if c is not None))


# Parsing costs tens of microseconds and the same numbers are dialed again and again.
_cached_spellings = lru_cache(maxsize=_SPELLINGS_CACHE_SIZE)(_spellings)


def _e164_spelling(to: str, default_region: str) -> str | None:
    if not to or not (
        _NO_E164_ASCII.isdisjoint(to) if to.isascii() else _has_no_letter_star_hash(to)
    ):
        return None
    if to[0] == "+":
        known = _international_e164(to)
    elif default_region == "US":
        known = _plain_us_e164(to)
    else:
        known = _ASK_THE_PARSER
    return _parsed_e164(to, default_region) if known is _ASK_THE_PARSER else known


_ASK_THE_PARSER: Final = "?"


def _has_no_letter_star_hash(to: str) -> bool:
    return not any(c in "*#" or c.isalpha() for c in to)


def _plain_us_e164(to: str) -> str | None:
    """What `phonenumbers` answers for plain digit strings (no `+`: those are
    `_international_e164`'s) dialed in the US, in a tenth of the parser's time: a
    number not starting with 0 or 1 is national, possible only with 7 or 10 digits; 1
    then a 10-digit national number is the same number. Anything else gives
    `_ASK_THE_PARSER`. A property test holds it equal to the parser."""
    if not _is_ascii_digits(to):
        return _ASK_THE_PARSER
    if to[0] in _NANP_AREA_FIRST:
        return "+1" + to if len(to) in (7, 10) else None
    if len(to) == 11 and to[0] == "1" and to[1] in _NANP_AREA_FIRST:
        return "+" + to
    return _ASK_THE_PARSER


def _international_e164(to: str) -> str | None:
    """What `phonenumbers` answers for `+` then ASCII digits, whatever the default
    region, in a tenth of its time, when no national prefix can be in the number: the
    parser takes the calling code (ITU codes are prefix-free), and the number after it
    is `to` itself when its length is possible for that code, else nothing. When the
    calling plan's national prefix could begin the rest (the parser may strip it), or
    for what the parser refuses (no known code, too short or long), `_ASK_THE_PARSER`.
    A property test holds it equal to the parser."""
    digits = to[1:]
    if not 3 <= len(digits) <= _MAX_DIGITS or not _is_ascii_digits(digits):
        return _ASK_THE_PARSER
    plans = _calling_plans()
    for size in (1, 2, 3):
        plan = plans.get(digits[:size])
        if plan is not None:
            break
    else:
        return _ASK_THE_PARSER
    possible_lengths, national_prefix = plan
    national = digits[size:]
    if len(national) < 2 or (national_prefix is not None and national_prefix.match(national)):
        return _ASK_THE_PARSER
    return to if len(national) in possible_lengths else None


# A calling code's plan: the lengths of national numbers phonenumbers calls possible
# under it, and the pattern of its national prefix as the parser reads it (or None).
_Plan = tuple[frozenset[int], "re.Pattern[str] | None"]
# A calling code (3 digits at most) and a national number of at most 17.
_MAX_DIGITS: Final = 3 + 17


@cache
def _calling_plans() -> dict[str, _Plan]:
    """Each calling code's plan, read from phonenumbers' own metadata once; whether
    a length is possible is asked of phonenumbers itself (it depends on the length
    alone)."""
    plans: dict[str, _Plan] = {}
    for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
        region = phonenumbers.region_code_for_country_code(code)
        metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(code, region)
        if metadata is None:
            continue
        lengths = frozenset(
            length
            for length in range(2, 18)
            if phonenumbers.is_possible_number(
                phonenumbers.PhoneNumber(country_code=code, national_number=int("5" * length))
            )
        )
        prefix = metadata.national_prefix_for_parsing
        plans[str(code)] = (lengths, re.compile(prefix) if prefix else None)
    return plans


def _parsed_e164(to: str, default_region: str) -> str | None:
    try:
        number = phonenumbers.parse(to, default_region)
    except NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    e164: str = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return e164


def _toggled_plus(to: str) -> str | None:
    if to.startswith("+"):
        rest = to[1:]
        return rest if _is_ascii_digits(rest) else None
    return "+" + to if _is_ascii_digits(to) else None


def _is_ascii_digits(text: str) -> bool:
    # str.isdigit alone accepts Arabic-Indic digits and superscripts.
    return text.isascii() and text.isdigit()
