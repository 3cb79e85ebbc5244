"""AvailablePhoneNumbers over the inventory, and the operator's inventory import."""

from __future__ import annotations

from aiohttp import web

from router import e164
from router.api import paging, params, representations
from router.api import twilio_representations as twilio
from router.api.auth import authenticate, caller_and_account, require_super_admin
from router.api.formats import json_response, render, render_list, strip_json_suffix
from router.api.keys import ENGINE, SETTINGS
from router.api.mounts import is_twilio
from router.api.number_params import TYPE_ROUTES
from router.engine.inventory import AvailableQuery
from router.errors import Invalid, NotFound, PayloadTooLarge

MAX_IMPORT_BYTES = 256 * 1024 * 1024


def _country(request: web.Request) -> str:
    country = strip_json_suffix(request.match_info["country"])
    if len(country) != 2 or not country.isascii() or not country.isalpha():
        raise Invalid(
            "Invalid Country: must be an ISO 3166 two-letter code such as US.", param="Country"
        )
    return country.upper()


async def available_numbers(request: web.Request) -> web.Response:
    await caller_and_account(request, strip_json_suffix(request.match_info["account_sid"]))
    country = _country(request)
    raw = params.query_params(request)
    query = _available_query(request, raw, country)
    found = await request.app[ENGINE].inventory.available(query)
    items = [
        representations.available_number(
            request, n, e164.friendly_name(n.phone_number, pure_sip=False)
        )
        for n in found
    ]
    envelope: dict[str, object] = {"uri": request.path_qs}
    if is_twilio(request):
        # One page: the inventory query is bounded by PageSize, there is no next one.
        info = paging.PageInfo(0, query.limit, len(items), len(items), None)
        envelope = paging.envelope(request, raw, info)
    return render_list(
        request,
        items,
        root="AvailablePhoneNumbers",
        item="AvailablePhoneNumber",
        json_key="available_phone_numbers",
        envelope=envelope,
    )


def _available_query(request: web.Request, raw: dict[str, str], country: str) -> AvailableQuery:
    """The country, the URL's number type, and AreaCode, Contains and PageSize."""
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
    kind = TYPE_ROUTES[strip_json_suffix(request.match_info["kind"])]
    return AvailableQuery(country, kind, area_code, contains, limit)


async def available_countries(request: web.Request) -> web.Response:
    """Restcomm's AvailableCountries: the ISO codes with free numbers, a JSON array."""
    await caller_and_account(request, strip_json_suffix(request.match_info["account_sid"]))
    found = await request.app[ENGINE].inventory.countries()
    return render_list(request, found, root="AvailableCountries", item="Country")


async def countries(request: web.Request) -> web.Response:
    """Twilio's country list: a country resource per country with free numbers."""
    _, account = await caller_and_account(
        request, strip_json_suffix(request.match_info["account_sid"])
    )
    found = await request.app[ENGINE].inventory.countries()
    items = [twilio.country(account.sid, c, e164.country_name(c)) for c in found]
    info = paging.PageInfo(0, max(len(items), 1), len(items), len(items), None)
    envelope = paging.envelope(request, params.query_params(request), info)
    return render_list(
        request, items, root="Countries", item="Country", json_key="countries", envelope=envelope
    )


async def country(request: web.Request) -> web.Response:
    """Twilio's country resource, with the links to its Local, TollFree and Mobile lists."""
    _, account = await caller_and_account(
        request, strip_json_suffix(request.match_info["account_sid"])
    )
    code = _country(request)
    if code not in await request.app[ENGINE].inventory.countries():
        raise NotFound(f"Country {code} has no available phone numbers.", param="Country")
    body = twilio.country(account.sid, code, e164.country_name(code))
    return render(request, body, root="Country")


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
    summary = await request.app[ENGINE].inventory.import_csv(text)
    result = {
        "inserted": summary.inserted,
        "already_present": summary.already_present,
        "rejected": summary.rejected_count,
        "rejections": [
            {"line": r.line, "reason": r.reason, "row": r.raw} for r in summary.rejected[:100]
        ],
    }
    return json_response(result)
