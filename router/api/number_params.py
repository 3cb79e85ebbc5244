"""The IncomingPhoneNumbers parameters: wire names, validation, and list paging."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from router import e164, patterns
from router.api import params
from router.domain import NumberFilter, NumberRequest, NumberType, PageRequest, SortKey
from router.errors import Invalid
from router.provisioning import check_fallbacks

Parser = Callable[[Mapping[str, str], str], object]

# Wire parameter -> (field, parser). The empty string clears URLs and sids.
SETTINGS: dict[str, tuple[str, Parser]] = {
    "FriendlyName": ("friendly_name", params.text),
    "ApiVersion": ("api_version", params.api_version),
    "VoiceUrl": ("voice_url", params.url),
    "VoiceMethod": ("voice_method", params.method),
    "VoiceFallbackUrl": ("voice_fallback_url", params.url),
    "VoiceFallbackMethod": ("voice_fallback_method", params.method),
    "StatusCallback": ("status_callback", params.url),
    "StatusCallbackMethod": ("status_callback_method", params.method),
    "VoiceCallerIdLookup": ("voice_caller_id_lookup", params.boolean),
    "VoiceApplicationSid": ("voice_application_sid", lambda p, n: params.sid(p, n, "AP")),
    "SmsUrl": ("sms_url", params.url),
    "SmsMethod": ("sms_method", params.method),
    "SmsFallbackUrl": ("sms_fallback_url", params.url),
    "SmsFallbackMethod": ("sms_fallback_method", params.method),
    "SmsApplicationSid": ("sms_application_sid", lambda p, n: params.sid(p, n, "AP")),
    "ReferUrl": ("refer_url", params.url),
    "ReferMethod": ("refer_method", params.method),
    "ReferApplicationSid": ("refer_application_sid", lambda p, n: params.sid(p, n, "AP")),
    "UssdUrl": ("ussd_url", params.url),
    "UssdMethod": ("ussd_method", params.method),
    "UssdFallbackUrl": ("ussd_fallback_url", params.url),
    "UssdFallbackMethod": ("ussd_fallback_method", params.method),
    "UssdApplicationSid": ("ussd_application_sid", lambda p, n: params.sid(p, n, "AP")),
    "VoiceCapable": ("voice_capable", params.boolean),
    "SmsCapable": ("sms_capable", params.boolean),
    "MmsCapable": ("mms_capable", params.boolean),
    "FaxCapable": ("fax_capable", params.boolean),
}
# The seed's statusCallback section spells these in lower camel case.
ALIASES = {"statusCallback": "StatusCallback", "statusCallbackMethod": "StatusCallbackMethod"}

TYPE_ROUTES = {
    "Local": NumberType.LOCAL,
    "TollFree": NumberType.TOLLFREE,
    "Mobile": NumberType.MOBILE,
}
SORT_KEYS = {
    "PhoneNumber": SortKey.PHONE_NUMBER.value,
    "FriendlyName": SortKey.FRIENDLY_NAME.value,
    "DateCreated": SortKey.DATE_CREATED.value,
}
MAX_PHONE_NUMBER = 256


def settings(
    raw: Mapping[str, str], *, api_versions: frozenset[str] = params.API_VERSIONS
) -> dict[str, object]:
    """The present settable parameters, validated, keyed by field name; ApiVersion
    takes the values the caller's mount accepts."""
    canonical = dict(raw)
    for alias, name in ALIASES.items():
        if alias in raw and name not in raw:
            canonical[name] = raw[alias]
    found: dict[str, object] = {}
    for name, (field, parse) in SETTINGS.items():
        if name in canonical:
            if name == "ApiVersion":
                value: object = params.api_version(canonical, name, api_versions)
            else:
                value = parse(canonical, name)
            found[field] = None if value == "" else value
    return found


def update_request(
    raw: Mapping[str, str], *, api_versions: frozenset[str] = params.API_VERSIONS
) -> dict[str, object]:
    """The settings an update changes; the number itself cannot change."""
    for fixed in ("PhoneNumber", "isSIP"):
        if fixed in raw:
            raise Invalid(
                f"Invalid {fixed}: it cannot change; provision a new number.", param=fixed
            )
    return settings(raw, api_versions=api_versions)


def new_account_sid(raw: Mapping[str, str]) -> str | None:
    """The account an update transfers the number to (AccountSid), if any."""
    target_sid = params.sid(raw, "AccountSid", "AC")
    if target_sid == "":
        raise Invalid(
            "Invalid AccountSid: must be a 34-character sid starting with AC.", param="AccountSid"
        )
    return target_sid


def provision_request(
    raw: Mapping[str, str],
    number_type: NumberType | None,
    *,
    api_versions: frozenset[str] = params.API_VERSIONS,
) -> NumberRequest:
    """A provisioning request: exactly one of PhoneNumber or AreaCode (AreaCode wins)."""
    pure_sip = bool(params.boolean(raw, "isSIP"))
    if pure_sip and number_type is not None and "AreaCode" not in raw:
        # Restcomm's own clients post SIP numbers to Local.json: a SIP number, exactly
        # as on the list resource (SPEC 2.1).
        number_type = None
    area_code = _area_code(raw, number_type, pure_sip)
    phone_number = None if area_code else _phone_number(raw, pure_sip)
    values = settings(raw, api_versions=api_versions)
    check_fallbacks(values)
    return NumberRequest(
        phone_number=phone_number,
        area_code=area_code,
        pure_sip=pure_sip,
        number_type=number_type,
        settings=values,
    )


def _area_code(
    raw: Mapping[str, str], number_type: NumberType | None, pure_sip: bool
) -> str | None:
    value = raw.get("AreaCode")
    if value is None:
        return None
    if number_type is not None:
        raise Invalid(
            "Invalid AreaCode: not accepted on this resource; give PhoneNumber.", param="AreaCode"
        )
    if pure_sip:
        raise Invalid(
            "Invalid AreaCode: SIP numbers (isSIP=true) need PhoneNumber.", param="AreaCode"
        )
    if not (value.isascii() and value.isdigit() and 1 <= len(value) <= 6):
        raise Invalid("Invalid AreaCode: must be 1 to 6 digits, e.g. 510.", param="AreaCode")
    return value


def _phone_number(raw: Mapping[str, str], pure_sip: bool) -> str:
    value = plus_from_form(raw.get("PhoneNumber"))
    if value is None or value == "":
        raise Invalid(
            "Missing PhoneNumber: give PhoneNumber (E.164, e.g. +15105555555) or AreaCode.",
            param="PhoneNumber",
            code=21421,
        )
    if not pure_sip:
        if patterns.is_pattern(value) and not value.startswith("+"):
            raise Invalid(
                "Invalid PhoneNumber: a pattern needs isSIP=true.", param="PhoneNumber", code=21421
            )
        return e164.parse_e164(value, param="PhoneNumber")
    return sip_number(value)


def plus_from_form(value: str | None) -> str | None:
    """An unescaped `+` in a form body decodes as a space (curl -d 'PhoneNumber=+1...'):
    read a leading space as the `+` the client meant."""
    if value and value.startswith(" ") and not value.startswith("  "):
        return "+" + value[1:]
    return value


def sip_number(value: str) -> str:
    """A SIP number: digits, *, #, + or a pattern of the dialect."""
    if len(value) > MAX_PHONE_NUMBER:
        raise Invalid(
            f"Invalid PhoneNumber: at most {MAX_PHONE_NUMBER} characters.",
            param="PhoneNumber",
            code=21421,
        )
    if not value.isprintable():  # a pattern may compile with a NUL the database refuses
        raise Invalid(
            "Invalid PhoneNumber: control characters are not allowed.",
            param="PhoneNumber",
            code=21421,
        )
    if patterns.is_pattern(value):
        try:
            patterns.validate_pattern(value)
        except Invalid as error:  # SPEC 8: every invalid PhoneNumber is code 21421
            raise Invalid(error.parts, param=error.field or "PhoneNumber", code=21421) from error
        return value
    digits = value.removeprefix("+")  # a plain number may be written +digits (SPEC 2.1)
    if not digits.isascii() or not digits.isdigit():
        raise Invalid(
            "Invalid PhoneNumber: a SIP number holds digits, *, #, + or a regular expression.",
            param="PhoneNumber",
            code=21421,
        )
    return value


def list_filter(
    raw: Mapping[str, str], account_sid: str, number_type: NumberType | None
) -> NumberFilter:
    phone = plus_from_form(raw.get("PhoneNumber"))
    if phone is not None and (
        len(phone) > 64 or not all(c.isascii() and (c.isdigit() or c in "+*#") for c in phone)
    ):
        raise Invalid(
            "Invalid PhoneNumber: a filter of up to 64 digits, + and #; * stands for one digit.",
            param="PhoneNumber",
        )
    params.boolean(raw, "Beta")  # accepted; every number counts as non-beta
    sort = params.choice(raw, "SortBy", SORT_KEYS) or SortKey.DATE_CREATED.value
    return NumberFilter(
        account_sid=account_sid,
        phone_number=phone or None,
        friendly_name=params.text(raw, "FriendlyName") if raw.get("FriendlyName") else None,
        number_type=number_type,
        sort=SortKey(sort),
        reverse=bool(params.boolean(raw, "Reverse")),
    )


def page_request(raw: Mapping[str, str], *, default_size: int, max_size: int) -> PageRequest:
    return PageRequest(
        page=params.integer(raw, "Page", default=0, low=0, high=10_000_000),
        page_size=params.integer(raw, "PageSize", default=default_size, low=1, high=max_size),
        after_sid=params.sid(raw, "AfterSid", "PN") or None,
    )
