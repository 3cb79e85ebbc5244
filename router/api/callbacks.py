"""Call status events and the status callbacks they fire (SPEC 6)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from router.api import event_params
from router.api.auth import authenticate, authorize_account
from router.api.formats import json_response, rfc2822
from router.api.keys import CALLBACKS, CALLS, GATEWAY, RECORDER, SETTINGS
from router.callbacks import OPTIONAL_FIELDS
from router.domain import CallStatus, is_sid
from router.errors import Conflict, Forbidden, Invalid, NotFound

STATUSES = {s.value: s for s in CallStatus}


async def status_event(request: web.Request) -> web.Response:
    """Accept a status report; 202 once its callback is durably queued."""
    request.app[GATEWAY].require(request)
    call_sid = request.match_info["call_sid"]
    if not is_sid(call_sid, "CA"):
        raise NotFound(f"Call {call_sid[:64]} was not found.", param="CallSid")
    body = await event_params.read_event(request, request.app[SETTINGS].api_max_body_bytes)
    status = _call_status(body)
    details = {name: value for name in OPTIONAL_FIELDS if (value := _optional(body, name))}
    # Queued in the database, or while it is unreachable in the spool (router/spool/).
    accepted = await request.app[RECORDER].accept_status(
        call_sid, status, details, now=datetime.now(UTC)
    )
    return json_response(
        {"call_sid": call_sid, "call_status": status.value, "duplicate": not accepted},
        status=202,
    )


def _call_status(body: dict[str, Any]) -> CallStatus:
    value = event_params.text(body, "CallStatus", required=True, max_length=32)
    status = STATUSES.get((value or "").lower())
    if status is None:
        raise Invalid(
            f"Invalid CallStatus: must be one of {', '.join(STATUSES)}.", param="CallStatus"
        )
    return status


def _optional(body: dict[str, Any], name: str) -> str | None:
    if name == "CallDuration":
        value = body.get(name)
        if value is None or value == "":
            return None
        text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
        if not isinstance(text, str) or not text.isascii() or not text.isdigit() or len(text) > 9:
            raise Invalid("Invalid CallDuration: must be whole seconds, e.g. 42.", param=name)
        return text
    if name == "OutboundCallSid":
        return event_params.sid(body, name, "CA")
    return event_params.text(body, name)


async def list_callbacks(request: web.Request) -> web.Response:
    """A call's callbacks with every attempt: the gateway, or the call's account tree."""
    call_sid = request.match_info["call_sid"]
    call = await request.app[CALLS].get_call(call_sid) if is_sid(call_sid, "CA") else None
    if not await _visible(request, call.account_sid if call else None):
        raise NotFound(f"Call {call_sid[:64]} was not found.", param="CallSid")
    found = await request.app[CALLBACKS].list_for_call(call_sid)
    return json_response({"call_sid": call_sid, "callbacks": [_callback(c) for c in found]})


def _callback(entry: dict[str, Any]) -> dict[str, Any]:
    c = entry["callback"]
    return {
        "id": c["id"],
        "sequence_number": c["sequence_number"],
        "call_status": c["call_status"],
        "url": c["url"],
        "method": c["method"],
        "delivery_id": c["delivery_id"],
        "state": c["state"],
        "attempts": c["attempts"],
        "next_attempt_at": rfc2822(c["next_attempt_at"]) if c["state"] == "pending" else None,
        "date_created": rfc2822(c["date_created"]),
        "attempt_log": [_attempt(a) for a in entry["attempts"]],
    }


UNSETTLED = (
    "No outcome recorded: the attempt was in flight, or its instance stopped or lost the"
    " database before recording the answer (the callback is then sent again)."
)


def _attempt(a: Any) -> dict[str, Any]:
    """One attempt; an unsettled one (its claim wrote it, no settle followed) says so."""
    settled = a["settled"]
    return {
        "attempted_at": rfc2822(a["attempted_at"]),
        "status": a["status"],
        "error": a["error"] if settled else UNSETTLED,
        "latency_ms": round(a["latency_ms"], 3) if settled else None,
        "response_body": a["response_body"],
    }


async def retry_callback(request: web.Request) -> web.Response:
    """Send a given-up callback again (gateway, or the call's account tree)."""
    raw_id = request.match_info["callback_id"]
    if not raw_id.isascii() or not raw_id.isdigit() or len(raw_id) > 18:
        raise NotFound(f"Callback {raw_id[:64]} was not found.", param="id")
    callback = await request.app[CALLBACKS].get(int(raw_id))
    if not await _visible(request, callback["account_sid"] if callback else None):
        raise NotFound(f"Callback {raw_id} was not found.", param="id")
    if not await request.app[CALLBACKS].retry(callback["id"]):
        raise Conflict(
            f"Callback {raw_id} is {callback['state']}; only a callback that gave up (failed)"
            " can be retried.",
            param="id",
        )
    return json_response({"id": callback["id"], "state": "pending"}, status=202)


async def _visible(request: web.Request, account_sid: str | None) -> bool:
    """Whether the caller (authenticated first: 401 comes before 404) may see a resource of
    this account: the gateway, or the account's tree. Another tenant's resource is reported
    as not found, which neither confirms it nor names its account (SPEC 2)."""
    if request.app[GATEWAY].is_gateway(request):
        return account_sid is not None
    caller = await authenticate(request)
    if account_sid is None:
        return False
    try:
        await authorize_account(request, caller, account_sid)
    except Forbidden:
        return False
    return True
