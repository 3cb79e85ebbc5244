"""Group commit: concurrent writers share one write, each gets its own result."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from router.store.batching import Batcher


async def test_concurrent_items_share_a_write_and_get_their_own_results() -> None:
    """Items submitted while a write runs go together in the next write, in order."""
    writes: list[list[int]] = []

    async def write(items: Sequence[int]) -> list[int]:
        writes.append(list(items))
        await asyncio.sleep(0.01)
        return [item * 10 for item in items]

    committer: Batcher[int, int] = Batcher(write)
    results = await asyncio.gather(*(committer.submit(i) for i in range(50)))
    assert results == [i * 10 for i in range(50)]
    assert sorted(i for batch in writes for i in batch) == list(range(50))
    assert len(writes) < 50  # batched, not one write per item


async def test_a_lone_item_is_written_at_once() -> None:
    """An idle committer adds no delay: one item, one write."""
    calls: list[Sequence[str]] = []

    async def write(items: Sequence[str]) -> list[str]:
        calls.append(items)
        return [item.upper() for item in items]

    committer: Batcher[str, str] = Batcher(write)
    assert await committer.submit("a") == "A"
    assert await committer.submit("b") == "B"
    assert [list(c) for c in calls] == [["a"], ["b"]]


async def test_a_failed_write_fails_every_waiter_of_that_batch_only() -> None:
    """The error reaches each item of the failed batch; the next batch still works."""
    attempt = 0

    async def write(items: Sequence[int]) -> list[int]:
        nonlocal attempt
        attempt += 1
        if attempt == 1:
            raise RuntimeError("database down")
        return list(items)

    committer: Batcher[int, int] = Batcher(write)
    outcomes = await asyncio.gather(
        *(committer.submit(i) for i in range(3)), return_exceptions=True
    )
    assert all(isinstance(o, RuntimeError) for o in outcomes)
    assert await committer.submit(7) == 7


@pytest.mark.parametrize("max_batch", [1, 3])
async def test_batches_never_exceed_the_limit(max_batch: int) -> None:
    """No write receives more than max_batch items."""
    sizes: list[int] = []

    async def write(items: Sequence[int]) -> list[int]:
        sizes.append(len(items))
        await asyncio.sleep(0)
        return list(items)

    committer: Batcher[int, int] = Batcher(write, max_batch=max_batch)
    await asyncio.gather(*(committer.submit(i) for i in range(10)))
    assert max(sizes) <= max_batch
    assert sum(sizes) == 10
