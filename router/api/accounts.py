"""Accounts and Organizations routes."""

from __future__ import annotations

from aiohttp import web

from router.api import paging, params, representations
from router.api.auth import (
    authenticate,
    caller_and_account,
    require_administrator,
    require_super_admin,
)
from router.api.formats import render, render_list, strip_json_suffix
from router.api.keys import ENGINE, SETTINGS
from router.api.mounts import created_status
from router.domain import Account, AccountStatus, Role
from router.engine.accounts import AccountRequest, Secrets
from router.errors import Invalid

ROLES = {"Administrator": Role.ADMINISTRATOR.value, "Developer": Role.DEVELOPER.value}
STATUSES = {s.value: s.value for s in AccountStatus}


def _account_body(request: web.Request, a: Account, token: str | None = None) -> dict[str, object]:
    # Callers only ever see accounts in their own tree, so the signing key is theirs.
    return representations.account(request, a, show_signing_key=True, auth_token=token)


async def list_accounts(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    tree = await request.app[ENGINE].accounts.tree(caller)
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
    require_administrator(caller)  # before the body is read or judged
    raw = await params.read_params(request, request.app[SETTINGS].api_max_body_bytes)
    created = await request.app[ENGINE].accounts.create(caller, _account_request(raw))
    body = _account_body(request, created.account, created.auth_token)
    return render(request, body, root="Account", status=created_status(request))


async def update_account(request: web.Request) -> web.Response:
    """FriendlyName, Status, AuthToken (rotate=any value: a new one is generated and
    shown once) and RotateSigningKey."""
    caller, account = await caller_and_account(
        request, strip_json_suffix(request.match_info["sid"])
    )
    raw = await params.read_params(request, request.app[SETTINGS].api_max_body_bytes)
    updated = await request.app[ENGINE].accounts.update(caller, account, _account_request(raw))
    return render(
        request, _account_body(request, updated.account, updated.auth_token), root="Account"
    )


def _account_request(raw: dict[str, str]) -> AccountRequest:
    status = params.choice(raw, "Status", STATUSES)
    role = params.choice(raw, "Role", ROLES)
    return AccountRequest(
        friendly_name=params.text(raw, "FriendlyName") or None,
        role=Role(role) if role else None,
        status=AccountStatus(status) if status else None,
        organization_sid=raw.get("OrganizationSid"),
        secrets=Secrets(
            auth_token=raw.get("AuthToken"),
            rotate_auth_token=bool(params.boolean(raw, "RotateAuthToken")),
            signing_key=raw.get("SigningKey"),
            sign_with_auth_token=bool(params.boolean(raw, "SignWithAuthToken")),
            rotate_signing_key=bool(params.boolean(raw, "RotateSigningKey")),
        ),
    )


async def list_organizations(request: web.Request) -> web.Response:
    found = await request.app[ENGINE].accounts.list_organizations(await authenticate(request))
    items = [representations.organization(request, o) for o in found]
    return render_list(request, items, root="Organizations", item="Organization")


async def get_organization(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    sid = strip_json_suffix(request.match_info["sid"])
    organization = await request.app[ENGINE].accounts.get_organization(caller, sid)
    return render(request, representations.organization(request, organization), root="Organization")


async def create_organization(request: web.Request) -> web.Response:
    caller = await authenticate(request)
    require_super_admin(caller)  # before the body is read or judged
    raw = await params.read_params(request, request.app[SETTINGS].api_max_body_bytes)
    domain = _domain_name(raw.get("DomainName"))
    organization = await request.app[ENGINE].accounts.create_organization(caller, domain)
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
