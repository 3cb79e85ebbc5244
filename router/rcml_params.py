"""The parameters sent with an RCML request (SPEC section 5), as Restcomm names them.

Pure builders: they only assemble the name/value pairs; the fetcher decides whether
they travel as a form body (POST) or in the query string (GET).
"""

from __future__ import annotations

from collections.abc import Mapping

API_VERSION = "2012-04-24"
SIP_HEADER_PREFIX = "SipHeader_"


def voice_params(
    *,
    call_sid: str,
    account_sid: str,
    from_: str,
    to: str,
    api_version: str = API_VERSION,
    caller_name: str | None = None,
    forwarded_from: str | None = None,
    sip_headers: Mapping[str, str] | None = None,
    call_status: str = "ringing",
) -> dict[str, str]:
    """Parameters of an inbound call's RCML request (Direction inbound).

    CallStatus is ringing for a new call (status callbacks reuse this set with the
    reported status); CallerName and ForwardedFrom are left out when unknown; each
    custom SIP header becomes `SipHeader_<name>`.
    """
    params = {
        "CallSid": call_sid,
        "AccountSid": account_sid,
        "From": from_,
        "To": to,
        "CallStatus": call_status,
        "ApiVersion": api_version,
        "Direction": "inbound",
    }
    params.update(_present({"CallerName": caller_name, "ForwardedFrom": forwarded_from}))
    for name, value in (sip_headers or {}).items():
        params[SIP_HEADER_PREFIX + name] = value
    return params


def sms_params(
    *,
    sms_sid: str,
    account_sid: str,
    from_: str,
    to: str,
    body: str,
    api_version: str = API_VERSION,
) -> dict[str, str]:
    """Parameters of an inbound message's RCML request."""
    return {
        "SmsSid": sms_sid,
        "AccountSid": account_sid,
        "From": from_,
        "To": to,
        "Body": body,
        "ApiVersion": api_version,
    }


def refer_params(
    voice: Mapping[str, str],
    *,
    refer_target: str,
    transferor: str | None = None,
    transferee: str | None = None,
) -> dict[str, str]:
    """Parameters of a transfer's RCML request: the call's voice set (`voice_params`)
    plus the Refer fields; Transferor and Transferee are left out when the gateway did
    not report them."""
    params = dict(voice)
    params["ReferTarget"] = refer_target
    params.update(_present({"Transferor": transferor, "Transferee": transferee}))
    return params


def _present(optional: Mapping[str, str | None]) -> dict[str, str]:
    return {name: value for name, value in optional.items() if value is not None}
