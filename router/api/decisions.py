"""The decision envelope the gateway receives (SPEC 4), and its HTTP status."""

from __future__ import annotations

from typing import Any

from router.resolver import Resolution
from router.routing import Decision, Outcome

STATUS = {
    Outcome.ROUTED: 200,
    Outcome.NOT_FOUND: 404,
    Outcome.NO_APPLICATION: 404,
    Outcome.FORBIDDEN: 403,
    Outcome.ACCOUNT_INACTIVE: 403,
    Outcome.RCML_UNAVAILABLE: 502,
}


def envelope(
    sid_key: str,
    sid: str,
    decision: Decision,
    *,
    outcome: Outcome | None = None,
    rcml: str | None = None,
    rcml_source: str | None = None,
) -> dict[str, Any]:
    """The answer body: the same keys for every outcome, unset ones null."""
    resolution = decision.resolution
    number = resolution.number
    target = decision.target
    return {
        sid_key: sid,
        "outcome": (outcome or decision.outcome).value,
        "number": None
        if number is None
        else {
            "sid": number.sid,
            "account_sid": number.account_sid,
            "phone_number": number.phone_number,
            "organization_sid": number.organization_sid,
        },
        "match": _match(resolution),
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
        "rcml": rcml,
        "rcml_source": rcml_source,
    }


def _match(resolution: Resolution) -> dict[str, Any] | None:
    if resolution.how is None:
        return None
    return {"how": resolution.how, "spelling": resolution.spelling, "pattern": resolution.pattern}


def unknown_domains(unknown: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
    """The dry run's note on domains that named no organization (SPEC 3.1)."""
    return [
        {"field": param, "domain": domain, "result": "names no organization: resolved as none"}
        for param, domain in unknown
    ]


def status_of(body: dict[str, Any]) -> int:
    return STATUS[Outcome(body["outcome"])]
