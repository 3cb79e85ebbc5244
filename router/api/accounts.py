"""Accounts and Organizations routes."""

from __future__ import annotations

from aiohttp import web

from router import tokens
from router.api import paging, params, representations
from router.api.auth import (
    authenticate,
    caller_and_account,
    require_administrator,
    require_super_admin,
)
from router.api.formats import render, render_list, strip_json_suffix
from router.api.keys import ACCOUNTS, RESOLVER, SETTINGS
from router.api.mounts import created_status
from router.domain import Account, AccountStatus, Role, is_sid
from router.errors import Forbidden, Invalid, NotFound
from router.store.accounts import NewAccount

ROLES = {"Administrator": Role.ADMINISTRATOR.value, "Developer": Role.DEVELOPER.value}
STATUSES = {s.value: s.value for s in AccountStatus}


def _account_body(request: web.Request, a: Account, token: str | None = None) -> dict[str, object]:
    # Callers only ever see accounts in their own tree, so the signing key is theirs.
    return representations.account(request, a, show_signing_key=True, auth_token=token)


async def list_accounts(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    tree = await request.app[ACCOUNTS].account_tree(caller.sid)
    return paging.render_short_list(
        request,
        tree,
        lambda a: _account_body(request, a),
        root="Accounts",
        item="Account",
        json_key="accounts",
    )


async def get_account(request: web.Request) -> web.Response:
    _, account = await caller_and_account(request, strip_json_suffix(request.match_info["sid"]))
    return render(request, _account_body(request, account), root="Account")


async def create_account(request: web.Request) -> web.Response:
    """A sub-account of the caller; its token is shown once, in this answer."""
    caller = await authenticate(request)
    require_administrator(caller)
    raw = await params.read_params(request, request.app[SETTINGS].api_max_body_bytes)
    organization_sid = await _organization_for_new_account(request, caller, raw)
    token = tokens.new_token()
    signing_key = _signing_key(raw, token) or tokens.new_signing_key()
    account = await request.app[ACCOUNTS].create_account(
        NewAccount(
            friendly_name=params.text(raw, "FriendlyName") or "Sub-account",
            role=Role(params.choice(raw, "Role", ROLES) or Role.DEVELOPER.value),
            parent_sid=caller.sid,
            organization_sid=organization_sid,
            credentials=tokens.hash_token(token),
            signing_key=signing_key,
        )
    )
    return render(
        request,
        _account_body(request, account, token),
        root="Account",
        status=created_status(request),
    )


async def _organization_for_new_account(
    request: web.Request, caller: Account, raw: dict[str, str]
) -> str:
    wanted = raw.get("OrganizationSid")
    if wanted is None or wanted == caller.organization_sid:
        return caller.organization_sid
    if not caller.is_super_admin:
        raise Forbidden("Only a super admin may place an account in another organization.")
    if not is_sid(wanted, "OR"):
        raise Invalid(
            "Invalid OrganizationSid: must be a sid starting with OR.", param="OrganizationSid"
        )
    if await request.app[ACCOUNTS].get_organization(wanted) is None:
        raise NotFound(
            f"Unknown OrganizationSid: no organization {wanted} exists.", param="OrganizationSid"
        )
    return wanted


async def update_account(request: web.Request) -> web.Response:
    """FriendlyName, Status, AuthToken (rotate=any value: a new one is generated and
    shown once) and RotateSigningKey."""
    caller, account = await caller_and_account(
        request, strip_json_suffix(request.match_info["sid"])
    )
    raw = await params.read_params(request, request.app[SETTINGS].api_max_body_bytes)
    status = params.choice(raw, "Status", STATUSES)
    if status is not None and account.sid == caller.sid and status != AccountStatus.ACTIVE:
        raise Invalid("Invalid Status: an account cannot deactivate itself.", param="Status")
    if account.sid != caller.sid:
        require_administrator(caller)
    if account.status is AccountStatus.CLOSED and status not in {None, AccountStatus.CLOSED}:
        raise Invalid("Invalid Status: a closed account cannot be reopened.", param="Status")
    stored = await request.app[ACCOUNTS].get_account_with_credentials(account.sid)
    assert stored is not None
    token = _new_token(raw)
    signing_key = _signing_key(raw, token)
    if params.boolean(raw, "RotateSigningKey"):
        if signing_key is not None:
            raise Invalid(
                "Invalid RotateSigningKey: give it, SigningKey or SignWithAuthToken, not two.",
                param="RotateSigningKey",
            )
        signing_key = tokens.new_signing_key()
    updated = await request.app[ACCOUNTS].update_account(
        account.sid,
        friendly_name=params.text(raw, "FriendlyName") or account.friendly_name,
        status=AccountStatus(status) if status else account.status,
        credentials=tokens.hash_token(token) if token else stored[1],
        signing_key=signing_key or account.signing_key,
    )
    if updated.status is AccountStatus.CLOSED:
        # Its numbers were released: this instance forgets them at once.
        request.app[RESOLVER].invalidate([], [], everything=True)
    return render(request, _account_body(request, updated, token), root="Account")


def _signing_key(raw: dict[str, str], new_token: str | None) -> str | None:
    """SPEC 9: the signing key a request sets: SigningKey as given, or the new auth
    token with SignWithAuthToken=true (on creation or rotation, the only moments router
    holds the plain token); None when the request sets none."""
    given = raw.get("SigningKey")
    with_token = params.boolean(raw, "SignWithAuthToken")
    if given is not None and with_token:
        raise Invalid(
            "Invalid SignWithAuthToken: give SigningKey or SignWithAuthToken, not both.",
            param="SignWithAuthToken",
        )
    if with_token:
        if new_token is None:
            raise Invalid(
                "Invalid SignWithAuthToken: only with a new auth token (RotateAuthToken=true"
                " or AuthToken), since router keeps no plain token to sign with.",
                param="SignWithAuthToken",
            )
        return new_token
    if given is None:
        return None
    if not (32 <= len(given) <= 128 and given.isascii() and given.isprintable()):
        raise Invalid(
            "Invalid SigningKey: must be 32 to 128 printable ASCII characters.",
            param="SigningKey",
        )
    return given


def _new_token(raw: dict[str, str]) -> str | None:
    """AuthToken=<32+ chars> sets that token; RotateAuthToken=true generates one."""
    if params.boolean(raw, "RotateAuthToken"):
        return tokens.new_token()
    given = raw.get("AuthToken")
    if given is None:
        return None
    if not (32 <= len(given) <= 128) or not given.isascii() or not given.isalnum():
        raise Invalid("Invalid AuthToken: must be 32 to 128 letters and digits.", param="AuthToken")
    return given


async def list_organizations(request: web.Request) -> web.Response:
    require_super_admin(await authenticate(request))
    items = [
        representations.organization(request, o)
        for o in await request.app[ACCOUNTS].list_organizations()
    ]
    return render_list(request, items, root="Organizations", item="Organization")


async def get_organization(request: web.Request) -> web.Response:
    require_super_admin(await authenticate(request))
    sid = strip_json_suffix(request.match_info["sid"])
    organization = await request.app[ACCOUNTS].get_organization(sid) if is_sid(sid, "OR") else None
    if organization is None:
        raise NotFound(f"Organization {sid} was not found.", param="Sid")
    return render(request, representations.organization(request, organization), root="Organization")


async def create_organization(request: web.Request) -> web.Response:
    require_super_admin(await authenticate(request))
    raw = await params.read_params(request, request.app[SETTINGS].api_max_body_bytes)
    domain = _domain_name(raw.get("DomainName"))
    organization = await request.app[ACCOUNTS].create_organization(domain)
    return render(request, representations.organization(request, organization), root="Organization")


def _domain_name(value: str | None) -> str:
    """A DNS name: labels of letters, digits and hyphens, at most 253 characters."""
    if not value or len(value) > 253:
        raise Invalid(
            "Invalid DomainName: must be a domain name such as acme.example.com.",
            param="DomainName",
        )
    labels = value.lower().rstrip(".").split(".")
    valid = all(
        0 < len(label) <= 63
        and label.isascii()
        and all(c.isalnum() or c == "-" for c in label)
        and not label.startswith("-")
        and not label.endswith("-")
        for label in labels
    )
    if not valid:
        raise Invalid(
            "Invalid DomainName: must be a domain name such as acme.example.com.",
            param="DomainName",
        )
    return ".".join(labels)
