"""Errors name fields, not wire parameters: a Python caller reads the field names, the
API renders the parameter names of its mount."""

from __future__ import annotations

import pytest

from router.api.parameter_names import parameter_name
from router.errors import Field, Invalid, NotFound
from router.provisioning import check_fallbacks


def test_a_field_error_reads_by_field_name_and_renders_by_parameter_name() -> None:
    with pytest.raises(Invalid) as raised:
        check_fallbacks({"sms_fallback_url": "http://127.0.0.1:9/f"})
    error = raised.value
    assert (
        error.message
        == "Invalid sms_fallback_url: a fallback URL needs sms_url or sms_application_sid."
    )
    assert error.param == "sms_fallback_url"
    assert error.field == "sms_fallback_url"
    assert error.code == 21405
    assert error.message_for(parameter_name) == (
        "Invalid SmsFallbackUrl: a fallback URL needs SmsUrl or SmsApplicationSid."
    )
    assert error.param_for(parameter_name) == "SmsFallbackUrl"
    assert str(error) == error.message


def test_a_message_without_fields_is_the_same_for_everyone() -> None:
    error = NotFound("Call CA1 was not found.", param="CallSid")
    assert error.message == error.message_for(parameter_name) == "Call CA1 was not found."
    assert error.param == error.param_for(parameter_name) == "CallSid"
    assert error.field is None


def test_braces_in_a_message_are_text_not_placeholders() -> None:
    """Messages quote client input (a pattern such as 1{2}); nothing in it is formatted."""
    error = Invalid(("Invalid ", Field("phone_number"), ": the pattern '1{2}{0}' is bad."))
    assert error.message_for(parameter_name) == "Invalid PhoneNumber: the pattern '1{2}{0}' is bad."
    assert error.param is None


@pytest.mark.parametrize(
    ("field", "parameter"),
    [
        ("voice_url", "VoiceUrl"),
        ("status_callback_method", "StatusCallbackMethod"),
        ("ussd_application_sid", "UssdApplicationSid"),
        ("kind", "Kind"),
    ],
)
def test_parameter_names(field: str, parameter: str) -> None:
    assert parameter_name(field) == parameter


def test_of_field_reads_placeholders_of_the_named_fields_only() -> None:
    error = Invalid.of_field(
        "sign_with_auth_token",
        "Invalid {sign_with_auth_token}: give {signing_key} or {sign_with_auth_token}, not {x}.",
        "signing_key",
    )
    assert error.field == "sign_with_auth_token"
    assert error.message == (
        "Invalid sign_with_auth_token: give signing_key or sign_with_auth_token, not {x}."
    )
    assert error.message_for(parameter_name) == (
        "Invalid SignWithAuthToken: give SigningKey or SignWithAuthToken, not {x}."
    )
