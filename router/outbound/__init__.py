"""Requests to tenants' URLs: where they may go (destinations) and how they go (sender).

RCML fetches (router/rcml.py) and status callbacks (router/webhooks/dispatcher.py)
both send through `Sender`; nothing else talks to a tenant's server.
"""

from router.outbound.destinations import (
    DeniedDestination,
    DenyingResolver,
    DenyList,
    check_destination,
    literal_host,
)
from router.outbound.sender import (
    USER_AGENT,
    Failure,
    OutboundRequest,
    Sender,
    SendFailed,
    create_client_session,
)

__all__ = [
    "USER_AGENT",
    "DeniedDestination",
    "DenyList",
    "DenyingResolver",
    "Failure",
    "OutboundRequest",
    "SendFailed",
    "Sender",
    "check_destination",
    "create_client_session",
    "literal_host",
]
