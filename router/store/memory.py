"""Provisioned numbers held in memory, answering the reads resolution makes of the store.

`MemoryNumbers` is a `router.resolver.NumberSource`, as `NumberStore` is: the resolver's
unit tests run on it with no database. tests/store/test_number_source_conformance.py
runs the same cases against both, so what it answers is what PostgreSQL answers. It
holds numbers, not the rules that admit them: checks of provisioning (applications,
inventory, one SIP number per organization) stay with the PostgreSQL store.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from router import patterns
from router.domain import IncomingNumber

# What sql/pattern_numbers.sql selects before patterns.is_pattern decides: a pattern
# character, or a `+` after the first character. (A SIP number such as "+" or "+12a"
# passes is_pattern but not this; it can only match itself, which the exact stage finds.)
_PATTERN_CANDIDATE = re.compile(r"[][*#^|.$\\(){}?]|.\+")


class MemoryNumbers:
    """Numbers by sid; reads in the shape of NumberStore's."""

    def __init__(self, numbers: Iterable[IncomingNumber] = ()) -> None:
        self._by_sid: dict[str, IncomingNumber] = {}
        self._writes: Counter[str] = Counter()  # pattern writes per organization
        self.reads = 0  # store reads made, to show what a cache saved
        for number in numbers:
            self.add(number)

    def add(self, number: IncomingNumber) -> IncomingNumber:
        """Store `number` (replacing the one with its sid); a number without a creation
        time is stamped now, as the database stamps a new row."""
        if number.date_created == datetime.min:
            now = datetime.now(UTC)
            number = replace(number, date_created=now, date_updated=now)
        previous = self._by_sid.get(number.sid)
        self._by_sid[number.sid] = number
        self._note_write(previous, number)
        return number

    def remove(self, sid: str) -> IncomingNumber:
        """Delete the number with this sid; KeyError if there is none."""
        number = self._by_sid.pop(sid)
        self._note_write(number, None)
        return number

    async def numbers_by_spellings(self, spellings: Sequence[str]) -> list[IncomingNumber]:
        """Every number (any organization) stored under one of the spellings, by spelling."""
        self.reads += 1
        return [n for spelling in spellings for n in self._values() if n.phone_number == spelling]

    async def pattern_numbers(self, organization_sid: str) -> list[IncomingNumber]:
        """The organization's pattern numbers (SPEC 3.3 candidates)."""
        self.reads += 1
        return [n for n in self._values() if _pattern_of(n, organization_sid)]

    async def pattern_version(self, organization_sid: str) -> str:
        """A fingerprint of the organization's pattern numbers: it moves with every write
        of one of them."""
        self.reads += 1
        return str(self._writes[organization_sid])

    async def all_phone_numbers(self) -> list[str]:
        """Every stored phone number a dialed string can equal (none holds a backslash)."""
        self.reads += 1
        return [n.phone_number for n in self._values() if "\\" not in n.phone_number]

    def _values(self) -> list[IncomingNumber]:
        return list(self._by_sid.values())

    def _note_write(self, before: IncomingNumber | None, after: IncomingNumber | None) -> None:
        for number in (before, after):
            if number is not None and _pattern_of(number, number.organization_sid):
                self._writes[number.organization_sid] += 1


def _pattern_of(number: IncomingNumber, organization_sid: str) -> bool:
    return (
        number.organization_sid == organization_sid
        and number.pure_sip
        and _PATTERN_CANDIDATE.search(number.phone_number) is not None
        and patterns.is_pattern(number.phone_number)
    )
