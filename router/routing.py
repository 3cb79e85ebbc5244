"""The routing decision (SPEC 4): from a resolved number and a channel to the URL
whose RCML handles the event. Pure."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from router.domain import Channel, IncomingNumber
from router.resolver import Outcome as ResolutionOutcome
from router.resolver import Resolution


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
class Decision:
    """What the gateway is told, before the RCML is fetched."""

    outcome: Outcome
    resolution: Resolution
    target: Target | None = None


def target_for(number: IncomingNumber, channel: Channel) -> Target | None:
    """SPEC 4: the channel's application wins; else the number's URL with its fallback
    (refer has none); else nothing. USSD routes by the number's Ussd fields."""
    application_sid, application_url, url, method = _channel_fields(number, channel)
    if application_sid:
        # The application replaces the number's URLs, fallback included (the seed:
        # "Restcomm will ignore all of the voice urls").
        if not application_url:
            return None
        return Target("application", application_sid, application_url, "POST", None, None)
    fallback_url, fallback_method = _fallback(number, channel)
    if url:
        return Target(
            "url", None, url, method, fallback_url, fallback_method if fallback_url else None
        )
    return None


def _channel_fields(
    number: IncomingNumber, channel: Channel
) -> tuple[str | None, str | None, str | None, str]:
    if channel is Channel.SMS:
        return (
            number.sms_application_sid,
            number.sms_application_url,
            number.sms_url,
            number.sms_method,
        )
    if channel is Channel.USSD:
        return (
            number.ussd_application_sid,
            number.ussd_application_url,
            number.ussd_url,
            number.ussd_method,
        )
    if channel is Channel.REFER:
        return (
            number.refer_application_sid,
            number.refer_application_url,
            number.refer_url,
            number.refer_method,
        )
    return (
        number.voice_application_sid,
        number.voice_application_url,
        number.voice_url,
        number.voice_method,
    )


def _fallback(number: IncomingNumber, channel: Channel) -> tuple[str | None, str]:
    if channel is Channel.SMS:
        return number.sms_fallback_url, number.sms_fallback_method
    if channel is Channel.VOICE:
        return number.voice_fallback_url, number.voice_fallback_method
    if channel is Channel.USSD:
        return number.ussd_fallback_url, number.ussd_fallback_method
    return None, "POST"


def decide(resolution: Resolution, channel: Channel) -> Decision:
    """The decision for a resolution: routed with a target, or why not."""
    if resolution.outcome is ResolutionOutcome.FORBIDDEN:
        return Decision(Outcome.FORBIDDEN, resolution)
    number = resolution.number
    if resolution.outcome is not ResolutionOutcome.MATCHED or number is None:
        return Decision(Outcome.NOT_FOUND, resolution)
    if number.account_status != "active":
        return Decision(Outcome.ACCOUNT_INACTIVE, resolution)
    target = target_for(number, channel)
    if target is None:
        return Decision(Outcome.NO_APPLICATION, resolution)
    return Decision(Outcome.ROUTED, resolution, target)
