"""The in-memory superset of stored numbers: never lacks one that exists."""

from __future__ import annotations

import asyncio

from router.known_numbers import InheritedNumbers, KnownNumbers, keep_loaded


async def test_everything_may_exist_until_loaded() -> None:
    """Before the first load the set answers 'maybe' for any spelling."""
    known = KnownNumbers()
    assert not known.loaded
    assert known.may_exist("+15105550000")


async def test_a_loaded_set_rules_out_numbers_it_does_not_hold() -> None:
    """After a load only stored numbers (and noted writes) may exist."""
    known = KnownNumbers()

    async def fetch() -> list[str]:
        return ["1234", "+15105550000"]

    assert await known.load(fetch)
    assert known.may_exist("1234")
    assert not known.may_exist("9999")
    known.note(["9999"])
    assert known.may_exist("9999")


async def test_writes_noted_during_a_load_are_kept() -> None:
    """A number written while the load's query runs is in the set afterwards."""
    known = KnownNumbers()
    started = asyncio.Event()
    release = asyncio.Event()

    async def fetch() -> list[str]:
        started.set()
        await release.wait()
        return ["1234"]

    loading = asyncio.create_task(known.load(fetch))
    await started.wait()
    known.note(["5678"])
    release.set()
    assert await loading
    assert known.may_exist("5678")
    assert known.may_exist("1234")


async def test_forget_during_a_load_spoils_it_and_keep_loaded_reloads() -> None:
    """Notifications possibly missed: the running load is discarded and redone."""
    known = KnownNumbers()
    loads = 0

    async def fetch() -> list[str]:
        nonlocal loads
        loads += 1
        if loads == 1:
            known.forget()  # the LISTEN connection dropped meanwhile
        return [f"n{loads}"]

    stop = asyncio.Event()
    task = asyncio.create_task(keep_loaded(known, fetch, stop, refresh_seconds=60))
    for _ in range(100):
        if known.loaded:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 5)  # stopping ends the loop without cancelling it
    assert loads == 2
    assert known.may_exist("n2")
    assert not known.may_exist("n1")


async def test_a_failed_load_leaves_the_set_unloaded_and_retries() -> None:
    """A database error keeps 'maybe' for everything, then loads on the next try."""
    known = KnownNumbers()
    attempts = 0

    async def fetch() -> list[str]:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise OSError("database down")
        return ["1234"]

    stop = asyncio.Event()
    task = asyncio.create_task(keep_loaded(known, fetch, stop, retry_seconds=0.01))
    for _ in range(100):
        if known.loaded:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert attempts == 2
    assert not known.may_exist("9999")


async def test_an_inherited_set_is_topped_up_not_copied() -> None:
    """A worker's set made from the supervisor's read answers 'maybe' until its own
    load, which adds what the read lacked and keeps the shared set itself."""
    shared = frozenset({"1234", "5678"})
    known = KnownNumbers(InheritedNumbers(shared, "2:old"))
    assert not known.loaded
    assert known.may_exist("9999")  # written after the supervisor's read, perhaps

    async def fetch() -> list[str]:
        return ["1234", "5678", "9999"]

    async def changed() -> str:
        return "3:new"

    assert await known.load(fetch, changed)
    assert known._base is shared
    assert known.may_exist("9999")
    assert not known.may_exist("0000")
    known.note(["0000"])
    assert known.may_exist("0000")
    known.forget()  # the LISTEN connection came back: everything may exist again
    assert known.may_exist("4321")
    assert await known.load(fetch)
    assert known._base is shared
    assert known.may_exist("0000")  # deletions are not dropped from a shared set
    assert len(known) == 4


async def test_an_inherited_set_with_an_unchanged_fingerprint_needs_no_read() -> None:
    """Nothing written since the supervisor's read: the worker trusts the set as is."""
    known = KnownNumbers(InheritedNumbers(frozenset({"1234"}), "1:abc"))
    reads = 0

    async def fetch() -> list[str]:
        nonlocal reads
        reads += 1
        return ["1234"]

    async def same() -> str:
        return "1:abc"

    assert await known.load(fetch, same)
    assert reads == 0
    assert known.loaded
    assert not known.may_exist("9999")
