"""Loading the operator's inventory file into the store, in batches."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from router.domain import InventoryNumber, NumberType
from router.inventory_csv import ImportSummary, InventoryRow, Rejected, batched, parse_inventory

BATCH_SIZE = 5000


class InventorySink(Protocol):
    async def insert(self, batch: Sequence[InventoryNumber]) -> int: ...


async def import_inventory(
    sink: InventorySink,
    lines: Iterable[str],
    *,
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Parse the CSV lines, insert accepted rows in batches, count what happened."""
    summary = ImportSummary()
    seen = 0
    for batch in batched(parse_inventory(lines), BATCH_SIZE):
        accepted = []
        for item in batch:
            if isinstance(item, Rejected):
                summary.reject(item)
            else:
                accepted.append(_inventory_number(item))
        if accepted:
            inserted = await sink.insert(accepted)
            summary.inserted += inserted
            summary.already_present += len(accepted) - inserted
        seen += len(batch)
        if progress is not None:
            progress(seen)
    return summary


def _inventory_number(row: InventoryRow) -> InventoryNumber:
    return InventoryNumber(
        phone_number=row.phone_number,
        number_type=NumberType(row.number_type),
        area_code=row.area_code,
        country=row.country,
        assigned_sid=None,
    )
