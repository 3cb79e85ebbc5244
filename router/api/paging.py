"""List paging on the wire: the envelope of SPEC 2.1 (Restcomm) and its Twilio subset
(SPEC 9), with links under the mount point the caller used."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

from aiohttp import web

from router.api import params
from router.api.formats import render_list
from router.api.keys import SETTINGS
from router.api.mounts import is_twilio
from router.errors import Invalid

T = TypeVar("T")

# Twilio's SDKs read a page by these keys (and take the one other key as the list).
TWILIO_KEYS = (
    "first_page_uri",
    "end",
    "previous_page_uri",
    "uri",
    "page_size",
    "start",
    "next_page_uri",
    "page",
)


@dataclass(frozen=True, slots=True)
class PageInfo:
    """Where a page sits in its list."""

    page: int
    page_size: int
    total: int
    count: int  # items on this page
    last_sid: str | None  # the sid keyset paging continues after (None: offset links)


def envelope(request: web.Request, raw: dict[str, str], info: PageInfo) -> dict[str, Any]:
    """The paging fields of a list answer, in the caller's dialect."""
    num_pages = max(1, math.ceil(info.total / info.page_size))
    if info.page >= num_pages and info.page > 0:
        raise Invalid(
            f"Invalid Page: {info.page} is past the last page ({num_pages - 1}).", param="Page"
        )
    start = info.page * info.page_size
    kept = {k: v for k, v in raw.items() if k not in {"Page", "PageSize", "AfterSid"}}

    def link(number: int, after: str | None = None) -> str:
        query: dict[str, object] = {**kept, "Page": number, "PageSize": info.page_size}
        if after:
            query["AfterSid"] = after
        return f"{request.path}?{urlencode(query)}"

    has_next = info.page + 1 < num_pages and info.count > 0
    full = {
        "page": info.page,
        "num_pages": num_pages,
        "page_size": info.page_size,
        "total": info.total,
        "start": start,
        "end": start + max(info.count - 1, 0),
        "uri": request.path_qs,
        "first_page_uri": link(0),
        "previous_page_uri": link(info.page - 1) if info.page > 0 else None,
        "next_page_uri": link(info.page + 1, info.last_sid) if has_next else None,
        "last_page_uri": link(num_pages - 1),
    }
    if is_twilio(request):
        return {key: full[key] for key in TWILIO_KEYS}
    return full


def render_short_list(
    request: web.Request,
    items: Sequence[T],
    represent: Callable[[T], Mapping[str, Any]],
    *,
    root: str,
    item: str,
    json_key: str,
) -> web.Response:
    """A short list held in memory (accounts, applications): the whole of it, as Restcomm
    answers, or one page in Twilio's envelope on the 2010-04-01 mount."""
    if not is_twilio(request):
        return render_list(request, [represent(i) for i in items], root=root, item=item)
    settings = request.app[SETTINGS]
    raw = params.query_params(request)
    page = params.integer(raw, "Page", default=0, low=0, high=10_000_000)
    size = params.integer(
        raw,
        "PageSize",
        default=settings.api_default_page_size,
        low=1,
        high=settings.api_max_page_size,
    )
    chosen = [represent(i) for i in items[page * size : (page + 1) * size]]
    info = PageInfo(page=page, page_size=size, total=len(items), count=len(chosen), last_sid=None)
    return render_list(
        request,
        chosen,
        root=root,
        item=item,
        json_key=json_key,
        envelope=envelope(request, raw, info),
    )
