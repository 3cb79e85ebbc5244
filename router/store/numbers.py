"""Incoming numbers: provisioning, lists, transfers, and the reads resolution makes."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Mapping, Sequence
from typing import Any

from router import e164, patterns, provisioning
from router.domain import (
    SETTABLE_FIELDS,
    IncomingNumber,
    InventoryNumber,
    NumberFilter,
    NumberRequest,
    NumberType,
    Page,
    PageRequest,
    new_sid,
)
from router.errors import Conflict, NotAvailable, NotFound
from router.store import rows
from router.store.batching import Batcher
from router.store.errors import Violation, violation_raises
from router.store.postgres import Connection, Database, notify_numbers_changed, sql

_SORT_COLUMNS = {"date_created", "phone_number", "friendly_name"}


class NumberStore:
    """Provisioned numbers, scoped by account on every query."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lookups: Batcher[tuple[str, ...], list[IncomingNumber]] = Batcher(self._lookup_batch)

    async def provision(
        self, account_sid: str, organization_sid: str, owners: set[str], request: NumberRequest
    ) -> IncomingNumber:
        """Claim the number (inventory or SIP), check its applications, insert it."""
        sid = new_sid("PN")
        async with self.db.transaction() as conn:
            await _check_applications(conn, request.settings, owners)
            if request.pure_sip:
                phone_number, number_type = str(request.phone_number), NumberType.SIP
            else:
                claimed = await _claim_inventory(conn, sid, request)
                phone_number, number_type = claimed.phone_number, claimed.number_type
            settings = dict(request.settings)
            settings.setdefault(
                "friendly_name", e164.friendly_name(phone_number, pure_sip=request.pure_sip)
            )
            await _insert(
                conn,
                sid,
                account_sid,
                organization_sid,
                phone_number,
                number_type,
                request.pure_sip,
                settings,
            )
            await notify_numbers_changed(conn, [organization_sid], [phone_number])
        return await self._get_existing(account_sid, sid)

    async def numbers_by_spellings(self, spellings: Sequence[str]) -> list[IncomingNumber]:
        """Every number (any organization) stored under one of the spellings.

        Concurrent lookups share one query (a busy router asks once per batch)."""
        return await self._lookups.submit(tuple(spellings))

    async def _lookup_batch(self, batch: Sequence[tuple[str, ...]]) -> list[list[IncomingNumber]]:
        wanted = sorted({spelling for spellings in batch for spelling in spellings})
        found = [
            rows.incoming_number(r) for r in await self.db.fetch("numbers_by_spellings", wanted)
        ]
        by_spelling: dict[str, list[IncomingNumber]] = {}
        for number in found:
            by_spelling.setdefault(number.phone_number, []).append(number)
        return [[n for s in spellings for n in by_spelling.get(s, ())] for spellings in batch]

    async def pattern_numbers(self, organization_sid: str) -> list[IncomingNumber]:
        """The organization's pattern numbers (SPEC 3.3 candidates)."""
        found = await self.db.fetch("pattern_numbers", organization_sid)
        return [n for n in map(rows.incoming_number, found) if patterns.is_pattern(n.phone_number)]

    async def pattern_version(self, organization_sid: str) -> str:
        """A fingerprint of the organization's pattern numbers (see the SQL)."""
        return str(await self.db.fetchval("pattern_version", organization_sid))

    async def all_phone_numbers(self) -> list[str]:
        """Every stored phone number (COPY: a million take about a second)."""
        buffer = io.BytesIO()
        async with self.db.connection() as conn:
            await conn.copy_from_query(sql("all_phone_numbers"), output=buffer)
        return await _lines(buffer)

    async def phone_numbers_fingerprint(self) -> str:
        """A fingerprint of what all_phone_numbers would read now (one scan, no rows)."""
        return str(await self.db.fetchval("phone_numbers_fingerprint"))

    async def all_phone_numbers_and_fingerprint(self) -> tuple[list[str], str]:
        """Every stored phone number and their fingerprint, from one snapshot."""
        buffer = io.BytesIO()
        async with self.db.connection() as conn, conn.transaction(isolation="repeatable_read"):
            fingerprint = str(await conn.fetchval(sql("phone_numbers_fingerprint")))
            await conn.copy_from_query(sql("all_phone_numbers"), output=buffer)
        return await _lines(buffer), fingerprint

    async def get(self, account_sid: str, sid: str) -> IncomingNumber | None:
        row = await self.db.fetchrow("get_number", sid, account_sid)
        return rows.incoming_number(row) if row else None

    async def _get_existing(self, account_sid: str, sid: str) -> IncomingNumber:
        number = await self.get(account_sid, sid)
        if number is None:
            raise NotFound(f"Phone number {sid} was not found.", param="Sid")
        return number

    async def update(
        self,
        account_sid: str,
        sid: str,
        changes: Mapping[str, object],
        *,
        new_owner: tuple[str, str, set[str]] | None = None,
    ) -> IncomingNumber:
        """Change the present fields; new_owner = (account, organization, its owners)
        transfers the number."""
        async with self.db.transaction() as conn:
            row = await conn.fetchrow(sql("lock_number"), sid, account_sid)
            if row is None:
                raise NotFound(f"Phone number {sid} was not found.", param="Sid")
            current = rows.incoming_number(row)
            merged = provisioning.merged_settings(current, changes)
            target_account, target_org = account_sid, current.organization_sid
            if new_owner is not None:
                target_account, target_org, owners = new_owner
            else:
                owners = await _owners(conn, account_sid)
            provisioning.check_fallbacks(merged)
            await _check_applications(conn, merged, owners)
            await _update(conn, sid, target_account, target_org, merged, current)
            await notify_numbers_changed(
                conn, {current.organization_sid, target_org}, [current.phone_number]
            )
        return await self._get_existing(target_account, sid)

    async def delete(self, account_sid: str, sid: str) -> tuple[str, str]:
        """Release the number; an inventory DID becomes free again. Returns the
        organization sid and phone number it had."""
        async with self.db.transaction() as conn:
            row = await conn.fetchrow(sql("delete_number"), sid, account_sid)
            if row is None:
                raise NotFound(f"Phone number {sid} was not found.", param="Sid")
            await notify_numbers_changed(conn, [row["organization_sid"]], [row["phone_number"]])
        return str(row["organization_sid"]), str(row["phone_number"])

    async def list(self, filters: NumberFilter, page: PageRequest) -> Page:
        """One page of the account's numbers, keyset-paged when page.after_sid is known."""
        pattern = phone_filter_regex(filters.phone_number)
        number_type = filters.number_type.value if filters.number_type else None
        base = (filters.account_sid, pattern, filters.friendly_name, number_type)
        async with self.db.connection() as conn:
            total = await conn.fetchval(sql("count_numbers"), *base)
            anchor = await _anchor(conn, filters, page.after_sid)
            offset = 0 if anchor else page.page * page.page_size
            direction = "desc" if filters.reverse else "asc"
            query = sql(f"list_numbers_by_{filters.sort.value}_{direction}")
            found = await conn.fetch(query, *base, *anchor or (None, None), page.page_size, offset)
        items = tuple(rows.incoming_number(r) for r in found)
        return Page(items=items, total=total, page=page.page, page_size=page.page_size)

    async def migrate(self, root_account_sid: str, organization_sid: str) -> int:
        """Move every number of the account tree to the organization, all or nothing."""
        with violation_raises(Violation.UNIQUE, _migrate_conflict):
            async with self.db.transaction() as conn:
                moved = await conn.fetch(sql("migrate_numbers"), root_account_sid, organization_sid)
                old_orgs = {r["old_organization_sid"] for r in moved}
                await notify_numbers_changed(
                    conn, old_orgs | {organization_sid}, [r["phone_number"] for r in moved]
                )
        return len(moved)


def _migrate_conflict(_: str) -> Conflict:
    return Conflict(
        "Cannot migrate: a SIP number of this account tree already exists in the"
        " destination organization; nothing was moved.",
        param="OrganizationSid",
    )


def phone_filter_regex(value: str | None) -> str | None:
    """A list filter as a PostgreSQL regular expression: substring, `*` = one digit."""
    if not value:
        return None
    return "".join("[0-9]" if c == "*" else _escape_char(c) for c in value)


def _escape_char(char: str) -> str:
    return char if char.isalnum() else "\\" + char


async def _anchor(
    conn: Connection, filters: NumberFilter, after_sid: str | None
) -> tuple[Any, str] | None:
    """The sort value and sid of the row a keyset page starts after, if it still exists."""
    if not after_sid:
        return None
    row = await conn.fetchrow(sql("get_number"), after_sid, filters.account_sid)
    return (row[filters.sort.value], after_sid) if row else None


async def _owners(conn: Connection, account_sid: str) -> set[str]:
    return {r["sid"] for r in await conn.fetch(sql("account_ancestors"), account_sid)}


async def _check_applications(
    conn: Connection, settings: Mapping[str, object], owners: set[str]
) -> None:
    sids = provisioning.application_sids(settings)
    found = {}
    if sids:
        for r in await conn.fetch(sql("applications_by_sid"), sids):
            found[r["sid"]] = (r["account_sid"], r["kind"])
    provisioning.check_applications(settings, found, owners)


async def _claim_inventory(conn: Connection, sid: str, request: NumberRequest) -> InventoryNumber:
    wanted_type = request.number_type.value if request.number_type else None
    if request.area_code:
        row = await conn.fetchrow(
            sql("claim_inventory_area_code"), request.area_code, sid, wanted_type
        )
        what = f"No phone number is available with AreaCode {request.area_code}."
    else:
        row = await conn.fetchrow(
            sql("claim_inventory_number"), request.phone_number, sid, wanted_type
        )
        what = f"PhoneNumber {request.phone_number} is not available."
    if row is None:
        param = "AreaCode" if request.area_code else "PhoneNumber"
        raise NotAvailable(what, param=param)
    return rows.inventory_number(row)


async def _insert(
    conn: Connection,
    sid: str,
    account_sid: str,
    organization_sid: str,
    phone_number: str,
    number_type: NumberType,
    pure_sip: bool,
    settings: Mapping[str, object],
) -> None:
    values = _settable_values({**_defaults(), **settings})
    taken = NotAvailable(
        f"PhoneNumber {phone_number} is already provisioned"
        + (" in this organization." if pure_sip else "."),
        param="PhoneNumber",
    )
    with violation_raises(Violation.UNIQUE, lambda _: taken):
        await conn.execute(
            sql("insert_number"),
            sid,
            account_sid,
            organization_sid,
            phone_number,
            number_type.value,
            pure_sip,
            *values,
        )


async def _update(
    conn: Connection,
    sid: str,
    account_sid: str,
    organization_sid: str,
    merged: Mapping[str, object],
    current: IncomingNumber,
) -> None:
    taken = Conflict(
        f"PhoneNumber {current.phone_number} already exists in the destination organization.",
        param="AccountSid",
    )
    with violation_raises(Violation.UNIQUE, lambda _: taken):
        await conn.execute(
            sql("update_number"), sid, account_sid, organization_sid, *_settable_values(merged)
        )


def _defaults() -> dict[str, object]:
    template = IncomingNumber(
        sid="",
        account_sid="",
        organization_sid="",
        phone_number="",
        friendly_name="",
        api_version="2012-04-24",
        number_type=NumberType.SIP,
        pure_sip=True,
    )
    return {name: getattr(template, name) for name in SETTABLE_FIELDS}


def _settable_values(settings: Mapping[str, object]) -> list[object]:
    """Values in the order of SETTABLE_FIELDS, which the insert/update SQL follows."""
    return [settings[name] for name in SETTABLE_FIELDS]


async def _lines(buffer: io.BytesIO) -> list[str]:
    # Splitting a million lines takes a while: not on the event loop.
    return await asyncio.to_thread(lambda: buffer.getvalue().decode("utf-8").splitlines())
