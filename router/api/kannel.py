"""Kannel's sms-service `post-url` in router's terms: an adapter onto the message event.

Kannel posts a mobile-originated SMS as its raw text, with the sender and receiver in
X-Kannel-From / X-Kannel-To headers, and can authenticate only with credentials in the
URL (Basic). This route turns that into the body `POST /v1/events/messages` takes and
routes it the same way; the query string carries what Kannel cannot put in headers
(`id=%I`, Kannel's message id, becomes the SmsSid so a re-post gets its first answer;
the organization fields; `fetch=false`).

Kannel sends the answer's body back to the sender as a reply SMS unless it is empty:
a routed message answers 202 with no body (nothing sent back); any other outcome keeps
router's status and JSON envelope, which Kannel counts as a failed request and answers
with its `reply-couldnotfetch` text.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from router.api import event_params, events, params
from router.api.keys import GATEWAY, SETTINGS
from router.errors import Invalid

ORGANIZATION_FIELDS = (
    "DestinationOrganizationSid",
    "Domain",
    "SourceOrganizationSid",
    "SourceDomain",
)
# Kannel's %I: a UUID (with or without dashes).
_MESSAGE_ID = re.compile(
    r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
)


async def kannel_message(request: web.Request) -> web.Response:
    """Route one MO SMS posted by Kannel's post-url."""
    request.app[GATEWAY].require(request, allow_basic=True)
    query = params.query_params(request)
    body: dict[str, Any] = {
        "From": request.headers.get("X-Kannel-From"),
        "To": request.headers.get("X-Kannel-To"),
        "Body": await _text(request),
        **{name: query[name] for name in ORGANIZATION_FIELDS if name in query},
    }
    if query.get("id"):
        body["SmsSid"] = _sms_sid(query["id"])
    answer = await events.route_message(request, body)
    if answer.status == 200:
        return web.Response(status=202)
    return answer


async def _text(request: web.Request) -> str:
    """The message text in the charset Kannel declared (UTF-8 when it declared none)."""
    limit = request.app[SETTINGS].api_max_body_bytes
    raw = await event_params.read_capped(request, limit)
    try:
        return raw.decode(request.charset or "utf-8")
    except (LookupError, UnicodeDecodeError) as error:
        raise Invalid(
            f"Invalid Body: the message text is not valid {request.charset or 'utf-8'}.",
            param="Body",
        ) from error


def _sms_sid(message_id: str) -> str:
    if not _MESSAGE_ID.fullmatch(message_id):
        raise Invalid("Invalid id: must be Kannel's message id (%I), a UUID.", param="id")
    return "SM" + message_id.replace("-", "").lower()
