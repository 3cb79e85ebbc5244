"""Provisioning of accounts and organizations (SPEC 2.1), and who may act on which
account: transport-free; the API authenticates with these and renders what they return."""

from __future__ import annotations

from dataclasses import dataclass

from router import tokens
from router.domain import Account, AccountStatus, Credentials, Organization, Role, is_sid
from router.errors import AccountInactive, Field, Forbidden, Invalid, NotFound, Unauthenticated
from router.resolver import Resolver
from router.store.accounts import AccountStore, NewAccount

# Verified against for unknown accounts too, so timing tells nothing.
_DUMMY_CREDENTIALS = tokens.hash_token("", b"\0" * 16)


@dataclass(frozen=True, slots=True)
class Secrets:
    """What a request asks of an account's auth token and webhook signing key.

    auth_token: a token to set; rotate_auth_token: generate one. signing_key: a key to
    set; sign_with_auth_token: sign with the new token; rotate_signing_key: generate one.
    """

    auth_token: str | None = None
    rotate_auth_token: bool = False
    signing_key: str | None = None
    sign_with_auth_token: bool = False
    rotate_signing_key: bool = False


@dataclass(frozen=True, slots=True)
class AccountRequest:
    """A new sub-account (organization None: the caller's) or changes to one (None: keep)."""

    friendly_name: str | None = None
    role: Role | None = None
    status: AccountStatus | None = None
    organization_sid: str | None = None
    secrets: Secrets = Secrets()


@dataclass(frozen=True, slots=True)
class AccountWithToken:
    """An account as created or updated, with the new plain token (shown once) if any."""

    account: Account
    auth_token: str | None


class Accounts:
    """Accounts, organizations and the account-tree access rules."""

    def __init__(self, store: AccountStore, resolver: Resolver) -> None:
        self._store = store
        self._resolver = resolver

    async def authenticate(self, account_sid: str, token: str) -> Account:
        """The active account these credentials belong to."""
        found = None
        if is_sid(account_sid, "AC"):
            found = await self._store.get_account_with_credentials(account_sid)
        stored = found[1] if found else _DUMMY_CREDENTIALS
        if not tokens.verify_token(token, stored) or found is None:
            raise Unauthenticated("Authentication failed: check AccountSid and AuthToken.")
        account = found[0]
        if account.status is not AccountStatus.ACTIVE:
            raise AccountInactive(f"Account {account.sid} is {account.status.value}, not active.")
        return account

    async def authorize(self, caller: Account, target_sid: str) -> Account:
        """The target account, if the caller is it, one of its ancestors or a super admin."""
        target = await self._store.get_account(target_sid) if is_sid(target_sid, "AC") else None
        if caller.is_super_admin:
            if target is None:
                raise NotFound(f"Account {target_sid} was not found.", param=Field("account_sid"))
            return target
        if target is None or caller.sid not in await self._store.ancestors(target.sid):
            raise Forbidden(f"Account {caller.sid} may not act on account {target_sid}.")
        return target

    async def get(self, sid: str) -> Account | None:
        return await self._store.get_account(sid) if is_sid(sid, "AC") else None

    async def ancestors(self, sid: str) -> set[str]:
        """The sids of the account and every ancestor."""
        return await self._store.ancestors(sid)

    async def tree(self, root: Account) -> list[Account]:
        """The account and all its descendants, parents first."""
        return await self._store.account_tree(root.sid)

    async def create(self, caller: Account, request: AccountRequest) -> AccountWithToken:
        """A sub-account of the caller; its token is in the answer, and only there."""
        require_administrator(caller)
        organization_sid = await self._organization_for_new_account(
            caller, request.organization_sid
        )
        token = tokens.new_token()
        signing_key = _signing_key(request.secrets, token) or tokens.new_signing_key()
        account = await self._store.create_account(
            NewAccount(
                friendly_name=request.friendly_name or "Sub-account",
                role=request.role or Role.DEVELOPER,
                parent_sid=caller.sid,
                organization_sid=organization_sid,
                credentials=tokens.hash_token(token),
                signing_key=signing_key,
            )
        )
        return AccountWithToken(account, token)

    async def _organization_for_new_account(self, caller: Account, wanted: str | None) -> str:
        if wanted is None or wanted == caller.organization_sid:
            return caller.organization_sid
        if not caller.is_super_admin:
            raise Forbidden("Only a super admin may place an account in another organization.")
        if not is_sid(wanted, "OR"):
            raise Invalid.of_field(
                "organization_sid", "Invalid {organization_sid}: must be a sid starting with OR."
            )
        if await self._store.get_organization(wanted) is None:
            raise NotFound.of_field(
                "organization_sid",
                f"Unknown {{organization_sid}}: no organization {wanted} exists.",
            )
        return wanted

    async def update(
        self, caller: Account, account: Account, request: AccountRequest
    ) -> AccountWithToken:
        """Change the name, status or secrets; closing releases the tree's numbers."""
        status = request.status
        if status is not None and account.sid == caller.sid and status != AccountStatus.ACTIVE:
            raise Invalid.of_field(
                "status", "Invalid {status}: an account cannot deactivate itself."
            )
        if account.sid != caller.sid:
            require_administrator(caller)
        if account.status is AccountStatus.CLOSED and status not in {None, AccountStatus.CLOSED}:
            raise Invalid.of_field(
                "status", "Invalid {status}: a closed account cannot be reopened."
            )
        stored = await self._store.get_account_with_credentials(account.sid)
        assert stored is not None
        token = _new_token(request.secrets)
        updated = await self._store.update_account(
            account.sid,
            friendly_name=request.friendly_name or account.friendly_name,
            status=status or account.status,
            credentials=tokens.hash_token(token) if token else stored[1],
            signing_key=_changed_signing_key(request.secrets, token) or account.signing_key,
        )
        if updated.status is AccountStatus.CLOSED:
            # Its numbers were released: this instance forgets them at once.
            self._resolver.invalidate([], [], everything=True)
        return AccountWithToken(updated, token)

    async def credentials(self, sid: str) -> tuple[Account, Credentials] | None:
        return await self._store.get_account_with_credentials(sid)

    async def list_organizations(self, caller: Account) -> list[Organization]:
        require_super_admin(caller)
        return await self._store.list_organizations()

    async def get_organization(self, caller: Account, sid: str) -> Organization:
        require_super_admin(caller)
        organization = await self._store.get_organization(sid) if is_sid(sid, "OR") else None
        if organization is None:
            raise NotFound(f"Organization {sid} was not found.", param=Field("sid"))
        return organization

    async def create_organization(self, caller: Account, domain_name: str) -> Organization:
        require_super_admin(caller)
        return await self._store.create_organization(domain_name)


def require_super_admin(caller: Account) -> None:
    if not caller.is_super_admin:
        raise Forbidden("This operation needs a super admin account.")


def require_administrator(caller: Account) -> None:
    """Managing accounts needs the Administrator role (super admins always have it)."""
    if not caller.is_super_admin and caller.role is not Role.ADMINISTRATOR:
        raise Forbidden("This operation needs the Administrator role.")


def _changed_signing_key(secrets: Secrets, token: str | None) -> str | None:
    signing_key = _signing_key(secrets, token)
    if secrets.rotate_signing_key:
        if signing_key is not None:
            raise Invalid.of_field(
                "rotate_signing_key",
                "Invalid {rotate_signing_key}: give it, {signing_key} or {sign_with_auth_token},"
                " not two.",
                "signing_key",
                "sign_with_auth_token",
            )
        return tokens.new_signing_key()
    return signing_key


def _signing_key(secrets: Secrets, new_token: str | None) -> str | None:
    """SPEC 9: the signing key a request sets: SigningKey as given, or the new auth
    token with SignWithAuthToken=true (on creation or rotation, the only moments router
    holds the plain token); None when the request sets none."""
    given = secrets.signing_key
    if given is not None and secrets.sign_with_auth_token:
        raise Invalid.of_field(
            "sign_with_auth_token",
            "Invalid {sign_with_auth_token}: give {signing_key} or {sign_with_auth_token},"
            " not both.",
            "signing_key",
        )
    if secrets.sign_with_auth_token:
        if new_token is None:
            raise Invalid.of_field(
                "sign_with_auth_token",
                "Invalid {sign_with_auth_token}: only with a new auth token"
                " ({rotate_auth_token}=true or {auth_token}), since router keeps no plain"
                " token to sign with.",
                "rotate_auth_token",
                "auth_token",
            )
        return new_token
    if given is None:
        return None
    if not (32 <= len(given) <= 128 and given.isascii() and given.isprintable()):
        raise Invalid.of_field(
            "signing_key", "Invalid {signing_key}: must be 32 to 128 printable ASCII characters."
        )
    return given


def _new_token(secrets: Secrets) -> str | None:
    """AuthToken=<32+ chars> sets that token; RotateAuthToken=true generates one."""
    if secrets.rotate_auth_token:
        return tokens.new_token()
    given = secrets.auth_token
    if given is None:
        return None
    if not (32 <= len(given) <= 128) or not given.isascii() or not given.isalnum():
        raise Invalid.of_field(
            "auth_token", "Invalid {auth_token}: must be 32 to 128 letters and digits."
        )
    return given
