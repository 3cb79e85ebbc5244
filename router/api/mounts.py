"""The management API's mount points: Restcomm's (2012-04-24, SPEC 2) and Twilio's
(2010-04-01, SPEC 9). One set of handlers serves both; what differs between them is
only how answers are rendered, and that is decided here from the request path."""

from __future__ import annotations

import enum

from aiohttp import web

RESTCOMM_VERSION = "2012-04-24"
TWILIO_VERSION = "2010-04-01"
RESTCOMM_MOUNTS = ("/" + RESTCOMM_VERSION, "/restcomm/" + RESTCOMM_VERSION)
TWILIO_MOUNT = "/" + TWILIO_VERSION


class Dialect(enum.Enum):
    RESTCOMM = "restcomm"
    TWILIO = "twilio"


def dialect(request: web.Request) -> Dialect:
    """Which rendering the caller's mount point asks for."""
    return Dialect.TWILIO if request.path.startswith(TWILIO_MOUNT + "/") else Dialect.RESTCOMM


def is_twilio(request: web.Request) -> bool:
    return dialect(request) is Dialect.TWILIO


def mount_point(request: web.Request) -> str:
    """The prefix the caller used: /2010-04-01, /restcomm/2012-04-24 or /2012-04-24."""
    if is_twilio(request):
        return TWILIO_MOUNT
    return RESTCOMM_MOUNTS[1] if request.path.startswith("/restcomm/") else RESTCOMM_MOUNTS[0]


def xml_root(request: web.Request) -> str:
    """The element every XML answer is wrapped in."""
    return "TwilioResponse" if is_twilio(request) else "RestcommResponse"


def created_status(request: web.Request) -> int:
    """SPEC 2.1: Restcomm clients expect 200 on create; Twilio's SDKs get the HTTP norm."""
    return 201 if is_twilio(request) else 200


def api_versions(request: web.Request) -> frozenset[str]:
    """The ApiVersion values a request may carry on its mount."""
    if is_twilio(request):
        return frozenset({TWILIO_VERSION, RESTCOMM_VERSION})
    return frozenset({RESTCOMM_VERSION})
