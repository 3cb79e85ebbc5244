"""Gateway event bodies (SPEC 4) into the engine's events, field by field in the
order the checks have always run (the first bad field is the one reported)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from router.api import event_params
from router.domain import CallStatus
from router.engine.events import CallEvent, MessageEvent, ReferEvent, StatusEvent, UssdEvent
from router.errors import Invalid

STATUSES = {s.value: s for s in CallStatus}


def call_event(
    body: Mapping[str, Any], *, fetch_rcml: bool, kind: type[CallEvent] = CallEvent
) -> CallEvent:
    """POST /v1/events/calls (and /v1/events/ussd, kind UssdEvent)."""
    call_sid = event_params.sid(body, "CallSid", "CA", generate=True)
    assert call_sid is not None
    from_ = event_params.text(body, "From", required=True)
    to = event_params.dialed(body, "To")
    assert from_ is not None
    return kind(
        from_number=from_,
        to=to,
        call_sid=call_sid,
        caller_name=event_params.text(body, "CallerName"),
        forwarded_from=event_params.text(body, "ForwardedFrom"),
        sip_headers=event_params.sip_headers(body),
        organizations=event_params.organizations(body),
        fetch_rcml=fetch_rcml,
    )


def ussd_event(body: Mapping[str, Any], *, fetch_rcml: bool) -> UssdEvent:
    """POST /v1/events/ussd: a call's fields, routed by the Ussd ones."""
    event = call_event(body, fetch_rcml=fetch_rcml, kind=UssdEvent)
    assert isinstance(event, UssdEvent)
    return event


def message_event(body: Mapping[str, Any], *, fetch_rcml: bool) -> MessageEvent:
    """POST /v1/events/messages (and the Kannel adapter's body)."""
    sms_sid = event_params.sid(body, "SmsSid", "SM", generate=True)
    assert sms_sid is not None
    from_ = event_params.text(body, "From", required=True)
    to = event_params.dialed(body, "To")
    assert from_ is not None
    text = event_params.text(body, "Body", max_length=event_params.MAX_BODY_TEXT) or ""
    return MessageEvent(
        from_number=from_,
        to=to,
        body=text,
        sms_sid=sms_sid,
        organizations=event_params.organizations(body),
        fetch_rcml=fetch_rcml,
    )


def refer_event(body: Mapping[str, Any], *, fetch_rcml: bool) -> ReferEvent:
    """POST /v1/events/refers."""
    call_sid = event_params.sid(body, "CallSid", "CA", required=True)
    refer_target = event_params.text(body, "ReferTarget", required=True)
    assert call_sid is not None
    assert refer_target is not None
    return ReferEvent(
        call_sid=call_sid,
        refer_target=refer_target,
        transferor=event_params.text(body, "Transferor"),
        transferee=event_params.text(body, "Transferee"),
        fetch_rcml=fetch_rcml,
    )


def status_event(call_sid: str, body: Mapping[str, Any]) -> StatusEvent:
    """POST /v1/events/calls/{CallSid}/status."""
    status = _call_status(body)
    return StatusEvent(
        call_sid=call_sid,
        status=status,
        outbound_call_sid=event_params.sid(body, "OutboundCallSid", "CA"),
        forwarded_from=event_params.text(body, "ForwardedFrom"),
        call_duration=_call_duration(body),
        refer_target=event_params.text(body, "ReferTarget"),
        transferor=event_params.text(body, "Transferor"),
        transferee=event_params.text(body, "Transferee"),
    )


def _call_status(body: Mapping[str, Any]) -> CallStatus:
    value = event_params.text(body, "CallStatus", required=True, max_length=32)
    status = STATUSES.get((value or "").lower())
    if status is None:
        raise Invalid(
            f"Invalid CallStatus: must be one of {', '.join(STATUSES)}.", param="CallStatus"
        )
    return status


def _call_duration(body: Mapping[str, Any]) -> int | None:
    """Whole seconds, as a JSON integer or a string of digits."""
    value = body.get("CallDuration")
    if value is None or value == "":
        return None
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not text.isascii() or not text.isdigit() or len(text) > 9:
        raise Invalid("Invalid CallDuration: must be whole seconds, e.g. 42.", param="CallDuration")
    return int(text)
