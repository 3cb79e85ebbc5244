"""The operator's number inventory: the DIDs it owns, free or assigned."""

from __future__ import annotations

from collections.abc import Sequence

from router.domain import InventoryNumber, NumberType
from router.store import rows
from router.store.numbers import phone_filter_regex
from router.store.postgres import Database

__all__ = ["InventoryStore"]


class InventoryStore:
    """The DIDs the operator owns."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert(self, batch: Sequence[InventoryNumber]) -> int:
        """Insert the rows not already present; return how many were new."""
        columns = (
            [n.phone_number for n in batch],
            [n.number_type.value for n in batch],
            [n.area_code for n in batch],
            [n.country for n in batch],
        )
        return len(await self.db.fetch("insert_inventory", *columns))

    async def available(
        self,
        country: str,
        number_type: NumberType,
        *,
        area_code: str | None,
        contains: str | None,
        limit: int,
    ) -> list[InventoryNumber]:
        found = await self.db.fetch(
            "list_available_numbers",
            country,
            number_type.value,
            area_code,
            phone_filter_regex(contains),
            limit,
        )
        return [rows.inventory_number(r) for r in found]

    async def available_countries(self) -> list[str]:
        """ISO codes of the countries with free numbers, in order."""
        return [r["country"] for r in await self.db.fetch("available_countries")]
