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

import structlog

log = structlog.get_logger(__name__)


class KnownNumbers:
    """A superset of the stored phone numbers, once loaded."""

    def __init__(self) -> None:
        self._numbers: set[str] | None = None
        self._noted: set[str] = set()
        self._epoch = 0  # bumped when notifications may have been missed
        self.stale = asyncio.Event()
        self.stale.set()

    @property
    def loaded(self) -> bool:
        return self._numbers is not None

    def __len__(self) -> int:
        return len(self._numbers or ())

    def may_exist(self, spelling: str) -> bool:
        """False only when no stored number has this spelling."""
        return self._numbers is None or spelling in self._numbers

    def note(self, phone_numbers: Iterable[str]) -> None:
        """A committed write touched these numbers: they may exist now."""
        changed = set(phone_numbers)
        self._noted |= changed
        if self._numbers is not None:
            self._numbers |= changed

    def forget(self) -> None:
        """Writes may have gone unannounced: trust nothing until the next load."""
        self._numbers = None
        self._epoch += 1
        self.stale.set()

    async def load(self, fetch: Callable[[], Awaitable[Iterable[str]]]) -> bool:
        """Read every stored number; False when a `forget` during the read spoilt it."""
        epoch = self._epoch
        self.stale.clear()
        self._noted = set()
        fetched = await fetch()
        numbers = await asyncio.to_thread(set, fetched)  # a million strings: off the loop
        if epoch != self._epoch:
            return False
        self._numbers = numbers | self._noted
        return True


async def keep_loaded(
    known: KnownNumbers,
    fetch: Callable[[], Awaitable[Iterable[str]]],
    stop: asyncio.Event,
    *,
    refresh_seconds: float = 600.0,
    retry_seconds: float = 5.0,
) -> None:
    """Load at once, again whenever `forget` asks, and every `refresh_seconds` (to drop
    deleted numbers), until `stop` is set. Stopping waits for a load in progress rather
    than cancelling it: a query cancelled mid-COPY can leave its pooled connection
    unusable."""
    while not stop.is_set():
        delay = refresh_seconds
        try:
            if await known.load(fetch):
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
