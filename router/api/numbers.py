"""IncomingPhoneNumbers routes: thin handlers that parse, delegate and render."""

from __future__ import annotations

from aiohttp import web

from router.api import number_params, paging, params, representations
from router.api.auth import authenticate, authorize_account, caller_and_account, require_super_admin
from router.api.formats import render, render_list, strip_json_suffix
from router.api.keys import ACCOUNTS, NUMBERS, RESOLVER, SETTINGS
from router.api.mounts import api_versions, created_status, is_twilio
from router.domain import NumberType, Page, PageRequest, is_sid
from router.errors import Invalid, MethodNotAllowed, NotFound

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
    page = await request.app[NUMBERS].list(filters, page_request)
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
    owners = await request.app[ACCOUNTS].ancestors(account.sid)
    number = await request.app[NUMBERS].provision(
        account.sid, account.organization_sid, owners, number_request
    )
    # This instance sees its own write at once; the others when the NOTIFY arrives.
    request.app[RESOLVER].invalidate([number.organization_sid], [number.phone_number])
    body = representations.number(request, number)
    return render(request, body, root=ITEM_ROOT, status=created_status(request))


async def get_number(request: web.Request) -> web.Response:
    _, account = await caller_and_account(request, _account_sid(request))
    number = await request.app[NUMBERS].get(account.sid, _number_sid(request))
    if number is None:
        raise NotFound(f"Phone number {_number_sid(request)} was not found.", param="Sid")
    return render(request, representations.number(request, number), root=ITEM_ROOT)


async def update_number(request: web.Request) -> web.Response:
    caller, account = await caller_and_account(request, _account_sid(request))
    raw = await params.read_params(request, request.app[SETTINGS].api_max_body_bytes)
    for fixed in ("PhoneNumber", "isSIP"):
        if fixed in raw:
            raise Invalid(
                f"Invalid {fixed}: it cannot change; provision a new number.", param=fixed
            )
    changes = number_params.settings(raw, api_versions=api_versions(request))
    new_owner = None
    target_sid = params.sid(raw, "AccountSid", "AC")
    if target_sid and target_sid != account.sid:
        target = await authorize_account(request, caller, target_sid)
        owners = await request.app[ACCOUNTS].ancestors(target.sid)
        new_owner = (target.sid, target.organization_sid, owners)
    elif target_sid == "":
        raise Invalid(
            "Invalid AccountSid: must be a 34-character sid starting with AC.", param="AccountSid"
        )
    number = await request.app[NUMBERS].update(
        account.sid, _number_sid(request), changes, new_owner=new_owner
    )
    request.app[RESOLVER].invalidate([number.organization_sid], [number.phone_number])
    return render(request, representations.number(request, number), root=ITEM_ROOT)


async def delete_number(request: web.Request) -> web.Response:
    _, account = await caller_and_account(request, _account_sid(request))
    await request.app[NUMBERS].delete(account.sid, _number_sid(request))
    return web.Response(status=204)


async def migrate_numbers(request: web.Request) -> web.Response:
    """SPEC 2.1's checks, in order, then one transaction."""
    caller = await authenticate(request)
    require_super_admin(caller)
    target_sid = _account_sid(request)
    target = (
        await request.app[ACCOUNTS].get_account(target_sid) if is_sid(target_sid, "AC") else None
    )
    if target is None:
        raise NotFound(f"Unknown AccountSid: no account {target_sid} exists.", param="AccountSid")
    if target.parent_sid is None:
        raise Invalid(
            "Invalid AccountSid: the numbers of a super admin cannot be migrated.",
            param="AccountSid",
        )
    raw = await params.read_params(request, request.app[SETTINGS].api_max_body_bytes)
    organization_sid = raw.get("OrganizationSid", "")
    if not is_sid(organization_sid, "OR"):
        raise Invalid(
            "Invalid OrganizationSid: must be a 34-character sid starting with OR.",
            param="OrganizationSid",
        )
    organization = await request.app[ACCOUNTS].get_organization(organization_sid)
    if organization is None:
        raise NotFound(
            f"Unknown OrganizationSid: no organization {organization_sid} exists.",
            param="OrganizationSid",
        )
    moved = await request.app[NUMBERS].migrate(target.sid, organization.sid)
    body = {"account_sid": target.sid, "organization_sid": organization.sid, "migrated": moved}
    return render(request, body, root="Migration")


async def not_allowed(request: web.Request) -> web.Response:
    raise MethodNotAllowed(f"Method {request.method} is not supported on {request.path}.")
