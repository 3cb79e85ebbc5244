"""E.164 numbers of the inventory: their check, type, display form, area code and
country.

Pure functions over `phonenumbers`; no I/O. They run at provisioning and import time
(the routing hot path spells dialed strings in router.spellings).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final, Literal

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat, geocoder

from router.errors import Invalid

__all__ = [
    "E164_EXAMPLE",
    "FRIENDLY_NAME_MAX",
    "InventoryNumberType",
    "area_code_belongs",
    "area_code_of",
    "country_name",
    "country_of",
    "friendly_name",
    "parse_e164",
    "parse_number_type",
    "uses_calling_code",
]

InventoryNumberType = Literal["local", "tollfree", "mobile"]
"""The kinds of number the operator's inventory holds (the URL suffixes of SPEC 2.1)."""

E164_EXAMPLE: Final = "+15105555555"
FRIENDLY_NAME_MAX: Final = 64

# E.164 allows at most 15 digits; the bound lets us refuse long input before the
# (slow) parser sees it.
_E164_MAX_DIGITS: Final = 15
_NANP_COUNTRY_CODE: Final = 1
_NANP_AREA_CODE_LENGTH: Final = 3

_NUMBER_TYPES: Final[dict[str, InventoryNumberType]] = {
    "local": "local",
    "tollfree": "tollfree",
    "mobile": "mobile",
}


def parse_e164(value: str, *, param: str = "PhoneNumber") -> str:
    """Check an inventory number and return its canonical E.164 form.

    `value` must be `+` then ASCII digits only, and `phonenumbers` must find it a
    *possible* number (right length for a known country code). Validity is not
    required: test ranges such as `+15105555555` must load, and validity metadata
    changes between library releases. Raises `Invalid` (code 21421) naming `param`.
    """
    digits = value[1:]
    # str.isdigit alone accepts Arabic-Indic digits and superscripts.
    if not value.startswith("+") or not (digits.isascii() and digits.isdigit()):
        raise _not_e164(param)
    if len(digits) > _E164_MAX_DIGITS:
        raise _not_e164(param)
    number = _parse_international(value)
    if number is None or not phonenumbers.is_possible_number(number):
        raise _not_e164(param)
    canonical: str = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return canonical


def _not_e164(param: str) -> Invalid:
    return Invalid.param_value(param, f"must be an E.164 number such as {E164_EXAMPLE}", code=21421)


# Importing a row checks, then derives area code and country from, the same
# number: a small cache saves two parses of three. The PhoneNumber objects are
# shared, so nothing here may mutate them.
@lru_cache(maxsize=64)
def _parse_international(value: str) -> PhoneNumber | None:
    try:
        number: PhoneNumber = phonenumbers.parse(value, None)
    except NumberParseException:
        return None
    return number


def parse_number_type(value: str, *, param: str = "Type") -> InventoryNumberType:
    """Read an inventory number type: local, tollfree or mobile.

    Case, spaces, `-` and `_` are ignored, so `TollFree`, `toll-free` and
    `Toll Free` all mean `tollfree`. Raises `Invalid` naming `param` otherwise.
    """
    key = "".join(c for c in value.lower() if c not in " -_")
    number_type = _NUMBER_TYPES.get(key)
    if number_type is None:
        raise Invalid.param_value(param, "must be one of local, tollfree, mobile")
    return number_type


def friendly_name(phone_number: str, *, pure_sip: bool) -> str:
    """Return the default FriendlyName of a number (SPEC 2.1).

    National format for an E.164 number (`+15105555555` gives `(510) 555-5555`),
    the value as stored for a SIP number or anything that does not parse; cut to
    64 characters.
    """
    name = phone_number
    if not pure_sip and phone_number.startswith("+"):
        number = _parse_international(phone_number)
        if number is not None:
            name = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    return name[:FRIENDLY_NAME_MAX]


def area_code_of(e164: str) -> str | None:
    """Return the area code of an E.164 number, or None when it has none.

    For NANP numbers (+1) the three digits after the country code, toll-free
    prefixes included (800 is what people search toll-free numbers by). Elsewhere
    the geographic area code `phonenumbers` knows; mobile and non-geographic
    numbers have none.
    """
    number = _parse_international(e164)
    if number is None:
        return None
    national: str = phonenumbers.national_significant_number(number)
    if number.country_code == _NANP_COUNTRY_CODE:
        length = _NANP_AREA_CODE_LENGTH
    else:
        length = phonenumbers.length_of_geographical_area_code(number)
    return national[:length] if 0 < length <= len(national) else None


def area_code_belongs(e164: str, area_code: str) -> bool:
    """Whether ``area_code`` is the number's: its derived area code when it has one
    (for NANP the first three national digits), else a leading part of its national
    number (the operator may know an area code `phonenumbers` does not)."""
    derived = area_code_of(e164)
    if derived is not None:
        return area_code == derived
    number = _parse_international(e164)
    if number is None:
        return False
    national: str = phonenumbers.national_significant_number(number)
    return national.startswith(area_code) and len(area_code) < len(national)


def country_of(e164: str) -> str | None:
    """Return the ISO 3166 alpha-2 country of an E.164 number, or None.

    The region `phonenumbers` assigns to the number's range; when the range is not
    in its metadata (a new area code), the main country of the calling code. None
    for numbers that do not parse and for non-geographic codes such as +800.
    """
    number = _parse_international(e164)
    if number is None:
        return None
    region: str | None = phonenumbers.region_code_for_number(number)
    if region is None and number.country_code is not None:
        region = phonenumbers.region_code_for_country_code(number.country_code)
    return region if region is not None and _is_country_code(region) else None


def country_name(country: str) -> str | None:
    """Return the English name of an ISO 3166 alpha-2 country (`US`: United States), or
    None when `phonenumbers` does not know it."""
    example = phonenumbers.example_number(country.upper())
    if example is None:
        return None
    name: str = geocoder.country_name_for_number(example, "en")
    return name or None


def uses_calling_code(e164: str, country: str) -> bool:
    """Tell whether `country` (ISO 3166 alpha-2) dials the calling code of `e164`.

    Deliberately looser than comparing regions: countries share codes (+1, +7,
    +44 with GG, IM, JE) and range metadata lags behind operators, who know where
    their own numbers live. It still catches a +44 number filed under US.
    """
    number = _parse_international(e164)
    if number is None:
        return False
    calling_code: int = phonenumbers.country_code_for_region(country.upper())
    return calling_code != 0 and calling_code == number.country_code


def _is_country_code(region: str) -> bool:
    # phonenumbers uses "001" for non-geographic codes and "ZZ" for unknown.
    return len(region) == 2 and region.isascii() and region.isalpha() and region != "ZZ"
