"""Applications routes."""

from __future__ import annotations

from aiohttp import web

from router.api import paging, params, representations
from router.api.auth import caller_and_account
from router.api.formats import render, strip_json_suffix
from router.api.keys import ENGINE, SETTINGS
from router.api.mounts import api_versions, created_status, is_twilio
from router.domain import Application, ApplicationKind, is_sid
from router.errors import Invalid, NotFound

KINDS = {k.value: k.value for k in ApplicationKind}


def _fields(request: web.Request, raw: dict[str, str]) -> dict[str, object]:
    if is_twilio(request):
        raw = _from_twilio(raw)
    found: dict[str, object] = {}
    parsed = {
        "friendly_name": params.text(raw, "FriendlyName"),
        "rcml_url": params.url(raw, "RcmlUrl"),
        "kind": params.choice(raw, "Kind", KINDS),
        "api_version": params.api_version(raw, accepted=api_versions(request)),
        "has_voice_caller_id_lookup": params.boolean(raw, "VoiceCallerIdLookup"),
    }
    for key, value in parsed.items():
        if value is not None:
            found[key] = None if value == "" else value
    return found


def _from_twilio(raw: dict[str, str]) -> dict[str, str]:
    """Twilio's VoiceUrl or SmsUrl is router's RcmlUrl, and says the application's kind."""
    given = [name for name in ("VoiceUrl", "SmsUrl") if name in raw]
    if len(given) > 1:
        raise Invalid(
            "Invalid SmsUrl: an application has one URL; give VoiceUrl or SmsUrl.",
            param="SmsUrl",
        )
    if not given:
        return raw
    translated = {k: v for k, v in raw.items() if k not in {"VoiceUrl", "SmsUrl"}}
    translated["RcmlUrl"] = raw[given[0]]
    translated["Kind"] = "voice" if given[0] == "VoiceUrl" else "sms"
    return translated


async def _application(request: web.Request) -> Application:
    _, account = await caller_and_account(
        request, strip_json_suffix(request.match_info["account_sid"])
    )
    sid = strip_json_suffix(request.match_info["sid"])
    if not is_sid(sid, "AP"):
        raise NotFound("Application not found: Sid must be AP and 32 hex digits.", param="Sid")
    return await request.app[ENGINE].applications.get(account, sid)


async def list_applications(request: web.Request) -> web.Response:
    _, account = await caller_and_account(
        request, strip_json_suffix(request.match_info["account_sid"])
    )
    found = await request.app[ENGINE].applications.list(account)
    return paging.render_short_list(
        request,
        found,
        lambda a: representations.application(request, a),
        root="Applications",
        item="Application",
        json_key="applications",
    )


async def create_application(request: web.Request) -> web.Response:
    _, account = await caller_and_account(
        request, strip_json_suffix(request.match_info["account_sid"])
    )
    raw = await params.read_params(request, request.app[SETTINGS].api_max_body_bytes)
    application = await request.app[ENGINE].applications.create(account, _fields(request, raw))
    body = representations.application(request, application)
    return render(request, body, root="Application", status=created_status(request))


async def get_application(request: web.Request) -> web.Response:
    application = await _application(request)
    return render(request, representations.application(request, application), root="Application")


async def update_application(request: web.Request) -> web.Response:
    application = await _application(request)
    raw = await params.read_params(request, request.app[SETTINGS].api_max_body_bytes)
    updated = await request.app[ENGINE].applications.update(application, _fields(request, raw))
    return render(request, representations.application(request, updated), root="Application")


async def delete_application(request: web.Request) -> web.Response:
    application = await _application(request)
    await request.app[ENGINE].applications.delete(application)
    return web.Response(status=204)
