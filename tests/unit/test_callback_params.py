"""The request a reported call status fires (SPEC 6): URL, method and the voice parameter
set with the new CallStatus, Timestamp, SequenceNumber, CallbackSource and the optional
fields when given. Pure: no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import pytest

from router.domain import Call, CallStatus, IncomingNumber, NumberType
from router.webhooks.payloads import CallbackRequest, CallbackSettings, callback_request

CALL_SID = "CA" + "c" * 32
ACCOUNT_SID = "AC" + "a" * 32
WHEN = datetime(2024, 3, 9, 17, 45, 3, tzinfo=UTC)
OPTIONAL = {
    "OutboundCallSid": "CA" + "d" * 32,
    "ForwardedFrom": "+15550009999",
    "CallDuration": "42",
    "ReferTarget": "sip:bob@example.test",
    "Transferor": "alice",
    "Transferee": "carol",
}


def number(**fields: Any) -> IncomingNumber:
    values: dict[str, Any] = {
        "sid": "PN" + "1" * 32,
        "account_sid": ACCOUNT_SID,
        "organization_sid": "OR" + "2" * 32,
        "phone_number": "1234",
        "friendly_name": "1234",
        "api_version": "2012-04-24",
        "number_type": NumberType.SIP,
        "pure_sip": True,
        "voice_url": "http://127.0.0.1:9/voice",
        "status_callback": "http://hooks.example.test:8080/status?x=1",
        **fields,
    }
    return IncomingNumber(**values)


def call(**fields: Any) -> Call:
    values: dict[str, Any] = {
        "sid": CALL_SID,
        "number_sid": "PN" + "1" * 32,
        "account_sid": ACCOUNT_SID,
        "organization_sid": "OR" + "2" * 32,
        "from_number": "+15550001111",
        "to_number": "1234",
        "status": CallStatus.RINGING,
        "caller_name": None,
        "forwarded_from": None,
        "sip_headers": {},
        "date_created": WHEN,
        "date_updated": WHEN,
        **fields,
    }
    return Call(**values)


def build(
    status: CallStatus = CallStatus.IN_PROGRESS,
    details: dict[str, str] | None = None,
    *,
    the_call: Call | None = None,
    the_number: IncomingNumber | None = None,
    sequence_number: int = 0,
    timestamp: datetime = WHEN,
) -> CallbackRequest:
    request = callback_request(
        the_call or call(),
        CallbackSettings.of(the_number or number()),
        status,
        details or {},
        sequence_number=sequence_number,
        timestamp=timestamp,
    )
    assert request is not None
    return request


def test_callback_carries_the_voice_set_with_the_new_status_and_callback_fields() -> None:
    """Exactly the SPEC 5 voice parameters, CallStatus replaced by the reported one, plus
    Timestamp, SequenceNumber and CallbackSource."""
    request = build(CallStatus.COMPLETED, sequence_number=2)
    assert request.params == {
        "CallSid": CALL_SID,
        "AccountSid": ACCOUNT_SID,
        "From": "+15550001111",
        "To": "1234",
        "CallStatus": "completed",
        "ApiVersion": "2012-04-24",
        "Direction": "inbound",
        "Timestamp": "Sat, 09 Mar 2024 17:45:03 +0000",
        "SequenceNumber": "2",
        "CallbackSource": "call-progress-events",
    }


def test_callback_goes_to_the_status_callback_with_its_method_and_host() -> None:
    """URL and method are the number's StatusCallback and StatusCallbackMethod (query kept)."""
    request = build(the_number=number(status_callback_method="GET"))
    assert request.url == "http://hooks.example.test:8080/status?x=1"
    assert request.method == "GET"
    assert request.host == "hooks.example.test:8080"


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://hooks.example.test/s", "hooks.example.test:80"),
        ("https://hooks.example.test/s", "hooks.example.test:443"),
        ("https://HOOKS.example.test:8443/s", "hooks.example.test:8443"),
        ("http://127.0.0.1:5000/s", "127.0.0.1:5000"),
    ],
)
def test_callback_host_includes_the_default_port(url: str, host: str) -> None:
    """The host used for per-endpoint fairness is host:port, with the scheme's default port."""
    assert build(the_number=number(status_callback=url)).host == host


def test_status_callback_method_defaults_to_post() -> None:
    """A number whose StatusCallbackMethod was never set is called with POST."""
    assert build().method == "POST"


@pytest.mark.parametrize("status", list(CallStatus))
def test_callback_call_status_is_the_reported_status(status: CallStatus) -> None:
    """Every reported status is sent as CallStatus, not the ringing of the RCML request."""
    assert build(status).params["CallStatus"] == status.value


@pytest.mark.parametrize("sequence_number", [0, 1, 17, 100000])
def test_sequence_number_is_sent_as_decimal_text(sequence_number: int) -> None:
    """SequenceNumber is the given counter as a decimal string."""
    assert build(sequence_number=sequence_number).params["SequenceNumber"] == str(sequence_number)


def test_timestamp_is_rfc2822_in_utc() -> None:
    """Timestamp parses as an RFC 2822 date with offset +0000 and names the given instant."""
    text = build().params["Timestamp"]
    parsed = parsedate_to_datetime(text)
    assert parsed == WHEN
    assert parsed.utcoffset() == timedelta(0)
    assert text.endswith(" +0000")


def test_timestamp_given_in_another_zone_is_sent_in_utc() -> None:
    """An instant given with a non-UTC offset is still rendered in UTC (+0000)."""
    local = WHEN.astimezone(timezone(timedelta(hours=2)))
    text = build(timestamp=local).params["Timestamp"]
    assert text == "Sat, 09 Mar 2024 17:45:03 +0000"


def test_optional_fields_are_sent_when_given() -> None:
    """OutboundCallSid, ForwardedFrom, CallDuration, ReferTarget, Transferor and Transferee
    reported with the status are passed through unchanged."""
    params = build(CallStatus.COMPLETED, OPTIONAL).params
    assert {name: params[name] for name in OPTIONAL} == OPTIONAL


@pytest.mark.parametrize("name", list(OPTIONAL))
def test_an_optional_field_is_absent_unless_given(name: str) -> None:
    """Only the optional fields reported are sent; the others are not sent at all (not empty)."""
    given = {k: v for k, v in OPTIONAL.items() if k != name}
    params = build(CallStatus.COMPLETED, given).params
    assert name not in params
    assert all(params[k] == v for k, v in given.items())


def test_unknown_detail_fields_are_not_passed_through() -> None:
    """Only the fields SPEC 6 names travel; anything else in the details is dropped."""
    params = build(details={"Secret": "x", "CallSid": "CA" + "e" * 32, "Foo": "bar"}).params
    assert "Secret" not in params
    assert "Foo" not in params
    assert params["CallSid"] == CALL_SID


def test_the_call_caller_name_forwarded_from_and_sip_headers_are_kept() -> None:
    """What the call was routed with (CallerName, ForwardedFrom, SIP headers) is in the set."""
    the_call = call(
        caller_name="Alice", forwarded_from="+15550002222", sip_headers={"X-Tenant": "t1"}
    )
    params = build(the_call=the_call).params
    assert params["CallerName"] == "Alice"
    assert params["ForwardedFrom"] == "+15550002222"
    assert params["SipHeader_X-Tenant"] == "t1"


def test_the_number_api_version_is_sent() -> None:
    """ApiVersion is the number's API version."""
    assert build(the_number=number(api_version="2010-04-01")).params["ApiVersion"] == "2010-04-01"


@pytest.mark.parametrize("status_callback", [None, ""])
def test_no_status_callback_fires_nothing(status_callback: str | None) -> None:
    """A number without StatusCallback yields no request."""
    the_number = number(status_callback=status_callback)
    request = callback_request(
        call(),
        CallbackSettings.of(the_number),
        CallStatus.COMPLETED,
        OPTIONAL,
        sequence_number=0,
        timestamp=WHEN,
    )
    assert request is None


def test_no_number_fires_nothing() -> None:
    """A call whose number is gone yields no request."""
    request = callback_request(
        call(), None, CallStatus.COMPLETED, {}, sequence_number=0, timestamp=WHEN
    )
    assert request is None
