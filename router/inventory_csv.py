"""The operator's number inventory file: a CSV of the DIDs it owns.

Columns `number, type, area code, country`, in that order or named by a header
row. Parsing streams (files hold millions of rows) and turns every row into an
`InventoryRow` or a `Rejected` with a reason; storing the rows is the caller's job.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Final, TypeVar

from router.e164 import (
    InventoryNumberType,
    area_code_belongs,
    area_code_of,
    country_of,
    parse_e164,
    parse_number_type,
    uses_calling_code,
)
from router.errors import Invalid

__all__ = [
    "ImportSummary",
    "InventoryRow",
    "Rejected",
    "batched",
    "parse_inventory",
]

T = TypeVar("T")

# A rejected row keeps this much of its text: enough to find it, bounded for
# files full of garbage.
_RAW_MAX: Final = 200
_AREA_CODE_MAX: Final = 8
_BOM: Final = "\ufeff"
# ImportSummary keeps this many rejections (counting the rest) and shows fewer.
_KEPT_REJECTIONS: Final = 1000
_SHOWN_REJECTIONS: Final = 20

# Header spellings, normalised by _header_key, mapped to the column they name.
_HEADER_ALIASES: Final[dict[str, str]] = {
    "number": "number",
    "phone_number": "number",
    "phonenumber": "number",
    "type": "type",
    "number_type": "type",
    "area_code": "area code",
    "areacode": "area code",
    "country": "country",
    "iso_country": "country",
}
_POSITIONAL_ORDER: Final = ("number", "type", "area code", "country")
_REQUIRED_COLUMNS: Final = ("number", "type")


@dataclass(frozen=True, slots=True)
class InventoryRow:
    """One number the operator owns, checked and in canonical form."""

    phone_number: str
    """Canonical E.164, such as +15105555555."""
    number_type: InventoryNumberType
    area_code: str
    """Digits, or empty when the file gave none and the number has none."""
    country: str
    """ISO 3166 alpha-2, upper-case."""


@dataclass(frozen=True, slots=True)
class Rejected:
    """A row of the file that was not accepted, with the reason why."""

    line: int
    """1-based line of the file where the row starts."""
    raw: str
    reason: str


@dataclass(slots=True)
class ImportSummary:
    """The outcome of loading an inventory file, as the CLI reports it."""

    inserted: int = 0
    already_present: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    rejections_not_kept: int = 0
    """Rejections counted but not kept, so a file of garbage cannot fill memory."""

    def reject(self, rejected: Rejected) -> None:
        """Record a rejection, keeping the first thousand and counting the rest."""
        if len(self.rejected) < _KEPT_REJECTIONS:
            self.rejected.append(rejected)
        else:
            self.rejections_not_kept += 1

    @property
    def rejected_count(self) -> int:
        """Every rejection, kept or not."""
        return len(self.rejected) + self.rejections_not_kept

    def render(self) -> str:
        """Counts, then the first twenty rejections with their line numbers."""
        lines = [
            f"inserted: {self.inserted}, already present: {self.already_present}, "
            f"rejected: {self.rejected_count}"
        ]
        lines += [
            f"  line {r.line}: {r.reason} [{r.raw}]" for r in self.rejected[:_SHOWN_REJECTIONS]
        ]
        hidden = self.rejected_count - min(len(self.rejected), _SHOWN_REJECTIONS)
        if hidden > 0:
            lines.append(f"  ... and {hidden} more")
        return "\n".join(lines)


def batched(iterable: Iterable[T], size: int) -> Iterator[tuple[T, ...]]:
    """Yield tuples of `size` items, the last one shorter (itertools.batched is 3.12+)."""
    if size < 1:
        raise ValueError("size must be at least 1")
    iterator = iter(iterable)
    while batch := tuple(islice(iterator, size)):
        yield batch


def parse_inventory(lines: Iterable[str]) -> Iterator[InventoryRow | Rejected]:
    """Parse an inventory CSV, yielding a row or a rejection per non-blank line.

    The first non-blank row is a header when any of its cells names a column
    (`number`/`phone_number`, `type`/`number_type`, `area code`/`area_code`/
    `areacode`, `country`/`iso_country`, any case); otherwise columns are
    positional and area code and country may be left off. A byte order mark at
    the start is ignored. A header without number and type columns is rejected
    and ends the parse, since no row could be read by it.

    Rows are rejected for a number that is not E.164, a type other than local,
    tollfree or mobile, an area code that is not digits, a country that is not two
    letters or does not dial the number's country code, too many fields, and a
    number already accepted earlier in the file. An empty area code or country
    is derived from the number.
    """
    columns = {name: index for index, name in enumerate(_POSITIONAL_ORDER)}
    width = len(_POSITIONAL_ORDER)
    seen: set[int] = set()
    first = True
    for record in _records(lines):
        if isinstance(record, Rejected):
            yield record
            continue
        line, raw, cells = record
        if first:
            first = False
            header = _columns_from_header(cells)
            if header is not None:
                missing = [name for name in _REQUIRED_COLUMNS if name not in header]
                if missing:
                    yield Rejected(line, raw, _header_reason(cells, missing))
                    return
                columns, width = header, len(cells)
                continue
        yield _parse_row(cells, columns, width, line, raw, seen)


def _records(lines: Iterable[str]) -> Iterator[tuple[int, str, list[str]] | Rejected]:
    """Yield (line, raw text, trimmed cells) per non-blank row, or a Rejected."""
    tap = _LineTap(lines)
    reader = csv.reader(tap)
    while True:
        try:
            cells = next(reader, None)
        except csv.Error as error:
            # The reader stays usable after an error; only this row is lost.
            yield Rejected(*tap.take(), reason=f"unreadable CSV: {error}")
            continue
        if cells is None:
            return
        line, raw = tap.take()
        cells = [cell.strip() for cell in cells]
        if any(cells):
            yield line, raw, cells


class _LineTap:
    """Hands lines to csv.reader and remembers them, for line numbers and raw text."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = iter(lines)
        self._consumed = 0
        self._row_start = 1
        self._buffer: list[str] = []

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        if self._consumed == 0:
            line = line.removeprefix(_BOM)
        self._consumed += 1
        self._buffer.append(line)
        return line

    def take(self) -> tuple[int, str]:
        """The start line and text of the row just read; starts the next row."""
        start, raw = self._row_start, "".join(self._buffer).rstrip("\r\n")
        self._buffer.clear()
        self._row_start = self._consumed + 1
        return start, raw[:_RAW_MAX]


def _header_key(cell: str) -> str:
    return cell.lower().replace(" ", "_").replace("-", "_")


def _columns_from_header(cells: list[str]) -> dict[str, int] | None:
    names = [_HEADER_ALIASES.get(_header_key(cell)) for cell in cells]
    if not any(names):
        return None
    columns: dict[str, int] = {}
    for index, name in enumerate(names):
        # The first column of a given name wins; a repeat is ignored like an unknown one.
        if name is not None:
            columns.setdefault(name, index)
    return columns


def _header_reason(cells: list[str], missing: list[str]) -> str:
    return f"header {cells} has no {' or '.join(missing)} column; nothing was read"


def _parse_row(
    cells: list[str], columns: dict[str, int], width: int, line: int, raw: str, seen: set[int]
) -> InventoryRow | Rejected:
    if len(cells) > width:
        return Rejected(line, raw, f"{len(cells)} fields, expected at most {width}")
    try:
        row = _checked_row(_fields(cells, columns))
    except Invalid as error:
        return Rejected(line, raw, error.message)
    # E.164 digits never start with 0, so the int is a faithful key and takes far
    # less memory than the string over millions of rows.
    key = int(row.phone_number[1:])
    if key in seen:
        return Rejected(line, raw, "duplicate in file")
    seen.add(key)
    return row


def _fields(cells: list[str], columns: dict[str, int]) -> dict[str, str]:
    # Short rows are fine: positional files may leave off area code and country.
    return {name: cells[i] if i < len(cells) else "" for name, i in columns.items()}


def _checked_row(fields: dict[str, str]) -> InventoryRow:
    phone_number = parse_e164(fields["number"], param="number")
    return InventoryRow(
        phone_number=phone_number,
        number_type=parse_number_type(fields["type"], param="type"),
        area_code=_area_code(fields.get("area code", ""), phone_number),
        country=_country(fields.get("country", ""), phone_number),
    )


def _area_code(given: str, phone_number: str) -> str:
    if not given:
        return area_code_of(phone_number) or ""
    if not (given.isascii() and given.isdigit() and len(given) <= _AREA_CODE_MAX):
        raise Invalid.param_value("area code", f"must be at most {_AREA_CODE_MAX} digits")
    if not area_code_belongs(phone_number, given):
        derived = area_code_of(phone_number)
        expected = f"; its area code is {derived}" if derived else ""
        raise Invalid.param_value(
            "area code", f"{given} is not the area code of {phone_number}{expected}"
        )
    return given


def _country(given: str, phone_number: str) -> str:
    derived = country_of(phone_number)
    if not given:
        if derived is None:
            raise Invalid.param_value("country", f"cannot be derived from {phone_number}; give it")
        return derived
    country = given.upper()
    if not (len(country) == 2 and country.isascii() and country.isalpha()):
        raise Invalid.param_value("country", "must be an ISO 3166 alpha-2 code such as US")
    # Non-geographic numbers (+800, +882...) belong to no country: take the operator's word.
    if derived is not None and not uses_calling_code(phone_number, country):
        raise Invalid.param_value("country", f"{country} does not match {phone_number}")
    return country
