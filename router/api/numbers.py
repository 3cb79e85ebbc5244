"""IncomingPhoneNumbers routes: thin handlers that parse, delegate and render."""

from __future__ import annotations

from aiohttp import web

from router.api import number_params, paging, params, representations
from router.api.auth import authenticate, caller_and_account
from router.api.formats import render, render_list, strip_json_suffix
from router.api.keys import ENGINE, SETTINGS
from router.api.mounts import api_versions, created_status, is_twilio
from router.domain import NumberType, Page, PageRequest, is_sid
from router.errors import MethodNotAllowed, NotFound

LIST_ROOT = "IncomingPhoneNumbers"
ITEM_ROOT = "IncomingPhoneNumber"


def _number_type(request: web.Request) -> NumberType | None:
    kind = request.match_info.get("kind")
    return number_params.TYPE_ROUTES[strip_json_suffix(kind)] if kind else None


def _account_sid(request: web.Request) -> str:
    return strip_json_suffix(request.match_info["account_sid"])


def _number_sid(request: web.Request) -> str:
    """The URL's number sid; text that cannot be a sid names no number and never
    reaches the database (a NUL byte there is a driver error)."""
    sid = strip_json_suffix(request.match_info["sid"])
    if not is_sid(sid, "PN"):
        raise NotFound("Phone number not found: Sid must be PN and 32 hex digits.", param="Sid")
    return sid


async def list_numbers(request: web.Request) -> web.Response:
    _, account = await caller_and_account(request, _account_sid(request))
    raw = params.query_params(request)
    settings = request.app[SETTINGS]
    filters = number_params.list_filter(raw, account.sid, _number_type(request))
    page_request = number_params.page_request(
        raw, default_size=settings.api_default_page_size, max_size=settings.api_max_page_size
    )
    page = await request.app[ENGINE].numbers.list(filters, page_request)
    envelope = _envelope(request, raw, page, page_request)
    items = [representations.number(request, n) for n in page.items]
    return render_list(
        request,
        items,
        root=LIST_ROOT,
        item=ITEM_ROOT,
        json_key="incoming_phone_numbers" if is_twilio(request) else "incomingPhoneNumbers",
        envelope=envelope,
    )


def _envelope(
    request: web.Request, raw: dict[str, str], page: Page, asked: PageRequest
) -> dict[str, object]:
    last_sid = page.items[-1].sid if page.items else None
    info = paging.PageInfo(page.page, page.page_size, page.total, len(page.items), last_sid)
    return paging.envelope(request, raw, info)


async def create_number(request: web.Request) -> web.Response:
    _, account = await caller_and_account(request, _account_sid(request))
    raw = await params.read_params(request, request.app[SETTINGS].api_max_body_bytes)
    number_request = number_params.provision_request(
        raw, _number_type(request), api_versions=api_versions(request)
    )
    number = await request.app[ENGINE].numbers.provision(account, number_request)
    body = representations.number(request, number)
    return render(request, body, root=ITEM_ROOT, status=created_status(request))


async def get_number(request: web.Request) -> web.Response:
    _, account = await caller_and_account(request, _account_sid(request))
    number = await request.app[ENGINE].numbers.get(account, _number_sid(request))
    return render(request, representations.number(request, number), root=ITEM_ROOT)


async def update_number(request: web.Request) -> web.Response:
    caller, account = await caller_and_account(request, _account_sid(request))
    raw = await params.read_params(request, request.app[SETTINGS].api_max_body_bytes)
    changes = number_params.update_request(raw, api_versions=api_versions(request))
    new_account_sid = number_params.new_account_sid(raw)
    number = await request.app[ENGINE].numbers.update(
        caller, account, _number_sid(request), changes, new_account_sid=new_account_sid
    )
    return render(request, representations.number(request, number), root=ITEM_ROOT)


async def delete_number(request: web.Request) -> web.Response:
    _, account = await caller_and_account(request, _account_sid(request))
    await request.app[ENGINE].numbers.release(account, _number_sid(request))
    return web.Response(status=204)


async def migrate_numbers(request: web.Request) -> web.Response:
    """SPEC 2.1's checks, in order, then one transaction."""
    caller = await authenticate(request)
    raw = await params.read_params(request, request.app[SETTINGS].api_max_body_bytes)
    migration = await request.app[ENGINE].numbers.migrate(
        caller, _account_sid(request), raw.get("OrganizationSid", "")
    )
    body = {
        "account_sid": migration.account_sid,
        "organization_sid": migration.organization_sid,
        "migrated": migration.migrated,
    }
    return render(request, body, root="Migration")


async def not_allowed(request: web.Request) -> web.Response:
    raise MethodNotAllowed(f"Method {request.method} is not supported on {request.path}.")
