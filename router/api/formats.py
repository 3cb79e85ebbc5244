"""Wire formats: JSON or XML by suffix and Accept, RFC 2822 dates, PascalCase XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import orjson
from aiohttp import web

from router.api.mounts import xml_root

API_VERSION = "2012-04-24"
XML_CONTENT_TYPE = "application/xml"


def wants_json(request: web.Request) -> bool:
    """A trailing .json selects JSON; else an Accept naming json; else XML."""
    if request.path.endswith(".json"):
        return True
    return "json" in request.headers.get("Accept", "").lower()


def strip_json_suffix(value: str) -> str:
    """A path segment without the .json format suffix."""
    return value[:-5] if value.endswith(".json") else value


def rfc2822(moment: datetime | None) -> str | None:
    """Dates on the wire: RFC 2822 in GMT, e.g. Mon, 04 Nov 2013 12:14:11 +0000."""
    if moment is None:
        return None
    return format_datetime(moment.astimezone(UTC))


def pascal_case(key: str) -> str:
    """snake_case JSON keys become PascalCase XML element names."""
    special = XML_NAMES.get(key)
    return special or "".join(part[:1].upper() + part[1:] for part in key.split("_"))


XML_NAMES = {
    "voice_capable": "Voice",
    "sms_capable": "Sms",
    "mms_capable": "Mms",
    "fax_capable": "Fax",
    # Twilio's capabilities (2010-04-01 mount) write these two in capitals.
    "sms": "SMS",
    "mms": "MMS",
    "uri": "Uri",
}


def render(
    request: web.Request,
    body: Mapping[str, Any] | None,
    *,
    root: str,
    status: int = 200,
) -> web.Response:
    """One resource, as JSON or as XML wrapped in <RestcommResponse><root> (or the
    Twilio mount's <TwilioResponse>)."""
    if wants_json(request):
        return json_response(body, status=status)
    element = ET.Element(xml_root(request))
    _append(element, root, body)
    return xml_response(element, status=status)


def render_list(
    request: web.Request,
    items: Sequence[Any],
    *,
    root: str,
    item: str,
    json_key: str | None = None,
    envelope: Mapping[str, Any] | None = None,
) -> web.Response:
    """A list: JSON array (or envelope with the items under json_key), or XML with the
    envelope as attributes of the list element."""
    if wants_json(request):
        if envelope is None:
            return json_response(list(items))
        return json_response({**envelope, (json_key or root): list(items)})
    response = ET.Element(xml_root(request))
    listing = ET.SubElement(response, root, _xml_attributes(envelope or {}))
    for entry in items:
        _append(listing, item, entry)
    return xml_response(response)


def json_response(body: Any, *, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


def xml_response(element: ET.Element, *, status: int = 200) -> web.Response:
    text = ET.tostring(element, encoding="unicode", xml_declaration=False)
    return web.Response(
        text='<?xml version="1.0" encoding="UTF-8"?>\n' + text,
        status=status,
        content_type=XML_CONTENT_TYPE,
    )


def _append(parent: ET.Element, name: str, value: Any) -> None:
    child = ET.SubElement(parent, name)
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _append(child, pascal_case(key), inner)
    elif isinstance(value, bool):
        child.text = "true" if value else "false"
    elif value is not None:
        child.text = str(value)


def _xml_attributes(envelope: Mapping[str, Any]) -> dict[str, str]:
    # Restcomm writes list paging as lowercase attributes without underscores.
    return {
        key.replace("_", ""): "" if value is None else str(value) for key, value in envelope.items()
    }
