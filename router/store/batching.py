"""Batching of concurrent database work: group commit for writes, one query for many
lookups.

Each caller awaits its own result. While a batch is being processed, new items
queue up and go together in the next one, so under load many events cost one
round trip (and, for writes, one fsync), and an idle system adds no delay at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class Batcher(Generic[Item, Result]):
    """Runs `write(items) -> results` (same order) for items submitted concurrently."""

    def __init__(
        self,
        write: Callable[[Sequence[Item]], Awaitable[Sequence[Result]]],
        *,
        max_batch: int = 500,
    ) -> None:
        self._write = write
        self._max_batch = max_batch
        self._queue: list[tuple[Item, asyncio.Future[Result]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        # Asked once: in Python 3.11 each get_running_loop() is a getpid() system call.
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Result] = loop.create_future()
        self._queue.append((item, future))
        if self._flusher is None or self._flusher.done():
            # Held, so that the loop's weak reference is not the only one while it runs.
            self._flusher = loop.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
            await self._write_batch(batch)

    async def _write_batch(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        try:
            results = await self._write([item for item, _ in batch])
        except Exception as error:  # every waiter learns what went wrong
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)
