"""The engine's answers as the gateway receives them (SPEC 4): the envelope and its
HTTP status."""

from __future__ import annotations

from typing import Any

from router.engine.answers import Explanation, RoutingAnswer, StatusAccepted, document
from router.routing import Outcome

STATUS = {
    Outcome.ROUTED: 200,
    Outcome.NOT_FOUND: 404,
    Outcome.NO_APPLICATION: 404,
    Outcome.FORBIDDEN: 403,
    Outcome.ACCOUNT_INACTIVE: 403,
    Outcome.RCML_UNAVAILABLE: 502,
}


def status_of(answer: RoutingAnswer) -> int:
    return STATUS[answer.outcome]


def envelope(answer: RoutingAnswer, sid_key: str) -> dict[str, Any]:
    """The answer body: the same keys for every outcome, unset ones null."""
    return document(answer, sid_key)


def explanation(found: Explanation, trace: dict[str, Any]) -> dict[str, Any]:
    """A dry run's body: the envelope keyed by the dialed string, the channel, the trace
    and a note on domains that named no organization (SPEC 3.1)."""
    body = envelope(found.answer, "to")
    body["channel"] = found.channel.value
    body["trace"] = trace
    if found.unknown_domains:
        trace["organizations"] = [
            {
                "field": unknown.field,
                "domain": unknown.domain,
                "result": "names no organization: resolved as none",
            }
            for unknown in found.unknown_domains
        ]
    return body


def status_accepted(accepted: StatusAccepted) -> dict[str, Any]:
    return {
        "call_sid": accepted.call_sid,
        "call_status": accepted.status.value,
        "duplicate": accepted.duplicate,
    }
