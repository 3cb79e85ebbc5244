"""Call status events and the status callbacks they fire (SPEC 6)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from router.api import answers, event_bodies, event_params
from router.api.auth import authenticate
from router.api.formats import json_response, rfc2822
from router.api.keys import ENGINE, GATEWAY, SETTINGS
from router.domain import Account, AttemptRecord, StatusCallback, is_sid
from router.errors import NotFound


async def status_event(request: web.Request) -> web.Response:
    """Accept a status report; 202 once its callback is durably queued."""
    request.app[GATEWAY].require(request)
    call_sid = request.match_info["call_sid"]
    if not is_sid(call_sid, "CA"):
        raise NotFound(f"Call {call_sid[:64]} was not found.", param="CallSid")
    body = await event_params.read_event(request, request.app[SETTINGS].api_max_body_bytes)
    accepted = await request.app[ENGINE].report_call_status(
        event_bodies.status_event(call_sid, body)
    )
    return json_response(answers.status_accepted(accepted), status=202)


async def list_callbacks(request: web.Request) -> web.Response:
    """A call's callbacks with every attempt: the gateway, or the call's account tree."""
    call_sid = request.match_info["call_sid"]
    found = await request.app[ENGINE].callbacks.of_call(await _viewer(request), call_sid)
    return json_response({"call_sid": call_sid, "callbacks": [_callback(c) for c in found]})


def _callback(c: StatusCallback) -> dict[str, Any]:
    return {
        "id": c.id,
        "sequence_number": c.sequence_number,
        "call_status": c.call_status,
        "url": c.url,
        "method": c.method,
        "delivery_id": c.delivery_id,
        "state": c.state,
        "attempts": c.attempts,
        "next_attempt_at": rfc2822(c.next_attempt_at) if c.state == "pending" else None,
        "date_created": rfc2822(c.date_created),
        "attempt_log": [_attempt(a) for a in c.attempt_log],
    }


UNSETTLED = (
    "No outcome recorded: the attempt was in flight, or its instance stopped or lost the"
    " database before recording the answer (the callback is then sent again)."
)


def _attempt(a: AttemptRecord) -> dict[str, Any]:
    """One attempt; an unsettled one (its claim wrote it, no settle followed) says so."""
    return {
        "attempted_at": rfc2822(a.attempted_at),
        "status": a.status,
        "error": a.error if a.settled else UNSETTLED,
        "latency_ms": round(a.latency_ms, 3) if a.settled else None,
        "response_body": a.response_body,
    }


async def retry_callback(request: web.Request) -> web.Response:
    """Send a given-up callback again (gateway, or the call's account tree)."""
    raw_id = request.match_info["callback_id"]
    if not raw_id.isascii() or not raw_id.isdigit() or len(raw_id) > 18:
        raise NotFound(f"Callback {raw_id[:64]} was not found.", param="id")
    viewer = await _viewer(request)
    callback = await request.app[ENGINE].callbacks.retry(viewer, int(raw_id))
    return json_response({"id": callback.id, "state": "pending"}, status=202)


async def _viewer(request: web.Request) -> Account | None:
    """Who asks: the gateway (None), else the authenticated tenant (401 before 404)."""
    if request.app[GATEWAY].is_gateway(request):
        return None
    return await authenticate(request)
