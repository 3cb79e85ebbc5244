"""What the engine answers: typed values the store records and each transport renders."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from router.domain import CallStatus, Channel, IncomingNumber
from router.resolver import Resolution, Trace
from router.routing import Outcome, RoutingDecision, Target


@dataclass(frozen=True, slots=True)
class RoutedNumber:
    """The number an event was routed by, as the answer names it."""

    sid: str
    account_sid: str
    phone_number: str
    organization_sid: str

    @classmethod
    def of(cls, number: IncomingNumber) -> RoutedNumber:
        return cls(number.sid, number.account_sid, number.phone_number, number.organization_sid)


@dataclass(frozen=True, slots=True)
class Match:
    """How the number was found: exact (by a spelling) or pattern (with the pattern)."""

    how: str  # exact | call (a refer: the call's own number) | pattern
    spelling: str | None
    pattern: str | None


@dataclass(frozen=True, slots=True)
class RoutingAnswer:
    """The answer to a call, message, refer, USSD request or dry run (SPEC 4).

    `sid` is the event's CallSid or SmsSid (the dialed string for a dry run); `rcml` and
    `rcml_source` are set when the RCML was fetched, primary or fallback.
    """

    sid: str
    outcome: Outcome
    number: RoutedNumber | None = None
    match: Match | None = None
    target: Target | None = None
    rcml: str | None = None
    rcml_source: str | None = None

    @property
    def routed(self) -> bool:
        return self.outcome is Outcome.ROUTED

    @classmethod
    def of(
        cls,
        sid: str,
        decision: RoutingDecision,
        *,
        outcome: Outcome | None = None,
        rcml: str | None = None,
        rcml_source: str | None = None,
    ) -> RoutingAnswer:
        """The answer a decision gives (outcome overridden when the fetch failed)."""
        resolution = decision.resolution
        number = resolution.number
        return cls(
            sid,
            outcome or decision.outcome,
            None if number is None else RoutedNumber.of(number),
            _match(resolution),
            decision.target,
            rcml,
            rcml_source,
        )


def _match(resolution: Resolution) -> Match | None:
    if resolution.how is None:
        return None
    return Match(resolution.how, resolution.spelling, resolution.pattern)


def document(answer: RoutingAnswer, sid_key: str) -> dict[str, Any]:
    """The answer as a JSON document (sid_key: call_sid, sms_sid or to): the gateway's
    answer body (SPEC 4), and what the calls and messages tables keep, so a repeated
    event is answered the same body (rows written before the engine hold it too)."""
    number, match, target = answer.number, answer.match, answer.target
    return {
        sid_key: answer.sid,
        "outcome": answer.outcome.value,
        "number": None
        if number is None
        else {
            "sid": number.sid,
            "account_sid": number.account_sid,
            "phone_number": number.phone_number,
            "organization_sid": number.organization_sid,
        },
        "match": None
        if match is None
        else {"how": match.how, "spelling": match.spelling, "pattern": match.pattern},
        "target": None
        if target is None
        else {
            "kind": target.kind,
            "application_sid": target.application_sid,
            "url": target.url,
            "method": target.method,
            "fallback_url": target.fallback_url,
            "fallback_method": target.fallback_method,
        },
        "rcml": answer.rcml,
        "rcml_source": answer.rcml_source,
    }


def from_document(stored: Mapping[str, Any], sid_key: str) -> RoutingAnswer:
    """The answer a document holds."""
    number, match, target = stored.get("number"), stored.get("match"), stored.get("target")
    return RoutingAnswer(
        sid=stored[sid_key],
        outcome=Outcome(stored["outcome"]),
        number=None if number is None else RoutedNumber(**number),
        match=None if match is None else Match(**match),
        target=None if target is None else Target(**target),
        rcml=stored.get("rcml"),
        rcml_source=stored.get("rcml_source"),
    )


@dataclass(frozen=True, slots=True)
class UnknownDomain:
    """A domain an event named that names no organization (read as none, SPEC 3.1)."""

    field: str  # destination_domain | source_domain
    domain: str


@dataclass(frozen=True, slots=True)
class Explanation:
    """A dry run's answer: the decision, the channel, and the trace of every stage."""

    answer: RoutingAnswer
    channel: Channel
    trace: Trace
    unknown_domains: tuple[UnknownDomain, ...] = ()


@dataclass(frozen=True, slots=True)
class StatusAccepted:
    """A status report taken: its callback (if the number asks for one) is queued."""

    call_sid: str
    status: CallStatus
    duplicate: bool  # this status was reported before; nothing new was queued
