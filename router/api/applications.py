"""Applications routes."""

from __future__ import annotations

from aiohttp import web

from router.api import params, representations
from router.api.auth import caller_and_account
from router.api.formats import render, render_list, strip_json_suffix
from router.api.keys import ACCOUNTS, SETTINGS
from router.domain import Application, ApplicationKind, is_sid
from router.errors import Invalid, NotFound

KINDS = {k.value: k.value for k in ApplicationKind}


def _fields(raw: dict[str, str]) -> dict[str, object]:
    found: dict[str, object] = {}
    parsed = {
        "friendly_name": params.text(raw, "FriendlyName"),
        "rcml_url": params.url(raw, "RcmlUrl"),
        "kind": params.choice(raw, "Kind", KINDS),
        "api_version": params.api_version(raw),
        "has_voice_caller_id_lookup": params.boolean(raw, "VoiceCallerIdLookup"),
    }
    for key, value in parsed.items():
        if value is not None:
            found[key] = None if value == "" else value
    return found


async def _application(request: web.Request) -> Application:
    _, account = await caller_and_account(
        request, strip_json_suffix(request.match_info["account_sid"])
    )
    sid = strip_json_suffix(request.match_info["sid"])
    if not is_sid(sid, "AP"):
        raise NotFound("Application not found: Sid must be AP and 32 hex digits.", param="Sid")
    application = await request.app[ACCOUNTS].get_application(account.sid, sid)
    if application is None:
        raise NotFound(f"Application {sid} was not found.", param="Sid")
    return application


async def list_applications(request: web.Request) -> web.Response:
    _, account = await caller_and_account(
        request, strip_json_suffix(request.match_info["account_sid"])
    )
    found = await request.app[ACCOUNTS].list_applications(account.sid)
    items = [representations.application(request, a) for a in found]
    return render_list(request, items, root="Applications", item="Application")


async def create_application(request: web.Request) -> web.Response:
    _, account = await caller_and_account(
        request, strip_json_suffix(request.match_info["account_sid"])
    )
    raw = await params.read_params(request, request.app[SETTINGS].api_max_body_bytes)
    fields = _fields(raw)
    if "friendly_name" not in fields:
        raise Invalid("Missing FriendlyName: an application needs a name.", param="FriendlyName")
    application = await request.app[ACCOUNTS].create_application(account.sid, fields)
    return render(request, representations.application(request, application), root="Application")


async def get_application(request: web.Request) -> web.Response:
    application = await _application(request)
    return render(request, representations.application(request, application), root="Application")


async def update_application(request: web.Request) -> web.Response:
    application = await _application(request)
    raw = await params.read_params(request, request.app[SETTINGS].api_max_body_bytes)
    updated = await request.app[ACCOUNTS].update_application(application, _fields(raw))
    return render(request, representations.application(request, updated), root="Application")


async def delete_application(request: web.Request) -> web.Response:
    application = await _application(request)
    await request.app[ACCOUNTS].delete_application(application.account_sid, application.sid)
    return web.Response(status=204)
