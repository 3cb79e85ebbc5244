"""The operator's inventory of numbers: what is free to provision, and its import."""

from __future__ import annotations

import io
from dataclasses import dataclass

from router.domain import InventoryNumber, NumberType
from router.inventory_csv import ImportSummary
from router.inventory_import import import_inventory
from router.store.inventory import InventoryStore


@dataclass(frozen=True, slots=True)
class AvailableQuery:
    """Free numbers of a country and type, optionally by area code or digits."""

    country: str
    number_type: NumberType
    area_code: str | None = None
    contains: str | None = None  # digits; * stands for one digit
    limit: int = 50


class Inventory:
    """Free numbers, and the CSV import that adds them."""

    def __init__(self, store: InventoryStore) -> None:
        self._store = store

    async def available(self, query: AvailableQuery) -> list[InventoryNumber]:
        return await self._store.available(
            query.country,
            query.number_type,
            area_code=query.area_code,
            contains=query.contains,
            limit=query.limit,
        )

    async def countries(self) -> list[str]:
        """ISO codes of the countries with free numbers."""
        return await self._store.available_countries()

    async def import_csv(self, text: str) -> ImportSummary:
        """Add the rows of a CSV text (number, type, area code, country)."""
        return await import_inventory(self._store, io.StringIO(text, newline=""))
