"""Gateway event routes (SPEC 4): calls, messages, refers, and the dry-run resolve."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from aiohttp import web

from router import rcml_params
from router.api import decisions, dry_run, event_params
from router.api.auth import authenticate
from router.api.formats import json_response
from router.api.keys import (
    ACCOUNTS,
    CALLS,
    FETCHER,
    GATEWAY,
    METRICS,
    ORGANIZATIONS,
    RECORDER,
    RESOLVER,
    SETTINGS,
)
from router.domain import Account, Call, CallStatus, Channel, IncomingNumber
from router.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable
from router.organizations import OrganizationNames
from router.rcml import RcmlTarget
from router.resolver import Outcome as Found
from router.resolver import Query, Resolution
from router.routing import Decision, Outcome, decide

CHANNELS = {c.value: c for c in Channel}
log = structlog.get_logger(__name__)


def _wants_rcml(request: web.Request) -> bool:
    return request.query.get("fetch", "true").lower() != "false"


async def _read(request: web.Request) -> dict[str, Any]:
    request.app[GATEWAY].require(request)
    return await event_params.read_event(request, request.app[SETTINGS].api_max_body_bytes)


@dataclass(frozen=True, slots=True)
class _Inbound:
    """What differs between routing a call and a message."""

    kind: str  # call | message (the metrics label)
    sid_key: str
    sid: str
    query: Query
    params: Callable[[IncomingNumber], dict[str, str]]
    previous: Callable[[], Awaitable[dict[str, Any] | None]]
    record: Callable[[IncomingNumber, dict[str, Any]], Awaitable[dict[str, Any]]]


async def call_event(request: web.Request) -> web.Response:
    """Route an inbound call; a repeated CallSid gets the decision it got first."""
    return await _route_session(request, Channel.VOICE)


async def ussd_event(request: web.Request) -> web.Response:
    """Route a USSD pull (*777#) by the number's Ussd fields. A USSD session is a call:
    it is recorded as one, so status events and callbacks work for it."""
    return await _route_session(request, Channel.USSD)


async def _route_session(request: web.Request, channel: Channel) -> web.Response:
    body = await _read(request)
    call_sid = event_params.sid(body, "CallSid", "CA", generate=True)
    assert call_sid is not None
    from_, to = event_params.text(body, "From", required=True), event_params.dialed(body, "To")
    assert from_ is not None
    caller_name = event_params.text(body, "CallerName")
    forwarded_from = event_params.text(body, "ForwardedFrom")
    headers = event_params.sip_headers(body)
    destination, source = await request.app[ORGANIZATIONS].resolve(event_params.organizations(body))
    recorder = request.app[RECORDER]

    def params(number: IncomingNumber) -> dict[str, str]:
        return rcml_params.voice_params(
            call_sid=call_sid,
            account_sid=number.account_sid,
            from_=from_,
            to=to,
            api_version=number.api_version,
            caller_name=caller_name,
            forwarded_from=forwarded_from,
            sip_headers=headers,
        )

    def record(number: IncomingNumber, answer: dict[str, Any]) -> Awaitable[dict[str, Any]]:
        call = Call(
            sid=call_sid,
            number_sid=number.sid,
            account_sid=number.account_sid,
            organization_sid=number.organization_sid,
            from_number=from_,
            to_number=to,
            status=CallStatus.RINGING,
            caller_name=caller_name,
            forwarded_from=forwarded_from,
            sip_headers=headers,
            date_created=_now(),
            date_updated=_now(),
        )
        return recorder.record_call(call, answer)

    query = Query(to, channel, destination, source)
    return await _route(
        request,
        _Inbound(
            "ussd" if channel is Channel.USSD else "call",
            "call_sid",
            call_sid,
            query,
            params,
            lambda: recorder.previous_call(call_sid),
            record,
        ),
    )


async def message_event(request: web.Request) -> web.Response:
    """Route an inbound SMS (never through patterns); a repeated SmsSid gets its first answer."""
    return await route_message(request, await _read(request))


async def route_message(request: web.Request, body: dict[str, Any]) -> web.Response:
    """Route an SMS event body, however the gateway sent it (also the Kannel adapter's)."""
    sms_sid = event_params.sid(body, "SmsSid", "SM", generate=True)
    assert sms_sid is not None
    from_, to = event_params.text(body, "From", required=True), event_params.dialed(body, "To")
    assert from_ is not None
    text = event_params.text(body, "Body", max_length=event_params.MAX_BODY_TEXT) or ""
    destination, source = await request.app[ORGANIZATIONS].resolve(event_params.organizations(body))
    recorder = request.app[RECORDER]

    def params(number: IncomingNumber) -> dict[str, str]:
        return rcml_params.sms_params(
            sms_sid=sms_sid,
            account_sid=number.account_sid,
            from_=from_,
            to=to,
            body=text,
            api_version=number.api_version,
        )

    def record(number: IncomingNumber, answer: dict[str, Any]) -> Awaitable[dict[str, Any]]:
        return recorder.record_message(sms_sid, number, from_, to, text, answer)

    query = Query(to, Channel.SMS, destination, source)
    return await _route(
        request,
        _Inbound(
            "message",
            "sms_sid",
            sms_sid,
            query,
            params,
            lambda: recorder.previous_message(sms_sid),
            record,
        ),
    )


async def _route(request: web.Request, event: _Inbound) -> web.Response:
    """Resolve, decide, fetch the RCML and record: the same steps for calls and messages."""
    # A repeat must not fetch the RCML again; without a fetch, recording finds the first
    # answer by itself, saving a round trip.
    if _wants_rcml(request) and (previous := await _previous(event.previous())):
        return json_response(previous, status=decisions.status_of(previous))
    decision = decide(await _resolve(request, event.query), event.query.channel)
    if decision.outcome is not Outcome.ROUTED:
        return _answer(request, event.kind, decisions.envelope(event.sid_key, event.sid, decision))
    number = _number(decision)
    answer = await _fetch(request, event.sid_key, event.sid, decision, event.params(number))
    if answer["outcome"] != Outcome.ROUTED.value:
        return _answer(request, event.kind, answer)
    # Recorded in the database, or while it is unreachable in the spool (router/spool/).
    return _answer(request, event.kind, await event.record(number, answer))


async def refer_event(request: web.Request) -> web.Response:
    """Route a transfer of a call in progress by its number's Refer settings."""
    body = await _read(request)
    call_sid = event_params.sid(body, "CallSid", "CA", required=True)
    refer_target = event_params.text(body, "ReferTarget", required=True)
    assert call_sid is not None
    assert refer_target is not None
    transferor = event_params.text(body, "Transferor")
    transferee = event_params.text(body, "Transferee")
    call = await request.app[CALLS].get_call(call_sid)
    if call is None:
        raise NotFound(f"Call {call_sid} was not found.", param="CallSid")
    if call.status is not CallStatus.IN_PROGRESS:
        raise Conflict(
            f"Call {call_sid} is {call.status.value}; only a call in progress can be transferred.",
            param="CallSid",
        )
    number = await request.app[CALLS].get_number(call.number_sid)
    resolution = (
        Resolution(Found.MATCHED, number, "call", call.to_number, None)
        if number
        else Resolution(Found.NOT_FOUND)
    )
    decision = decide(resolution, Channel.REFER)
    if decision.outcome is not Outcome.ROUTED:
        return _answer(request, "refer", decisions.envelope("call_sid", call_sid, decision))
    params = rcml_params.refer_params(
        call_sid=call.sid,
        account_sid=call.account_sid,
        from_=call.from_number,
        to=call.to_number,
        refer_target=refer_target,
        transferor=transferor,
        transferee=transferee,
        api_version=_number(decision).api_version,
        call_status=CallStatus.IN_PROGRESS.value,
        caller_name=call.caller_name,
        forwarded_from=call.forwarded_from,
        sip_headers=call.sip_headers,
    )
    return _answer(request, "refer", await _fetch(request, "call_sid", call_sid, decision, params))


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
    unknown: tuple[tuple[str, str], ...] = ()
    if caller is None:
        found = await request.app[ORGANIZATIONS].resolve_noting(names)
        destination, source, unknown = found.destination, found.source, found.unknown_domains
    else:
        destination = source = await _own_organization(request, caller, names)
    resolution = await request.app[RESOLVER].resolve(
        Query(to, channel, destination, source), trace=True, full_trace=full
    )
    body = decisions.envelope("to", to, decide(resolution, channel))
    body["channel"] = channel.value
    assert resolution.trace is not None  # asked for
    body["trace"] = dry_run.render(resolution.trace)
    if unknown:
        body["trace"]["organizations"] = decisions.unknown_domains(unknown)
    return json_response(body)


def _full_trace(value: str | None) -> bool:
    """`trace=full` adds the naive scan's attempts; absent or `trace=default`, the summary."""
    if value is None or value.lower() == "default":
        return False
    if value.lower() == "full":
        return True
    raise Invalid("Invalid trace: must be default or full.", param="trace")


async def _own_organization(request: web.Request, caller: Account, names: OrganizationNames) -> str:
    """A tenant resolves within its own organization; naming another is refused without
    looking it up, so no answer tells whether it exists."""
    own = caller.organization_sid
    domains = {names.destination_domain, names.source_domain} - {None}
    if domains:
        organization = await request.app[ACCOUNTS].get_organization(own)
        domains.discard(organization.domain_name if organization else None)
    if domains or {names.destination_sid, names.source_sid} - {None, own}:
        raise Forbidden("A tenant may resolve only within its own organization.")
    return own


async def _resolve(request: web.Request, query: Query) -> Resolution:
    started = time.perf_counter()
    resolution = await request.app[RESOLVER].resolve(query)
    request.app[METRICS].resolve_seconds.observe(time.perf_counter() - started)
    return resolution


async def _fetch(
    request: web.Request, sid_key: str, sid: str, decision: Decision, params: dict[str, str]
) -> dict[str, Any]:
    """The routed answer with its RCML (unless ?fetch=false), or rcml_unavailable."""
    if not _wants_rcml(request):
        return decisions.envelope(sid_key, sid, decision)
    target = decision.target
    assert target is not None
    outcome = await request.app[FETCHER].fetch(
        RcmlTarget(
            target.url, target.method, target.fallback_url, target.fallback_method or "POST"
        ),
        params,
        _number(decision).account_signing_key,
    )
    request.app[METRICS].rcml_fetches.labels(outcome.source or "failed").inc()
    if outcome.document is None:
        return decisions.envelope(sid_key, sid, decision, outcome=Outcome.RCML_UNAVAILABLE)
    return decisions.envelope(
        sid_key, sid, decision, rcml=outcome.document, rcml_source=outcome.source
    )


def _number(decision: Decision) -> IncomingNumber:
    number = decision.resolution.number
    assert number is not None
    return number


async def _previous(lookup: Awaitable[dict[str, Any] | None]) -> dict[str, Any] | None:
    """The first answer to this sid, if any; unknown while the database is down."""
    try:
        return await lookup
    except Unavailable:
        return None


def _now() -> datetime:
    return datetime.now(UTC)


def _answer(request: web.Request, kind: str, body: dict[str, Any]) -> web.Response:
    match = body["match"]
    stage = match["how"] if match else "none"
    request.app[METRICS].decisions.labels(kind, body["outcome"], stage).inc()
    return json_response(body, status=decisions.status_of(body))
