"""router: inbound call and SMS routing, as a service (`router serve`) or in process.

The embedding API (SPEC 10): everything a gateway can do over HTTP, a Python program
can do with no HTTP hop, through one engine opened from settings::

    import router

    async with router.open(router.config.load()) as engine:
        answer = await engine.route_call(router.CallEvent(from_number="+15550001", to="+15550002"))
        print(answer.outcome)  # routed, not_found, no_application, ...

With no database URL configured the engine runs on the embedded PostgreSQL of the
data directory, as `router serve` does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from router import config
from router.assembly import opened
from router.config import Settings
from router.domain import CallStatus, Channel, NumberRequest, NumberType
from router.engine.answers import Explanation, RoutingAnswer, StatusAccepted
from router.engine.engine import Engine
from router.engine.events import (
    CallEvent,
    ExplainRequest,
    MessageEvent,
    ReferEvent,
    StatusEvent,
    UssdEvent,
)
from router.organizations import OrganizationNames
from router.routing import Outcome

__all__ = [
    "CallEvent",
    "CallStatus",
    "Channel",
    "Engine",
    "ExplainRequest",
    "Explanation",
    "MessageEvent",
    "NumberRequest",
    "NumberType",
    "OrganizationNames",
    "Outcome",
    "ReferEvent",
    "RoutingAnswer",
    "Settings",
    "StatusAccepted",
    "StatusEvent",
    "UssdEvent",
    "config",
    "open",
]


@asynccontextmanager
async def open(settings: Settings) -> AsyncIterator[Engine]:
    """An engine on the configured database (migrated, bootstrapped as on a first
    start), with its resolver kept fresh and its status callbacks delivered, until the
    block ends."""
    async with opened(settings) as engine:
        yield engine
