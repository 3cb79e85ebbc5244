"""Routing use cases: calls, USSD sessions, messages and refers, and status reports.

Each routes the same way (SPEC 4): resolve the dialed string, decide the target, fetch
the RCML (primary, else fallback), record the event; a repeated sid answers what it
got first. Transport-free: the HTTP handlers and embedding programs both call these.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Protocol

from router import rcml_params
from router.domain import Call, CallStatus, Channel, IncomingNumber
from router.engine.answers import RoutingAnswer, StatusAccepted
from router.engine.events import CallEvent, MessageEvent, ReferEvent, StatusEvent, UssdEvent
from router.errors import Conflict, Field, NotFound, Unavailable
from router.metrics import Metrics
from router.organizations import OrganizationDirectory, OrganizationNames
from router.rcml import RcmlFetcher, RcmlTarget
from router.resolver import Query, Resolution, ResolutionOutcome, Resolver
from router.routing import Outcome, RoutingDecision, decide
from router.spool.recorder import EventRecorder
from router.store.calls import CallStore
from router.webhooks.payloads import status_details


class _Inbound(Protocol):
    """What differs between routing a call (or USSD session) and a message."""

    kind: str  # call | ussd | message (the metrics label)
    sid: str
    channel: Channel
    fetch_rcml: bool

    def params(self, number: IncomingNumber) -> dict[str, str]:
        """The RCML request's parameters (SPEC 5)."""

    async def previous(self) -> RoutingAnswer | None:
        """The answer this sid was given before, if any."""

    async def record(self, number: IncomingNumber, answer: RoutingAnswer) -> RoutingAnswer:
        """Record the routed event once; the answer recorded first for its sid."""


class _InboundCall:
    """A call or USSD session: voice parameters, recorded as a call."""

    def __init__(self, event: CallEvent, recorder: EventRecorder) -> None:
        self.event = event
        self.channel = Channel.USSD if isinstance(event, UssdEvent) else Channel.VOICE
        self.kind = "ussd" if self.channel is Channel.USSD else "call"
        self.sid = event.call_sid
        self.fetch_rcml = event.fetch_rcml
        self._recorder = recorder

    def params(self, number: IncomingNumber) -> dict[str, str]:
        event = self.event
        return rcml_params.voice_params(
            call_sid=event.call_sid,
            account_sid=number.account_sid,
            from_=event.from_number,
            to=event.to,
            api_version=number.api_version,
            caller_name=event.caller_name,
            forwarded_from=event.forwarded_from,
            sip_headers=event.sip_headers,
        )

    async def previous(self) -> RoutingAnswer | None:
        return await self._recorder.previous_call(self.sid)

    async def record(self, number: IncomingNumber, answer: RoutingAnswer) -> RoutingAnswer:
        return await self._recorder.record_call(_call(self.event, number), answer)


class _InboundMessage:
    """An SMS: message parameters, recorded as a message."""

    kind = "message"
    channel = Channel.SMS

    def __init__(self, event: MessageEvent, recorder: EventRecorder) -> None:
        self.event = event
        self.sid = event.sms_sid
        self.fetch_rcml = event.fetch_rcml
        self._recorder = recorder

    def params(self, number: IncomingNumber) -> dict[str, str]:
        event = self.event
        return rcml_params.sms_params(
            sms_sid=event.sms_sid,
            account_sid=number.account_sid,
            from_=event.from_number,
            to=event.to,
            body=event.body,
            api_version=number.api_version,
        )

    async def previous(self) -> RoutingAnswer | None:
        return await self._recorder.previous_message(self.sid)

    async def record(self, number: IncomingNumber, answer: RoutingAnswer) -> RoutingAnswer:
        event = self.event
        return await self._recorder.record_message(
            event.sms_sid, number, event.from_number, event.to, event.body, answer
        )


class CallRouting:
    """Routes inbound events and accepts status reports."""

    def __init__(
        self,
        *,
        calls: CallStore,
        recorder: EventRecorder,
        resolver: Resolver,
        fetcher: RcmlFetcher,
        organizations: OrganizationDirectory,
        metrics: Metrics,
    ) -> None:
        self._calls = calls
        # Records in the database, or while it is unreachable in the spool (router/spool/).
        self._recorder = recorder
        self._resolver = resolver
        self._fetcher = fetcher
        self._organizations = organizations
        self._metrics = metrics

    async def route_call(self, event: CallEvent) -> RoutingAnswer:
        """Route an inbound call (or USSD session, by its Ussd fields)."""
        return await self._route(_InboundCall(event, self._recorder), event.to, event.organizations)

    async def route_message(self, event: MessageEvent) -> RoutingAnswer:
        """Route an inbound SMS; a repeated sms_sid gets its first answer."""
        inbound = _InboundMessage(event, self._recorder)
        return await self._route(inbound, event.to, event.organizations)

    async def _route(
        self, event: _Inbound, to: str, organizations: OrganizationNames
    ) -> RoutingAnswer:
        """Resolve, decide, fetch the RCML and record: the same steps for every channel."""
        destination, source = await self._organizations.resolve(organizations)
        # A repeat must not fetch the RCML again; without a fetch, recording finds the first
        # answer by itself, saving a round trip.
        if event.fetch_rcml and (previous := await _previous(event.previous())):
            return previous
        query = Query(to, event.channel, destination, source)
        decision = decide(await self._resolve(query), event.channel)
        if decision.outcome is not Outcome.ROUTED:
            return self._counted(event.kind, RoutingAnswer.of(event.sid, decision))
        number = _number(decision)
        answer = await self._fetch(
            event.sid, decision, lambda: event.params(number), event.fetch_rcml
        )
        if not answer.routed:
            return self._counted(event.kind, answer)
        return self._counted(event.kind, await event.record(number, answer))

    async def route_refer(self, event: ReferEvent) -> RoutingAnswer:
        """Route a transfer of a call in progress by its number's Refer settings."""
        call = await self._calls.get_call(event.call_sid)
        if call is None:
            raise NotFound(f"Call {event.call_sid} was not found.", param=Field("call_sid"))
        if call.status is not CallStatus.IN_PROGRESS:
            raise Conflict(
                f"Call {call.sid} is {call.status.value}; only a call in progress can be"
                " transferred.",
                param=Field("call_sid"),
            )
        number = await self._calls.get_number(call.number_sid)
        resolution = (
            Resolution(ResolutionOutcome.MATCHED, number, "call", call.to_number, None)
            if number
            else Resolution(ResolutionOutcome.NOT_FOUND)
        )
        decision = decide(resolution, Channel.REFER)
        if decision.outcome is not Outcome.ROUTED:
            return self._counted("refer", RoutingAnswer.of(call.sid, decision))
        api_version = _number(decision).api_version
        answer = await self._fetch(
            call.sid, decision, lambda: _refer_params(call, event, api_version), event.fetch_rcml
        )
        return self._counted("refer", answer)

    async def report_call_status(
        self, event: StatusEvent, *, now: datetime | None = None
    ) -> StatusAccepted:
        """Record a call's new status and queue its status callback, durably."""
        accepted = await self._recorder.accept_status(
            event.call_sid, event.status, _status_details(event), now=now or datetime.now(UTC)
        )
        return StatusAccepted(event.call_sid, event.status, duplicate=not accepted)

    async def _resolve(self, query: Query) -> Resolution:
        started = time.perf_counter()
        resolution = await self._resolver.resolve(query)
        self._metrics.resolve_seconds.observe(time.perf_counter() - started)
        return resolution

    async def _fetch(
        self,
        sid: str,
        decision: RoutingDecision,
        params: Callable[[], Mapping[str, str]],
        fetch_rcml: bool,
    ) -> RoutingAnswer:
        """The routed answer with its RCML (unless not asked for), or rcml_unavailable.
        The request parameters are built only for a fetch."""
        if not fetch_rcml:
            return RoutingAnswer.of(sid, decision)
        target = decision.target
        assert target is not None
        outcome = await self._fetcher.fetch(
            RcmlTarget(
                target.url, target.method, target.fallback_url, target.fallback_method or "POST"
            ),
            params(),
            _number(decision).account_signing_key,
        )
        self._metrics.rcml_fetches.labels(outcome.source or "failed").inc()
        if outcome.document is None:
            return RoutingAnswer.of(sid, decision, outcome=Outcome.RCML_UNAVAILABLE)
        return RoutingAnswer.of(sid, decision, rcml=outcome.document, rcml_source=outcome.source)

    def _counted(self, kind: str, answer: RoutingAnswer) -> RoutingAnswer:
        stage = answer.match.how if answer.match else "none"
        self._metrics.count_decision(kind, answer.outcome.value, stage)
        return answer


def _call(event: CallEvent, number: IncomingNumber) -> Call:
    now = datetime.now(UTC)
    return Call(
        sid=event.call_sid,
        number_sid=number.sid,
        account_sid=number.account_sid,
        organization_sid=number.organization_sid,
        from_number=event.from_number,
        to_number=event.to,
        status=CallStatus.RINGING,
        caller_name=event.caller_name,
        forwarded_from=event.forwarded_from,
        sip_headers=dict(event.sip_headers),
        date_created=now,
        date_updated=now,
    )


def _refer_params(call: Call, event: ReferEvent, api_version: str) -> dict[str, str]:
    voice = rcml_params.voice_params(
        call_sid=call.sid,
        account_sid=call.account_sid,
        from_=call.from_number,
        to=call.to_number,
        api_version=api_version,
        caller_name=call.caller_name,
        forwarded_from=call.forwarded_from,
        sip_headers=call.sip_headers,
        call_status=CallStatus.IN_PROGRESS.value,
    )
    return rcml_params.refer_params(
        voice,
        refer_target=event.refer_target,
        transferor=event.transferor,
        transferee=event.transferee,
    )


def _status_details(event: StatusEvent) -> dict[str, str]:
    return status_details(
        outbound_call_sid=event.outbound_call_sid,
        forwarded_from=event.forwarded_from,
        call_duration=event.call_duration,
        refer_target=event.refer_target,
        transferor=event.transferor,
        transferee=event.transferee,
    )


def _number(decision: RoutingDecision) -> IncomingNumber:
    number = decision.resolution.number
    assert number is not None
    return number


async def _previous(lookup: Awaitable[RoutingAnswer | None]) -> RoutingAnswer | None:
    """The first answer to this sid, if any; unknown while the database is down."""
    try:
        return await lookup
    except Unavailable:
        return None
