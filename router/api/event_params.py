"""Gateway event bodies (SPEC 4): reading and validating their fields."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web

from router.api import params
from router.api.number_params import plus_from_form
from router.domain import is_sid, new_sid
from router.errors import Invalid, PayloadTooLarge
from router.organizations import OrganizationNames

MAX_DIALED = 64
# Form fields holding numbers, where an unescaped `+` arrives as a space.
NUMBER_FIELDS = ("From", "To", "ForwardedFrom")
MAX_TEXT = 256
MAX_BODY_TEXT = 4096
MAX_SIP_HEADERS = 50
_DIALED_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ*#+._~-")
# C0 controls and DEL (searched in C: this runs for every text field of every event).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TOKEN_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_.!%*+`'~")


async def read_event(request: web.Request, max_bytes: int) -> dict[str, Any]:
    """The event body: a JSON object (values kept as JSON types) or a form."""
    if request.content_type == "application/json":
        body = await read_capped(request, max_bytes)
        try:
            document = orjson.loads(body) if body.strip() else {}
        except orjson.JSONDecodeError as error:
            raise Invalid("The request body is not valid JSON.") from error
        if not isinstance(document, dict):
            raise Invalid("The JSON request body must be an object.")
        return document
    form: dict[str, Any] = dict(await params.read_params(request, max_bytes))
    for name in NUMBER_FIELDS:
        if isinstance(form.get(name), str):
            form[name] = plus_from_form(form[name])
    return form


async def read_capped(request: web.Request, max_bytes: int) -> bytes:
    """The raw body, refused (413) beyond `max_bytes`."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise PayloadTooLarge(f"The request body exceeds {max_bytes} bytes.")
    body = await request.content.read(max_bytes + 1)
    if len(body) > max_bytes:
        raise PayloadTooLarge(f"The request body exceeds {max_bytes} bytes.")
    return body


def text(
    body: Mapping[str, Any], name: str, *, required: bool = False, max_length: int = MAX_TEXT
) -> str | None:
    """A string field of printable characters."""
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise Invalid(f"Missing {name}: it is required.", param=name)
        return None
    if not isinstance(value, str):
        raise Invalid(f"Invalid {name}: must be a string.", param=name)
    if not _printable(value, max_length):
        raise Invalid(
            f"Invalid {name}: must be at most {max_length} printable characters.", param=name
        )
    return value


def dialed(body: Mapping[str, Any], name: str) -> str:
    """A dialed number or SIP user: letters, digits and * # + . _ ~ -."""
    value = text(body, name, required=True, max_length=MAX_DIALED)
    assert value is not None
    if not _DIALED_CHARS.issuperset(value):
        raise Invalid(
            f"Invalid {name}: a dialed number or SIP user of up to {MAX_DIALED} letters,"
            " digits and * # + . _ ~ -.",
            param=name,
        )
    return value


def sid(
    body: Mapping[str, Any],
    name: str,
    prefix: str,
    *,
    required: bool = False,
    generate: bool = False,
) -> str | None:
    """A sid field; generated when absent and `generate`."""
    value = text(body, name, required=required and not generate, max_length=64)
    if value is None:
        return new_sid(prefix) if generate else None
    if not is_sid(value, prefix):
        raise Invalid(
            f"Invalid {name}: must be {prefix} followed by 32 lowercase hex digits.", param=name
        )
    return value


def organizations(body: Mapping[str, Any]) -> OrganizationNames:
    return OrganizationNames(
        destination_sid=sid(body, "DestinationOrganizationSid", "OR"),
        destination_domain=_domain(body, "Domain"),
        source_sid=sid(body, "SourceOrganizationSid", "OR"),
        source_domain=_domain(body, "SourceDomain"),
    )


def _domain(body: Mapping[str, Any], name: str) -> str | None:
    value = text(body, name, max_length=253)
    return value.lower().rstrip(".") if value else None


def sip_headers(body: Mapping[str, Any]) -> dict[str, str]:
    """SipHeaders (a JSON object), or form fields named SipHeader_<name>."""
    given = body.get("SipHeaders")
    if given is None:
        given = {k[len("SipHeader_") :]: v for k, v in body.items() if k.startswith("SipHeader_")}
    if not isinstance(given, dict):
        raise Invalid(
            "Invalid SipHeaders: must be an object of header names to values.", param="SipHeaders"
        )
    if len(given) > MAX_SIP_HEADERS:
        raise Invalid(f"Invalid SipHeaders: at most {MAX_SIP_HEADERS} headers.", param="SipHeaders")
    headers = {}
    for name, value in given.items():
        if not name or len(name) > 64 or not _TOKEN_CHARS.issuperset(name):
            raise Invalid(
                f"Invalid SipHeaders: {name[:64]!r} is not a header name.", param="SipHeaders"
            )
        # The parameter the gateway sent is SipHeaders: the message names it, not the header.
        if value is not None and not (isinstance(value, str) and _printable(value, 1024)):
            raise Invalid(
                f"Invalid SipHeaders: the value of {name} must be a string of at most 1024"
                " printable characters.",
                param="SipHeaders",
            )
        headers[name] = value or ""
    return headers


def _printable(value: str, max_length: int) -> bool:
    return len(value) <= max_length and _CONTROL.search(value) is None
