"""Gateway event routes (SPEC 4): calls, messages, refers, USSD, and the dry run.

Each parses the body into an engine event, asks the engine, renders its answer.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from router.api import answers, dry_run, event_bodies, event_params
from router.api.auth import authenticate
from router.api.formats import json_response
from router.api.keys import ENGINE, GATEWAY, SETTINGS
from router.domain import Channel
from router.engine.answers import RoutingAnswer
from router.engine.events import ExplainRequest
from router.errors import Invalid

CHANNELS = {c.value: c for c in Channel}


def _fetch_rcml(request: web.Request) -> bool:
    return request.query.get("fetch", "true").lower() != "false"


async def _read(request: web.Request) -> dict[str, Any]:
    request.app[GATEWAY].require(request)
    return await event_params.read_event(request, request.app[SETTINGS].api_max_body_bytes)


def _render(answer: RoutingAnswer, sid_key: str) -> web.Response:
    return json_response(answers.envelope(answer, sid_key), status=answers.status_of(answer))


async def call_event(request: web.Request) -> web.Response:
    """Route an inbound call; a repeated CallSid gets the decision it got first."""
    event = event_bodies.call_event(await _read(request), fetch_rcml=_fetch_rcml(request))
    return _render(await request.app[ENGINE].route_call(event), "call_sid")


async def ussd_event(request: web.Request) -> web.Response:
    """Route a USSD pull (*777#) by the number's Ussd fields. A USSD session is a call:
    it is recorded as one, so status events and callbacks work for it."""
    event = event_bodies.ussd_event(await _read(request), fetch_rcml=_fetch_rcml(request))
    return _render(await request.app[ENGINE].route_ussd(event), "call_sid")


async def message_event(request: web.Request) -> web.Response:
    """Route an inbound SMS (never through patterns); a repeated SmsSid gets its first answer."""
    return await route_message(request, await _read(request))


async def route_message(request: web.Request, body: dict[str, Any]) -> web.Response:
    """Route an SMS event body, however the gateway sent it (also the Kannel adapter's)."""
    event = event_bodies.message_event(body, fetch_rcml=_fetch_rcml(request))
    return _render(await request.app[ENGINE].route_message(event), "sms_sid")


async def refer_event(request: web.Request) -> web.Response:
    """Route a transfer of a call in progress by its number's Refer settings."""
    event = event_bodies.refer_event(await _read(request), fetch_rcml=_fetch_rcml(request))
    return _render(await request.app[ENGINE].route_refer(event), "call_sid")


async def resolve_route(request: web.Request) -> web.Response:
    """The decision for a dialed string without side effects, with every step tried."""
    # Authenticate before reading anything, so an anonymous caller learns nothing
    # (not even which domains exist) from the validation answers.
    caller = None if request.app[GATEWAY].is_gateway(request) else await authenticate(request)
    query = dict(request.query)
    to = event_params.dialed(query, "To")
    channel = CHANNELS.get((query.get("Channel") or "voice").lower())
    if channel is None:
        raise Invalid("Invalid Channel: must be voice, sms, refer or ussd.", param="Channel")
    full = _full_trace(query.get("trace"))
    names = event_params.organizations(query)
    tenant = None if caller is None else caller.organization_sid
    found = await request.app[ENGINE].explain(ExplainRequest(to, channel, names, full, tenant))
    return json_response(answers.explanation(found, dry_run.render(found.trace)))


def _full_trace(value: str | None) -> bool:
    """`trace=full` adds the naive scan's attempts; absent or `trace=default`, the summary."""
    if value is None or value.lower() == "default":
        return False
    if value.lower() == "full":
        return True
    raise Invalid("Invalid trace: must be default or full.", param="trace")
