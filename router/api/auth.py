"""HTTP Basic authentication against accounts, and the account-tree access rules."""

from __future__ import annotations

import base64
import binascii

from aiohttp import web

from router.api.keys import AUTH_THROTTLE, CLIENT_ADDRESSES, ENGINE
from router.domain import Account, is_sid
from router.engine.accounts import require_administrator, require_super_admin
from router.errors import Unauthenticated

__all__ = [
    "authenticate",
    "authorize_account",
    "caller_and_account",
    "require_administrator",
    "require_super_admin",
]


async def authenticate(request: web.Request) -> Account:
    """The active account whose AccountSid:AuthToken the request carries; 429 once its
    address or account has failed too often (auth_throttle.py)."""
    header = request.headers.get("Authorization", "")
    if not header:  # a first request without credentials is no failure (clients probe)
        raise Unauthenticated("Authentication required: HTTP Basic AccountSid:AuthToken.")
    throttle = request.app[AUTH_THROTTLE]
    address = request.app[CLIENT_ADDRESSES].of(request)
    try:
        account_sid, token = _basic_credentials(header)
    except Unauthenticated:
        throttle.check(address, None)
        throttle.failed(address, None)
        raise
    scoped_sid = account_sid if is_sid(account_sid, "AC") else None
    throttle.check(address, scoped_sid)
    try:
        return await request.app[ENGINE].accounts.authenticate(account_sid, token)
    except Unauthenticated:
        throttle.failed(address, scoped_sid)
        raise


def _basic_credentials(header: str) -> tuple[str, str]:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise Unauthenticated("Authentication required: HTTP Basic AccountSid:AuthToken.")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as error:
        raise Unauthenticated("Malformed Basic credentials.") from error
    account_sid, separator, token = decoded.partition(":")
    if not separator:
        raise Unauthenticated("Malformed Basic credentials: expected AccountSid:AuthToken.")
    return account_sid, token


async def authorize_account(request: web.Request, caller: Account, target_sid: str) -> Account:
    """The target account, if the caller is it, one of its ancestors or a super admin."""
    return await request.app[ENGINE].accounts.authorize(caller, target_sid)


async def caller_and_account(request: web.Request, target_sid: str) -> tuple[Account, Account]:
    """Authenticate, then authorize the URL's account."""
    caller = await authenticate(request)
    return caller, await authorize_account(request, caller, target_sid)
