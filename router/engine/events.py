"""What the engine is asked: one frozen value per use case, whatever transport it came by.

A gateway's JSON or form body, a Kannel post or an embedding program all become one of
these; the engine validates nothing the transport already checked (sid shapes, lengths)
but generates the sids an event may leave out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from router.domain import CallStatus, Channel, new_sid
from router.organizations import OrganizationNames

NO_ORGANIZATIONS = OrganizationNames()


def _call_sid() -> str:
    return new_sid("CA")


def _sms_sid() -> str:
    return new_sid("SM")


@dataclass(frozen=True, slots=True)
class CallEvent:
    """An inbound call (SPEC 4): a repeated call_sid gets the answer it got first."""

    from_number: str
    to: str
    call_sid: str = field(default_factory=_call_sid)
    organizations: OrganizationNames = NO_ORGANIZATIONS
    caller_name: str | None = None
    forwarded_from: str | None = None
    sip_headers: Mapping[str, str] = field(default_factory=dict)
    fetch_rcml: bool = True  # False: decide only (the gateway's ?fetch=false)


@dataclass(frozen=True, slots=True)
class UssdEvent(CallEvent):
    """A USSD pull such as *777#: a call's fields, routed by the number's Ussd fields
    and recorded as a call, so status reports work for it."""


@dataclass(frozen=True, slots=True)
class MessageEvent:
    """An inbound SMS (never routed through patterns)."""

    from_number: str
    to: str
    body: str = ""
    sms_sid: str = field(default_factory=_sms_sid)
    organizations: OrganizationNames = NO_ORGANIZATIONS
    fetch_rcml: bool = True


@dataclass(frozen=True, slots=True)
class ReferEvent:
    """A transfer of a call in progress, routed by its number's Refer fields."""

    call_sid: str
    refer_target: str
    transferor: str | None = None
    transferee: str | None = None
    fetch_rcml: bool = True


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """A call's new status as the gateway reports it (SPEC 6)."""

    call_sid: str
    status: CallStatus
    outbound_call_sid: str | None = None
    forwarded_from: str | None = None
    call_duration: int | None = None  # whole seconds
    refer_target: str | None = None
    transferor: str | None = None
    transferee: str | None = None


@dataclass(frozen=True, slots=True)
class ExplainRequest:
    """A dry run: the decision for a dialed string without side effects, with its trace.

    `tenant_organization_sid` set: a tenant asks, within that organization only (the
    organization fields may name nothing else); None: the gateway asks, system-wide.
    """

    to: str
    channel: Channel = Channel.VOICE
    organizations: OrganizationNames = NO_ORGANIZATIONS
    full_trace: bool = False
    tenant_organization_sid: str | None = None
