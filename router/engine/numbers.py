"""Provisioning of numbers and patterns (SPEC 2.1): every write is visible to this
instance's resolver at once (the others hear of it by NOTIFY)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from router import patterns
from router.domain import (
    Account,
    IncomingNumber,
    NumberFilter,
    NumberRequest,
    Organization,
    Page,
    PageRequest,
    is_sid,
)
from router.engine.accounts import Accounts, require_super_admin
from router.errors import Field, Invalid, NotFound
from router.provisioning import check_fallbacks
from router.resolver import Resolver
from router.store.accounts import AccountStore
from router.store.numbers import NumberStore


@dataclass(frozen=True, slots=True)
class Migration:
    """Numbers of an account tree moved to another organization."""

    account_sid: str
    organization_sid: str
    migrated: int


class Numbers:
    """Provisioned numbers, scoped by account."""

    def __init__(
        self, store: NumberStore, accounts: Accounts, directory: AccountStore, resolver: Resolver
    ) -> None:
        self._store = store
        self._accounts = accounts
        self._directory = directory
        self._resolver = resolver

    async def list(self, filters: NumberFilter, page: PageRequest) -> Page:
        return await self._store.list(filters, page)

    async def get(self, account: Account, sid: str) -> IncomingNumber:
        number = await self._store.get(account.sid, sid)
        if number is None:
            raise NotFound(f"Phone number {sid} was not found.", param=Field("sid"))
        return number

    async def provision(self, account: Account, request: NumberRequest) -> IncomingNumber:
        """Claim an inventory number (or take a SIP number or pattern) for the account."""
        _check(request)
        owners = await self._accounts.ancestors(account.sid)
        number = await self._store.provision(account.sid, account.organization_sid, owners, request)
        self._forget(number.organization_sid, number.phone_number)
        return number

    async def update(
        self,
        caller: Account,
        account: Account,
        sid: str,
        changes: Mapping[str, object],
        *,
        new_account_sid: str | None = None,
    ) -> IncomingNumber:
        """Change the number's settings; a new account (the caller may act on) takes it."""
        new_owner = None
        if new_account_sid and new_account_sid != account.sid:
            target = await self._accounts.authorize(caller, new_account_sid)
            owners = await self._accounts.ancestors(target.sid)
            new_owner = (target.sid, target.organization_sid, owners)
        number = await self._store.update(account.sid, sid, changes, new_owner=new_owner)
        self._forget(number.organization_sid, number.phone_number)
        return number

    async def release(self, account: Account, sid: str) -> None:
        """Delete the number; an inventory number becomes free again."""
        organization_sid, phone_number = await self._store.delete(account.sid, sid)
        self._forget(organization_sid, phone_number)

    async def migrate(self, caller: Account, account_sid: str, organization_sid: str) -> Migration:
        """SPEC 2.1's checks, in order, then one transaction: every number of the
        account tree moves to the organization."""
        require_super_admin(caller)
        target = await self._accounts.get(account_sid)
        if target is None:
            # The sid is the URL's, quoted as given: a message part, not a template.
            raise NotFound(
                ("Unknown ", Field("account_sid"), f": no account {account_sid} exists."),
                param=Field("account_sid"),
            )
        if target.parent_sid is None:
            raise Invalid.of_field(
                "account_sid",
                "Invalid {account_sid}: the numbers of a super admin cannot be migrated.",
            )
        organization = await self._organization(organization_sid)
        moved = await self._store.migrate(target.sid, organization.sid)
        return Migration(target.sid, organization.sid, moved)

    async def _organization(self, sid: str) -> Organization:
        if not is_sid(sid, "OR"):
            raise Invalid.of_field(
                "organization_sid",
                "Invalid {organization_sid}: must be a 34-character sid starting with OR.",
            )
        organization = await self._directory.get_organization(sid)
        if organization is None:
            raise NotFound.of_field(
                "organization_sid", f"Unknown {{organization_sid}}: no organization {sid} exists."
            )
        return organization

    def _forget(self, organization_sid: str, phone_number: str) -> None:
        # This instance sees its own write at once; the others when the NOTIFY arrives.
        self._resolver.invalidate([organization_sid], [phone_number])


def _check(request: NumberRequest) -> None:
    """The rules the API applies while parsing, for callers that build the request
    themselves (embedding programs): a pattern must be one the dialect admits, and a
    fallback URL needs something to fall back from."""
    if request.pure_sip and request.phone_number and patterns.is_pattern(request.phone_number):
        patterns.validate_pattern(request.phone_number)
    check_fallbacks(request.settings)
