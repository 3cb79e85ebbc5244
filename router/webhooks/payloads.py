"""Status callback payloads (SPEC 6): which request a reported status fires, with
which parameters. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import urlsplit

from router.domain import Call, CallStatus, IncomingNumber
from router.rcml_params import voice_params

CALLBACK_SOURCE = "call-progress-events"
# Nothing follows these (but the same status again, which is a repeat): the store's
# accept_call_status function applies the rule under the call's row lock.
TERMINAL = frozenset(
    {
        CallStatus.COMPLETED,
        CallStatus.BUSY,
        CallStatus.FAILED,
        CallStatus.NO_ANSWER,
        CallStatus.CANCELED,
    }
)
# Optional fields of a status event, passed through to the callback when given.
OPTIONAL_FIELDS = (
    "OutboundCallSid",
    "ForwardedFrom",
    "CallDuration",
    "ReferTarget",
    "Transferor",
    "Transferee",
)


def status_details(
    *,
    outbound_call_sid: str | None = None,
    forwarded_from: str | None = None,
    call_duration: int | None = None,
    refer_target: str | None = None,
    transferor: str | None = None,
    transferee: str | None = None,
) -> dict[str, str]:
    """The optional fields a status report gave, by the callback parameter they become
    (OPTIONAL_FIELDS, in that order); absent and empty ones are left out."""
    given = {
        "OutboundCallSid": outbound_call_sid,
        "ForwardedFrom": forwarded_from,
        "CallDuration": None if call_duration is None else str(call_duration),
        "ReferTarget": refer_target,
        "Transferor": transferor,
        "Transferee": transferee,
    }
    return {name: value for name, value in given.items() if value}


@dataclass(frozen=True, slots=True)
class CallbackRequest:
    """One status callback to deliver: where, how and with what parameters."""

    url: str
    method: str
    host: str
    params: dict[str, str]


@dataclass(frozen=True, slots=True)
class CallbackSettings:
    """What a status callback needs from the call's number."""

    url: str | None
    method: str
    api_version: str

    @classmethod
    def of(cls, number: IncomingNumber) -> CallbackSettings:
        return cls(number.status_callback, number.status_callback_method, number.api_version)


def callback_request(
    call: Call,
    settings: CallbackSettings | None,
    status: CallStatus,
    details: Mapping[str, str],
    *,
    sequence_number: int,
    timestamp: datetime,
) -> CallbackRequest | None:
    """The callback a status fires, or None when the number (gone, or without a
    StatusCallback) asks for none."""
    if settings is None or not settings.url:
        return None
    params = voice_params(
        call_sid=call.sid,
        account_sid=call.account_sid,
        from_=call.from_number,
        to=call.to_number,
        api_version=settings.api_version,
        caller_name=call.caller_name,
        forwarded_from=call.forwarded_from,
        sip_headers=call.sip_headers,
        call_status=status.value,
    )
    params.update({k: v for k, v in details.items() if k in OPTIONAL_FIELDS})
    params["Timestamp"] = format_datetime(timestamp.astimezone(UTC), usegmt=False)
    params["SequenceNumber"] = str(sequence_number)
    params["CallbackSource"] = CALLBACK_SOURCE
    return CallbackRequest(settings.url, settings.method, host_of(settings.url), params)


def host_of(url: str) -> str:
    """host:port of a URL, the unit of per-endpoint fairness."""
    parts = urlsplit(url)
    return f"{parts.hostname or ''}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
