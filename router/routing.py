"""The routing decision (SPEC 4): from a resolved number and a channel to the URL
whose RCML handles the event. Pure."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from router.domain import CHANNEL_FIELDS, Channel, IncomingNumber
from router.resolver import Resolution, ResolutionOutcome


class Outcome(enum.StrEnum):
    ROUTED = "routed"
    NOT_FOUND = "not_found"
    NO_APPLICATION = "no_application"
    FORBIDDEN = "forbidden"
    ACCOUNT_INACTIVE = "account_inactive"
    RCML_UNAVAILABLE = "rcml_unavailable"


@dataclass(frozen=True, slots=True)
class Target:
    """Where the RCML comes from: an application's URL, or the number's own URLs."""

    kind: str  # application | url
    application_sid: str | None
    url: str
    method: str
    fallback_url: str | None
    fallback_method: str | None


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    """What the gateway is told, before the RCML is fetched."""

    outcome: Outcome
    resolution: Resolution
    target: Target | None = None


def target_for(number: IncomingNumber, channel: Channel) -> Target | None:
    """SPEC 4: the channel's application wins; else the number's URL with its fallback
    (refer has none); else nothing. USSD routes by the number's Ussd fields."""
    fields = CHANNEL_FIELDS[channel]
    application_sid = getattr(number, fields.application_sid)
    if application_sid:
        # The application replaces the number's URLs, fallback included (the seed:
        # "Restcomm will ignore all of the voice urls").
        application_url = getattr(number, fields.application_url)
        if not application_url:
            return None
        return Target("application", application_sid, application_url, "POST", None, None)
    url = getattr(number, fields.url)
    if not url:
        return None
    fallback_url = getattr(number, fields.fallback_url) if fields.fallback_url else None
    fallback_method = (
        getattr(number, fields.fallback_method) if fallback_url and fields.fallback_method else None
    )
    return Target("url", None, url, getattr(number, fields.method), fallback_url, fallback_method)


def decide(resolution: Resolution, channel: Channel) -> RoutingDecision:
    """The decision for a resolution: routed with a target, or why not."""
    if resolution.outcome is ResolutionOutcome.FORBIDDEN:
        return RoutingDecision(Outcome.FORBIDDEN, resolution)
    number = resolution.number
    if resolution.outcome is not ResolutionOutcome.MATCHED or number is None:
        return RoutingDecision(Outcome.NOT_FOUND, resolution)
    if number.account_status != "active":
        return RoutingDecision(Outcome.ACCOUNT_INACTIVE, resolution)
    target = target_for(number, channel)
    if target is None:
        return RoutingDecision(Outcome.NO_APPLICATION, resolution)
    return RoutingDecision(Outcome.ROUTED, resolution, target)
