"""The entries of the spool and their one-line JSON form.

Each entry is what one answer promised: a routed call or message (the decision the
gateway was given) or an accepted status event. `spooled_at` is when the answer was
given; a status event is replayed with it as its Timestamp.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from router.domain import Call, CallStatus
from router.engine.answers import RoutingAnswer, document, from_document


@dataclass(frozen=True, slots=True)
class SpooledCall:
    call: Call
    answer: RoutingAnswer
    spooled_at: datetime

    @property
    def sid(self) -> str:
        return self.call.sid


@dataclass(frozen=True, slots=True)
class SpooledMessage:
    sid: str
    number_sid: str
    account_sid: str
    organization_sid: str
    from_number: str
    to_number: str
    body: str | None
    answer: RoutingAnswer
    spooled_at: datetime


@dataclass(frozen=True, slots=True)
class SpooledStatus:
    call_sid: str
    status: CallStatus
    details: dict[str, str]
    spooled_at: datetime

    @property
    def sid(self) -> str:
        return self.call_sid


Entry = SpooledCall | SpooledMessage | SpooledStatus


def encode(entry: Entry) -> bytes:
    """One line (newline included)."""
    return orjson.dumps(_fields(entry)) + b"\n"


def decode(line: bytes) -> Entry:
    """The entry of one line; ValueError (or KeyError) if it is not one."""
    data = orjson.loads(line)
    kind, at = data["kind"], datetime.fromisoformat(data["spooled_at"])
    if kind == "call":
        c = data["call"]
        call = Call(
            sid=c["sid"],
            number_sid=c["number_sid"],
            account_sid=c["account_sid"],
            organization_sid=c["organization_sid"],
            from_number=c["from_number"],
            to_number=c["to_number"],
            status=CallStatus(c["status"]),
            caller_name=c["caller_name"],
            forwarded_from=c["forwarded_from"],
            sip_headers=dict(c["sip_headers"]),
            date_created=datetime.fromisoformat(c["date_created"]),
            date_updated=datetime.fromisoformat(c["date_updated"]),
        )
        return SpooledCall(call, from_document(data["decision"], "call_sid"), at)
    if kind == "message":
        return SpooledMessage(
            data["sid"],
            data["number_sid"],
            data["account_sid"],
            data["organization_sid"],
            data["from_number"],
            data["to_number"],
            data["body"],
            from_document(data["decision"], "sms_sid"),
            at,
        )
    if kind == "status":
        return SpooledStatus(
            data["call_sid"], CallStatus(data["status"]), dict(data["details"]), at
        )
    raise ValueError(f"unknown spool entry kind {kind!r}")


def _fields(entry: Entry) -> dict[str, Any]:
    at = entry.spooled_at.isoformat()
    if isinstance(entry, SpooledCall):
        c = entry.call
        call = {
            "sid": c.sid,
            "number_sid": c.number_sid,
            "account_sid": c.account_sid,
            "organization_sid": c.organization_sid,
            "from_number": c.from_number,
            "to_number": c.to_number,
            "status": c.status.value,
            "caller_name": c.caller_name,
            "forwarded_from": c.forwarded_from,
            "sip_headers": c.sip_headers,
            "date_created": c.date_created.isoformat(),
            "date_updated": c.date_updated.isoformat(),
        }
        decision = document(entry.answer, "call_sid")
        return {"kind": "call", "spooled_at": at, "call": call, "decision": decision}
    if isinstance(entry, SpooledMessage):
        return {
            "kind": "message",
            "spooled_at": at,
            "sid": entry.sid,
            "number_sid": entry.number_sid,
            "account_sid": entry.account_sid,
            "organization_sid": entry.organization_sid,
            "from_number": entry.from_number,
            "to_number": entry.to_number,
            "body": entry.body,
            "decision": document(entry.answer, "sms_sid"),
        }
    return {
        "kind": "status",
        "spooled_at": at,
        "call_sid": entry.call_sid,
        "status": entry.status.value,
        "details": entry.details,
    }
