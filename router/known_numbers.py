"""Every stored phone number, held in memory, so the exact stage can answer "no number
has this spelling" without asking the database.

Conservative by construction: a write adds its numbers at once, a deletion leaves its
number until the next full load, so the set may hold a number that is gone (costing one
query) but never lacks one that exists. Until it is loaded, everything may exist.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import structlog

log = structlog.get_logger(__name__)


Fingerprint = Callable[[], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class InheritedNumbers:
    """The supervisor's read of every stored number, and the fingerprint of that read."""

    numbers: frozenset[str]
    fingerprint: str


class KnownNumbers:
    """A superset of the stored phone numbers, once loaded.

    Made with `inherited`, the set built by the supervisor before it forked the
    workers: its pages stay shared by every worker (nothing writes to them), and a
    load only tops it up with numbers it lacks instead of building a private copy.
    """

    def __init__(self, inherited: InheritedNumbers | None = None) -> None:
        # the last full read (or the inherited one)
        self._base = inherited.numbers if inherited else None
        self._inherited_fingerprint = inherited.fingerprint if inherited else None
        self._added: set[str] = set()  # noted writes and top-ups since that read
        self._noted: set[str] = set()  # noted during the load in progress
        self._shared = inherited is not None
        self._verified = False  # base and additions hold every stored number
        self._epoch = 0  # bumped when notifications may have been missed
        self.stale = asyncio.Event()
        self.stale.set()

    @property
    def loaded(self) -> bool:
        return self._verified

    @property
    def shared(self) -> bool:
        """Inherited from the supervisor: topped up, never rebuilt."""
        return self._shared

    def __len__(self) -> int:
        return len(self._base or ()) + len(self._added)

    def may_exist(self, spelling: str) -> bool:
        """False only when no stored number has this spelling."""
        if not self._verified:
            return True
        assert self._base is not None
        return spelling in self._base or spelling in self._added

    def note(self, phone_numbers: Iterable[str]) -> None:
        """A committed write touched these numbers: they may exist now."""
        changed = set(phone_numbers)
        self._noted |= changed
        self._added |= changed

    def forget(self) -> None:
        """Writes may have gone unannounced: trust nothing until the next load."""
        self._verified = False
        if not self._shared:
            self._base = None  # the next load builds a new one; do not hold two
        self._epoch += 1
        self.stale.set()

    async def load(
        self,
        fetch: Callable[[], Awaitable[Iterable[str]]],
        fingerprint: Fingerprint | None = None,
    ) -> bool:
        """Read every stored number; False when a `forget` during the read spoilt it.
        An inherited set whose `fingerprint` still matches the store's needs no read:
        nothing was written between the supervisor's read and this worker's LISTEN."""
        epoch = self._epoch
        self.stale.clear()
        self._noted = set()
        if await self._unchanged_since_inherited(fingerprint):
            if epoch != self._epoch:
                return False
            self._verified = True
            return True
        fetched = await fetch()
        # A million strings: hashed off the event loop.
        if self._shared and self._base is not None:
            base, extra = self._base, await asyncio.to_thread(_missing, self._base, fetched)
        else:
            base, extra = await asyncio.to_thread(frozenset, fetched), set()
        if epoch != self._epoch:
            return False
        if base is not self._base:
            self._added = set(self._noted)  # what was added before is in the new read
        self._base = base
        self._added |= extra
        self._verified = True
        return True

    async def _unchanged_since_inherited(self, fingerprint: Fingerprint | None) -> bool:
        if fingerprint is None or self._inherited_fingerprint is None:
            return False
        current = await fingerprint()
        # Once the store has moved on, this comparison can only fail: skip it from now.
        if current != self._inherited_fingerprint:
            self._inherited_fingerprint = None
            return False
        return True


def _missing(base: frozenset[str], fetched: Iterable[str]) -> set[str]:
    return {number for number in fetched if number not in base}


async def keep_loaded(
    known: KnownNumbers,
    fetch: Callable[[], Awaitable[Iterable[str]]],
    stop: asyncio.Event,
    *,
    fingerprint: Fingerprint | None = None,
    refresh_seconds: float = 600.0,
    retry_seconds: float = 5.0,
) -> None:
    """Load at once, again whenever `forget` asks, and every `refresh_seconds` (to drop
    deleted numbers) until `stop` is set. An inherited set is never refreshed on a
    timer: a top-up cannot drop deletions, and writes arrive as notes. Stopping waits
    for a load in progress rather than cancelling it: a query cancelled mid-COPY can
    leave its pooled connection unusable."""
    while not stop.is_set():
        delay: float | None = None if known.shared else refresh_seconds
        try:
            if await known.load(fetch, fingerprint):
                log.info("known_numbers_loaded", count=len(known))
                # What exists now lives long (the set, the stores, the matchers): keep
                # it out of the collector's full passes, which otherwise stall routing.
                gc.freeze()
        except Exception as error:  # the database may be down; the set stays unloaded
            log.warning("known_numbers_load_failed", error=str(error))
            known.stale.set()
            delay = retry_seconds
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay if known.loaded else retry_seconds):
                await _first_of(stop, known.stale)


async def _first_of(*events: asyncio.Event) -> None:
    """Return when any of the events is set."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
