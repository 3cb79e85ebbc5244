"""HTTP Basic authentication against accounts, and the account-tree access rules."""

from __future__ import annotations

import base64
import binascii

from aiohttp import web

from router.api.keys import ENGINE
from router.domain import Account
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
    """The active account whose AccountSid:AuthToken the request carries."""
    account_sid, token = _basic_credentials(request.headers.get("Authorization", ""))
    return await request.app[ENGINE].accounts.authenticate(account_sid, token)


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
