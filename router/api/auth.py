"""HTTP Basic authentication against accounts, and the account-tree access rules."""

from __future__ import annotations

import base64
import binascii

from aiohttp import web

from router import tokens
from router.api.keys import ACCOUNTS, AUTH_THROTTLE, CLIENT_ADDRESSES
from router.domain import Account, AccountStatus, Role, is_sid
from router.errors import AccountInactive, Forbidden, NotFound, Unauthenticated


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
    found = None
    if scoped_sid is not None:
        found = await request.app[ACCOUNTS].get_account_with_credentials(scoped_sid)
    # Verify against a dummy digest for unknown accounts too, so timing tells nothing.
    stored = found[1] if found else tokens.hash_token("", b"\0" * 16)
    if not tokens.verify_token(token, stored) or found is None:
        throttle.failed(address, scoped_sid)
        raise Unauthenticated("Authentication failed: check AccountSid and AuthToken.")
    account = found[0]
    if account.status is not AccountStatus.ACTIVE:
        raise AccountInactive(f"Account {account.sid} is {account.status.value}, not active.")
    return account


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
    target = (
        await request.app[ACCOUNTS].get_account(target_sid) if is_sid(target_sid, "AC") else None
    )
    if caller.is_super_admin:
        if target is None:
            raise NotFound(f"Account {target_sid} was not found.", param="AccountSid")
        return target
    if target is None or caller.sid not in await request.app[ACCOUNTS].ancestors(target.sid):
        raise Forbidden(f"Account {caller.sid} may not act on account {target_sid}.")
    return target


async def caller_and_account(request: web.Request, target_sid: str) -> tuple[Account, Account]:
    """Authenticate, then authorize the URL's account."""
    caller = await authenticate(request)
    return caller, await authorize_account(request, caller, target_sid)


def require_super_admin(caller: Account) -> None:
    if not caller.is_super_admin:
        raise Forbidden("This operation needs a super admin account.")


def require_administrator(caller: Account) -> None:
    """Managing accounts needs the Administrator role (super admins always have it)."""
    if not caller.is_super_admin and caller.role is not Role.ADMINISTRATOR:
        raise Forbidden("This operation needs the Administrator role.")
