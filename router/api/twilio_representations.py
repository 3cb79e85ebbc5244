"""Resources as Twilio's 2010-04-01 API shows them (SPEC 9), for the SDKs tenants
bring from Twilio. Router has no concept behind some of Twilio's fields (addresses,
emergency calling, trunks, bundles): those are null or the fixed value that says
"none" on Twilio, never invented data."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from router.api.formats import rfc2822
from router.api.mounts import TWILIO_MOUNT, TWILIO_VERSION
from router.domain import Account, Application, ApplicationKind, IncomingNumber, InventoryNumber


def number(request: web.Request, n: IncomingNumber) -> dict[str, Any]:
    """An IncomingPhoneNumber with every key Twilio's has, in Twilio's order."""
    uri = f"{TWILIO_MOUNT}/Accounts/{n.account_sid}/IncomingPhoneNumbers/{n.sid}"
    return {
        "account_sid": n.account_sid,
        "address_requirements": "none",
        "address_sid": None,
        "api_version": TWILIO_VERSION,
        "beta": False,
        "capabilities": {
            "voice": n.voice_capable,
            "sms": n.sms_capable,
            "mms": n.mms_capable,
            "fax": n.fax_capable,
        },
        "date_created": rfc2822(n.date_created),
        "date_updated": rfc2822(n.date_updated),
        "emergency_status": "Inactive",
        "emergency_address_sid": None,
        "emergency_address_status": "unregistered",
        "friendly_name": n.friendly_name,
        "identity_sid": None,
        # The operator's own numbers, hosted on router: Twilio's word for those.
        "origin": "hosted",
        "phone_number": n.phone_number,
        "sid": n.sid,
        "sms_application_sid": n.sms_application_sid,
        "sms_fallback_method": n.sms_fallback_method,
        "sms_fallback_url": n.sms_fallback_url,
        "sms_method": n.sms_method,
        "sms_url": n.sms_url,
        "status_callback": n.status_callback,
        "status_callback_method": n.status_callback_method,
        "trunk_sid": None,
        "uri": uri + ".json",
        "voice_receive_mode": "voice",
        "voice_application_sid": n.voice_application_sid,
        "voice_caller_id_lookup": n.voice_caller_id_lookup,
        "voice_fallback_method": n.voice_fallback_method,
        "voice_fallback_url": n.voice_fallback_url,
        "voice_method": n.voice_method,
        "voice_url": n.voice_url,
        "bundle_sid": None,
        "status": "in-use",
        "subresource_uris": {},
    }


def account(a: Account, *, show_signing_key: bool, auth_token: str | None) -> dict[str, Any]:
    """An Account; Twilio's `type` is Full (router has no trial accounts)."""
    base = f"{TWILIO_MOUNT}/Accounts/{a.sid}"
    body: dict[str, Any] = {
        "auth_token": auth_token,
        "date_created": rfc2822(a.date_created),
        "date_updated": rfc2822(a.date_updated),
        "friendly_name": a.friendly_name,
        "owner_account_sid": a.parent_sid or a.sid,
        "sid": a.sid,
        "status": a.status.value,
        "subresource_uris": {
            "applications": base + "/Applications.json",
            "available_phone_numbers": base + "/AvailablePhoneNumbers.json",
            "incoming_phone_numbers": base + "/IncomingPhoneNumbers.json",
        },
        "type": "Full",
        "uri": base + ".json",
    }
    if show_signing_key:
        body["signing_key"] = a.signing_key
    return body


def application(a: Application) -> dict[str, Any]:
    """An Application: router's one RCML URL is the voice or the SMS URL by its kind."""
    voice = a.rcml_url if a.kind is ApplicationKind.VOICE else None
    sms = a.rcml_url if a.kind is not ApplicationKind.VOICE else None
    return {
        "account_sid": a.account_sid,
        "api_version": TWILIO_VERSION,
        "date_created": rfc2822(a.date_created),
        "date_updated": rfc2822(a.date_updated),
        "friendly_name": a.friendly_name,
        "message_status_callback": None,
        "sid": a.sid,
        "sms_fallback_method": "POST",
        "sms_fallback_url": None,
        "sms_method": "POST",
        "sms_status_callback": None,
        "sms_url": sms,
        "status_callback": None,
        "status_callback_method": "POST",
        "uri": f"{TWILIO_MOUNT}/Accounts/{a.account_sid}/Applications/{a.sid}.json",
        "voice_caller_id_lookup": a.has_voice_caller_id_lookup,
        "voice_fallback_method": "POST",
        "voice_fallback_url": None,
        "voice_method": "POST",
        "voice_url": voice,
        "public_application_connect_enabled": False,
    }


def available_number(n: InventoryNumber, friendly_name: str) -> dict[str, Any]:
    """An inventory number as Twilio lists available numbers; the inventory holds no
    geography beyond the country, so the rest is null."""
    return {
        "friendly_name": friendly_name,
        "phone_number": n.phone_number,
        "lata": None,
        "locality": None,
        "rate_center": None,
        "latitude": None,
        "longitude": None,
        "region": None,
        "postal_code": None,
        "iso_country": n.country,
        "address_requirements": "none",
        "beta": False,
        # What the number gets when provisioned (router's defaults).
        "capabilities": {"voice": True, "sms": True, "mms": False, "fax": False},
    }


TYPE_SEGMENTS = {"local": "Local", "toll_free": "TollFree", "mobile": "Mobile"}


def country(account_sid: str, code: str, name: str | None) -> dict[str, Any]:
    """An AvailablePhoneNumbers country resource."""
    base = f"{TWILIO_MOUNT}/Accounts/{account_sid}/AvailablePhoneNumbers/{code}"
    return {
        "country_code": code,
        "country": name,
        "uri": base + ".json",
        "beta": False,
        "subresource_uris": {key: f"{base}/{seg}.json" for key, seg in TYPE_SEGMENTS.items()},
    }
