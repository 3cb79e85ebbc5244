"""Resources as the wire shows them: snake_case keys in the seed's order."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from router.api import twilio_representations as twilio
from router.api.formats import rfc2822
from router.api.mounts import is_twilio, mount_point
from router.domain import Account, Application, IncomingNumber, InventoryNumber, Organization


def number(request: web.Request, n: IncomingNumber) -> dict[str, Any]:
    """An IncomingPhoneNumber, keys in the order of the seed's example, extras last
    (Twilio's representation on the 2010-04-01 mount)."""
    if is_twilio(request):
        return twilio.number(request, n)
    return {
        "sid": n.sid,
        "account_sid": n.account_sid,
        "friendly_name": n.friendly_name,
        "phone_number": n.phone_number,
        "voice_url": n.voice_url,
        "voice_method": n.voice_method,
        "voice_fallback_url": n.voice_fallback_url,
        "voice_fallback_method": n.voice_fallback_method,
        "status_callback": n.status_callback,
        "status_callback_method": n.status_callback_method,
        "voice_caller_id_lookup": n.voice_caller_id_lookup,
        "voice_application_sid": n.voice_application_sid,
        "date_created": rfc2822(n.date_created),
        "date_updated": rfc2822(n.date_updated),
        "sms_url": n.sms_url,
        "sms_method": n.sms_method,
        "sms_fallback_url": n.sms_fallback_url,
        "sms_fallback_method": n.sms_fallback_method,
        "sms_application_sid": n.sms_application_sid,
        "refer_url": n.refer_url,
        "refer_method": n.refer_method,
        "refer_application_sid": n.refer_application_sid,
        "capabilities": {
            "voice_capable": n.voice_capable,
            "sms_capable": n.sms_capable,
            "mms_capable": n.mms_capable,
            "fax_capable": n.fax_capable,
        },
        "api_version": n.api_version,
        "uri": f"{mount_point(request)}/Accounts/{n.account_sid}/IncomingPhoneNumbers/{n.sid}.json",
        "voice_application_name": n.voice_application_name,
        "sms_application_name": n.sms_application_name,
        "refer_application_name": n.refer_application_name,
        "organization_sid": n.organization_sid,
        "number_type": n.number_type.value,
        "pure_sip": n.pure_sip,
        "ussd_url": n.ussd_url,
        "ussd_method": n.ussd_method,
        "ussd_fallback_url": n.ussd_fallback_url,
        "ussd_fallback_method": n.ussd_fallback_method,
        "ussd_application_sid": n.ussd_application_sid,
        "ussd_application_name": n.ussd_application_name,
    }


def account(
    request: web.Request, a: Account, *, show_signing_key: bool, auth_token: str | None = None
) -> dict[str, Any]:
    """An Account; the auth token only right after creation or rotation."""
    if is_twilio(request):
        return twilio.account(a, show_signing_key=show_signing_key, auth_token=auth_token)
    body: dict[str, Any] = {
        "sid": a.sid,
        "friendly_name": a.friendly_name,
        "status": a.status.value,
        "role": a.role.value,
        "parent_sid": a.parent_sid,
        "organization_sid": a.organization_sid,
        "date_created": rfc2822(a.date_created),
        "date_updated": rfc2822(a.date_updated),
    }
    if auth_token is not None:
        body["auth_token"] = auth_token
    if show_signing_key:
        body["signing_key"] = a.signing_key
    body["uri"] = f"{mount_point(request)}/Accounts/{a.sid}.json"
    return body


def organization(request: web.Request, o: Organization) -> dict[str, Any]:
    return {
        "sid": o.sid,
        "domain_name": o.domain_name,
        "status": o.status,
        "date_created": rfc2822(o.date_created),
        "date_updated": rfc2822(o.date_updated),
        "uri": f"{mount_point(request)}/Organizations/{o.sid}.json",
    }


def application(request: web.Request, a: Application) -> dict[str, Any]:
    if is_twilio(request):
        return twilio.application(a)
    return {
        "sid": a.sid,
        "date_created": rfc2822(a.date_created),
        "date_updated": rfc2822(a.date_updated),
        "friendly_name": a.friendly_name,
        "account_sid": a.account_sid,
        "api_version": a.api_version,
        "voice_caller_id_lookup": a.has_voice_caller_id_lookup,
        "rcml_url": a.rcml_url,
        "kind": a.kind.value,
        "uri": f"{mount_point(request)}/Accounts/{a.account_sid}/Applications/{a.sid}.json",
    }


def available_number(
    request: web.Request, n: InventoryNumber, friendly_name: str
) -> dict[str, Any]:
    if is_twilio(request):
        return twilio.available_number(n, friendly_name)
    return {
        "friendly_name": friendly_name,
        "phone_number": n.phone_number,
        "area_code": n.area_code,
        "iso_country": n.country,
        "number_type": n.number_type.value,
    }
