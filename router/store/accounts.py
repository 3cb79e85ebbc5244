"""Accounts, organizations, applications and installation settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from router.domain import (
    APPLICATION_FIELDS,
    APPLICATION_KINDS,
    Account,
    AccountStatus,
    Application,
    ApplicationKind,
    Credentials,
    Organization,
    Role,
    new_sid,
)
from router.errors import Conflict, Field, NotFound
from router.store import rows
from router.store.errors import Violation, violation_raises
from router.store.postgres import Connection, Database, notify_numbers_changed, sql


@dataclass(frozen=True, slots=True)
class NewAccount:
    """What creating an account needs; tokens arrive already hashed."""

    friendly_name: str
    role: Role
    parent_sid: str | None
    organization_sid: str
    credentials: Credentials
    signing_key: str
    status: AccountStatus = AccountStatus.ACTIVE
    sid: str | None = None


class AccountStore:
    """Tenants and their organizations and applications."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create_organization(
        self, domain_name: str, *, sid: str | None = None
    ) -> Organization:
        taken = Conflict(
            f"DomainName {domain_name} is already used by another organization.",
            param="DomainName",
        )
        with violation_raises(Violation.UNIQUE, lambda _: taken):
            row = await self.db.fetchrow(
                "insert_organization", sid or new_sid("OR"), domain_name, "active"
            )
        return rows.organization(row)

    async def get_organization(self, sid: str) -> Organization | None:
        row = await self.db.fetchrow("get_organization", sid)
        return rows.organization(row) if row else None

    async def get_organization_by_domain(self, domain_name: str) -> Organization | None:
        row = await self.db.fetchrow("get_organization_by_domain", domain_name)
        return rows.organization(row) if row else None

    async def list_organizations(self) -> list[Organization]:
        return [rows.organization(r) for r in await self.db.fetch("list_organizations")]

    async def create_account(self, new: NewAccount) -> Account:
        row = await self.db.fetchrow(
            "insert_account",
            new.sid or new_sid("AC"),
            new.friendly_name,
            new.status.value,
            new.role.value,
            new.parent_sid,
            new.organization_sid,
            new.credentials.salt,
            new.credentials.digest,
            new.signing_key,
        )
        return rows.account(row)

    async def get_account(self, sid: str) -> Account | None:
        row = await self.db.fetchrow("get_account", sid)
        return rows.account(row) if row else None

    async def get_account_with_credentials(self, sid: str) -> tuple[Account, Credentials] | None:
        row = await self.db.fetchrow("get_account", sid)
        return (rows.account(row), rows.credentials(row)) if row else None

    async def update_account(
        self,
        sid: str,
        *,
        friendly_name: str,
        status: AccountStatus,
        credentials: Credentials,
        signing_key: str,
    ) -> Account:
        async with self.db.transaction() as conn:
            row = await conn.fetchrow(
                sql("update_account"),
                sid,
                friendly_name,
                status.value,
                credentials.salt,
                credentials.digest,
                signing_key,
            )
            if row is None:
                raise NotFound(f"Account {sid} was not found.", param="AccountSid")
            if status is AccountStatus.CLOSED:
                await _close_tree(conn, sid)
            # Resolution caches the account's status with its numbers.
            await notify_numbers_changed(conn, [], [], everything=True)
        return rows.account(row)

    async def first_super_admin(self) -> Account | None:
        row = await self.db.fetchrow("first_super_admin")
        return rows.account(row) if row else None

    async def account_tree(self, root_sid: str) -> list[Account]:
        """The account and all its descendants, parents first."""
        return [rows.account(r) for r in await self.db.fetch("account_tree", root_sid)]

    async def ancestors(self, sid: str) -> set[str]:
        """The sids of the account and every ancestor."""
        return {r["sid"] for r in await self.db.fetch("account_ancestors", sid)}

    async def get_setting(self, key: str) -> bytes | None:
        value = await self.db.fetchval("get_setting", key)
        return bytes(value) if value is not None else None

    async def put_setting(self, key: str, value: bytes) -> None:
        """Store a setting; running instances hear of it on the settings_changed channel."""
        async with self.db.transaction() as conn:
            await conn.execute(sql("put_setting"), key, value)
            await conn.execute(sql("notify_settings_changed"), key)

    async def create_application(
        self, account_sid: str, fields: Mapping[str, object]
    ) -> Application:
        row = await self.db.fetchrow(
            "insert_application",
            new_sid("AP"),
            account_sid,
            fields["friendly_name"],
            fields.get("rcml_url"),
            str(fields.get("kind", ApplicationKind.VOICE)),
            fields.get("api_version", "2012-04-24"),
            bool(fields.get("has_voice_caller_id_lookup", False)),
        )
        return rows.application(row)

    async def get_application(self, account_sid: str, sid: str) -> Application | None:
        row = await self.db.fetchrow("get_application", sid, account_sid)
        return rows.application(row) if row else None

    async def list_applications(self, account_sid: str) -> list[Application]:
        return [rows.application(r) for r in await self.db.fetch("list_applications", account_sid)]

    async def update_application(
        self, current: Application, changes: Mapping[str, object]
    ) -> Application:
        merged: dict[str, object] = {
            "friendly_name": current.friendly_name,
            "rcml_url": current.rcml_url,
            "kind": current.kind,
            "api_version": current.api_version,
            "has_voice_caller_id_lookup": current.has_voice_caller_id_lookup,
        }
        merged.update(changes)
        async with self.db.transaction() as conn:
            row = await conn.fetchrow(
                sql("update_application"),
                current.sid,
                current.account_sid,
                merged["friendly_name"],
                merged["rcml_url"],
                str(merged["kind"]),
                merged["api_version"],
                bool(merged["has_voice_caller_id_lookup"]),
            )
            if row is None:
                raise NotFound(f"Application {current.sid} was not found.", param="Sid")
            await _notify_users_of(conn, rows.application(row))
        return rows.application(row)

    async def delete_application(self, account_sid: str, sid: str) -> None:
        used = Conflict(
            f"Application {sid} is used by a phone number; detach it first.", param="Sid"
        )
        with violation_raises(Violation.FOREIGN_KEY, lambda _: used):
            deleted = await self.db.fetchval("delete_application", sid, account_sid)
        if deleted is None:
            raise NotFound(f"Application {sid} was not found.", param="Sid")


async def _close_tree(conn: Connection, sid: str) -> None:
    """SPEC 2.1: a closed account's descendants close too, and every number of the tree
    is released, in the caller's transaction (the NOTIFY that follows drops them from
    every instance's caches)."""
    await conn.execute(sql("close_account_tree"), sid)
    await conn.execute(sql("release_tree_numbers"), sid)


async def _notify_users_of(conn: Connection, application: Application) -> None:
    """Resolution caches an application's URL with the numbers that use it; a kind
    that no longer fits one of them is refused (the transaction rolls back)."""
    users = await conn.fetch(sql("numbers_using_application"), application.sid)
    for user in users:
        for field in APPLICATION_FIELDS:
            used_as = user["as_" + field.split("_")[0]]
            if used_as and application.kind not in APPLICATION_KINDS[field]:
                raise Conflict(
                    (
                        f"Application {application.sid} is the ",
                        Field(field),
                        f" of {user['phone_number']}; ",
                        Field("kind"),
                        f" {application.kind} does not fit it.",
                    ),
                    param=Field("kind"),
                )
    await notify_numbers_changed(
        conn, [r["organization_sid"] for r in users], [r["phone_number"] for r in users]
    )
