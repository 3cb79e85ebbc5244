"""AvailablePhoneNumbers over the inventory, and the operator's inventory import."""

from __future__ import annotations

import io

from aiohttp import web

from router import numbers
from router.api import params, representations
from router.api.auth import authenticate, caller_and_account, require_super_admin
from router.api.formats import json_response, render_list, strip_json_suffix
from router.api.keys import INVENTORY, SETTINGS
from router.api.number_params import TYPE_ROUTES
from router.errors import Invalid, PayloadTooLarge
from router.inventory_import import import_inventory

MAX_IMPORT_BYTES = 256 * 1024 * 1024


async def available_numbers(request: web.Request) -> web.Response:
    await caller_and_account(request, strip_json_suffix(request.match_info["account_sid"]))
    country = request.match_info["country"]
    if len(country) != 2 or not country.isascii() or not country.isalpha():
        raise Invalid(
            "Invalid Country: must be an ISO 3166 two-letter code such as US.", param="Country"
        )
    raw = params.query_params(request)
    area_code = raw.get("AreaCode") or None
    if area_code is not None and not (
        area_code.isascii() and area_code.isdigit() and len(area_code) <= 8
    ):
        raise Invalid("Invalid AreaCode: must be up to 8 digits.", param="AreaCode")
    contains = raw.get("Contains") or None
    if contains is not None and (
        len(contains) > 32 or not all(c.isascii() and (c.isdigit() or c in "+*") for c in contains)
    ):
        raise Invalid(
            "Invalid Contains: up to 32 digits; * stands for one digit.", param="Contains"
        )
    limit = params.integer(
        raw, "PageSize", default=50, low=1, high=request.app[SETTINGS].api_max_page_size
    )
    found = await request.app[INVENTORY].available(
        country.upper(),
        TYPE_ROUTES[strip_json_suffix(request.match_info["kind"])],
        area_code=area_code,
        contains=contains,
        limit=limit,
    )
    items = [
        representations.available_number(n, numbers.friendly_name(n.phone_number, pure_sip=False))
        for n in found
    ]
    return render_list(
        request,
        items,
        root="AvailablePhoneNumbers",
        item="AvailablePhoneNumber",
        json_key="available_phone_numbers",
        envelope={"uri": request.path_qs},
    )


async def import_inventory_route(request: web.Request) -> web.Response:
    """POST a CSV body (number, type, area code, country): super admin only."""
    require_super_admin(await authenticate(request))
    if request.content_length is not None and request.content_length > MAX_IMPORT_BYTES:
        raise PayloadTooLarge(f"An inventory file may hold at most {MAX_IMPORT_BYTES} bytes.")
    body = await request.content.read(MAX_IMPORT_BYTES + 1)
    if len(body) > MAX_IMPORT_BYTES:
        raise PayloadTooLarge(f"An inventory file may hold at most {MAX_IMPORT_BYTES} bytes.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise Invalid("The inventory file is not valid UTF-8.") from error
    summary = await import_inventory(request.app[INVENTORY], io.StringIO(text, newline=""))
    result = {
        "inserted": summary.inserted,
        "already_present": summary.already_present,
        "rejected": summary.rejected_count,
        "rejections": [
            {"line": r.line, "reason": r.reason, "row": r.raw} for r in summary.rejected[:100]
        ],
    }
    return json_response(result)
